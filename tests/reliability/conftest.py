"""Fixtures for the reliability tests: a generated event stream, and child processes to start,
release, kill and restart (each one stopped by its own pid at the end of its test)."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest

from timecard.generate import generate_events

REPO_ROOT = Path(__file__).resolve().parents[2]
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
