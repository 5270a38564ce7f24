"""Fixtures for the reliability tests: a generated event stream, child processes to start,
release, kill and restart (each one stopped by its own pid at the end of its test), the S3 fault
proxy, and the bucket as the S3 server holds it, read past the proxy."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from datetime import date

import pytest

from tests.builders import REPO_ROOT, BucketView
from tests.reliability.s3_proxy import FaultProxy
from timecard.generate import generate_events

GENERATED_START = date(2026, 11, 1)


@pytest.fixture(scope="session")
def generated_events(tmp_path_factory) -> str:
    """300 agents over the UTC days 2026-11-01..03, about 55,000 raw events a day in Parquet:
    enough that condensing a day takes a moment."""
    root = tmp_path_factory.mktemp("generated") / "events"
    generate_events(str(root), agents=300, start=GENERATED_START, days=3, seed=7)
    return str(root)


class Child:
    """A `python -m MODULE ARGS` process whose output lines can be awaited as they come."""

    def __init__(self, module: str, *args: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_stderr(self) -> None:
        self.stderr.extend(self.process.stderr)

    def wait_for(self, prefix: str, timeout: float = 60) -> str:
        """The next output line starting with `prefix` (earlier lines are skipped)."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} line within {timeout}s") from None
            if line is None:
                self.process.wait()
                raise AssertionError(
                    f"the child ended (exit code {self.process.returncode}) before {prefix!r}: "
                    + "".join(self.stderr)
                )
            if line.startswith(prefix):
                return line

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        """Wait for the exit; return the exit code and everything written to stderr."""
        returncode = self.process.wait(timeout=timeout)
        self._stderr_reader.join(timeout=10)
        return returncode, "".join(self.stderr)


@pytest.fixture
def proxy(s3_server, s3_bucket, monkeypatch):
    """The fault proxy in front of the S3 server (`tests/reliability/s3_proxy.py`): timecard
    reaches the bucket only through it. A module's own `proxy` fixture adds what it needs."""
    faults = FaultProxy(int(s3_server.rsplit(":", 1)[1])).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", faults.url)
    # botocore's retry budget: two attempts show the retries without waiting for five.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    yield faults
    faults.stop()


@pytest.fixture
def bucket(s3_bucket, s3_server) -> BucketView:
    """The bucket seen directly on the S3 server, not through a fault proxy."""
    return BucketView(s3_server, s3_bucket)


@pytest.fixture
def children():
    """Start child processes with `children(module, *args)`; any left running are killed."""
    started: list[Child] = []

    def start(module: str, *args: str) -> Child:
        child = Child(module, *args)
        started.append(child)
        return child

    yield start
    for child in started:
        child.kill()
