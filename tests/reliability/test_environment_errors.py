"""A failing environment is the user's to fix, and timecard says how: exit 1, one paragraph naming
the URL or path and what to check. Exit 70 ("a bug in timecard") is kept for real bugs.

S3 faults come from the fault proxy (`tests/reliability/s3_proxy.py`) between timecard and moto's
S3 server: it answers chosen request kinds and keys with 500, 503 Slow Down, 403 or a reset,
every time or once. Local faults are real: a full tmpfs (when this process may mount one) and a
file size limit (RLIMIT_FSIZE) in a child process, a folder or `/proc` as `--out`, a dangling
symbolic link in a partition.
"""

from __future__ import annotations

import resource
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.builders import REPO_ROOT, event, write_ndjson
from tests.reliability.s3_proxy import Fault
from timecard.cli import main

WINDOW = ["--start", "2026-11-02T00:00:00", "--end", "2026-11-03T00:00:00", "--lookback-days", "1"]
RAW_KEY = "events/date=2026-11-02/part-0.json"
RECORDS = [
    event("LOGIN", "2026-11-02T08:00:00Z", "a1", username="ana"),
    event("LOGOUT", "2026-11-02T16:30:00Z", "a1", username="ana"),
]


def report(events: str, cache: str, out: str) -> list[str]:
    return ["report", *WINDOW, "--events", events, "--cache", cache, "--out", out]


def refusal(capsys) -> str:
    """The one-paragraph error the command printed (stderr's `timecard: error:` line)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "bug in timecard" not in err
    errors = [line for line in err.splitlines() if line.startswith("timecard: error: ")]
    assert len(errors) == 1, err
    return errors[0].removeprefix("timecard: error: ")


# -- S3 -------------------------------------------------------------------------------------------


@pytest.fixture
def proxy(proxy, bucket):
    """The fault proxy (reliability conftest), with the raw events of 2026-11-02 in the bucket
    under `events/`."""
    bucket.put_records(RAW_KEY, RECORDS)
    return proxy


def s3_report(s3_bucket: str, tmp_path: Path) -> list[str]:
    cache = f"{s3_bucket}/cache/{uuid.uuid4().hex}"  # a fresh cache: every raw file is read
    return report(f"{s3_bucket}/events", cache, str(tmp_path / "out.csv"))


@pytest.mark.parametrize(
    ("fault", "doing", "advice"),
    [
        (Fault("LIST", "500", "^events/", times=None), "list", "server error"),
        (Fault("LIST", "503", "^events/", times=None), "list", "throttling"),
        (Fault("LIST", "403", "^events/", times=None), "list", "s3:ListBucket"),
        (Fault("HEAD", "403", "^cache/", times=None), "read", "s3:GetObject"),
        (Fault("GET", "500", "^events/", times=None), "read", "server error"),
        (Fault("GET", "reset", "^events/", times=None), "read", "AWS_ENDPOINT_URL"),
        (Fault("PUT", "500", "^cache/", times=None), "write", "server error"),
    ],
    ids=[
        "list-500",
        "list-503-throttled",
        "list-403",
        "cache-get-403",
        "raw-get-500",
        "raw-get-reset",
        "cache-put-500",
    ],
)
def test_an_s3_fault_after_retries_is_one_paragraph_naming_the_url(
    proxy, s3_bucket, tmp_path, capsys, fault, doing, advice
):
    proxy.inject(fault)

    code = main(s3_report(s3_bucket, tmp_path))

    message = refusal(capsys)
    assert code == 1
    assert {i.kind for i in proxy.injected} == {fault.kind}
    # A server error, a throttle or a reset is retried before the refusal; a denial is not.
    assert len(proxy.injected) >= (1 if fault.action == "403" else 2)
    # The days are listed on several threads, so the refusal names whichever failed request
    # surfaced first: one of those the proxy failed, by its exact URL.
    urls = {f"{s3_bucket}/{hit.key}".rstrip("/") for hit in proxy.injected}
    named = [url for url in urls if message.startswith(f"Could not {doing} {url}")]
    assert named, (message, sorted(urls))
    assert advice in message
    assert "Move the file" not in message  # the store failed, not the file's content
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    "fault",
    [
        Fault("LIST", "503", "^events/date=2026-11-02"),
        Fault("GET", "500", "^events/"),
        Fault("GET", "reset", "^events/"),
        Fault("PUT", "503", "^cache/"),
        Fault("GET", "slow", "^events/"),
    ],
    ids=["list-503-once", "raw-get-500-once", "raw-get-reset-once", "put-503-once", "slow"],
)
def test_a_fault_the_retry_outlasts_gives_the_clean_report(
    proxy, s3_bucket, tmp_path, capsys, fault
):
    proxy.inject(fault)

    assert main(s3_report(s3_bucket, tmp_path)) == 0

    assert len(proxy.injected) == 1
    proxy.clear()
    assert main(report(f"{s3_bucket}/events", f"{s3_bucket}/clean", str(tmp_path / "c.csv"))) == 0
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "c.csv").read_bytes()
    assert "ana" in (tmp_path / "out.csv").read_text()


def test_an_unreachable_endpoint_names_it(s3_bucket, tmp_path, capsys, monkeypatch):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")

    code = main(s3_report(s3_bucket, tmp_path))

    message = refusal(capsys)
    assert code == 1
    assert message.startswith(f"Could not list {s3_bucket}/events/")
    assert f"the S3 endpoint {closed} could not be reached" in message
    assert "AWS_ENDPOINT_URL" in message


def test_missing_credentials_say_which_to_set(s3_bucket, tmp_path, capsys, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    code = main(s3_report(s3_bucket, tmp_path))

    message = refusal(capsys)
    assert code == 1
    assert message.startswith(f"Could not list {s3_bucket}/events/")
    assert "no S3 credentials were found" in message
    assert "AWS_ACCESS_KEY_ID" in message


# -- Local disk -----------------------------------------------------------------------------------


@pytest.fixture
def local_events(tmp_path) -> str:
    root = tmp_path / "events"
    write_ndjson(root, "2026-11-02", RECORDS)
    return str(root)


@pytest.mark.parametrize("out", ["a-folder", "/proc/timecard-report.csv"])
def test_an_unusable_out_is_named_with_what_to_do(local_events, tmp_path, capsys, out):
    if out == "a-folder":
        out = str(tmp_path / out)
        Path(out).mkdir()

    code = main(report(local_events, str(tmp_path / "cache"), out))

    message = refusal(capsys)
    assert code == 1
    assert message.startswith(f"Could not write {out}: ")
    assert ("is a folder" in message) if "folder" in out else ("Name a file" in message)
    assert not list(Path(out).parent.glob(".*.tmp"))  # no temporary file left behind


def test_a_dangling_symlink_in_a_partition_is_named(local_events, tmp_path, capsys):
    link = Path(local_events) / "date=2026-11-02" / "part-9.json"
    link.symlink_to(tmp_path / "gone.json")

    code = main(report(local_events, str(tmp_path / "cache"), str(tmp_path / "out.csv")))

    message = refusal(capsys)
    assert code == 1
    # Refused by name (from the listing, since the input handling of issue 18; the storage
    # layer names it too if it is ever opened): the link, and that its target is missing.
    assert str(link) in message
    assert "symbolic link" in message and "does not exist" in message


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs, filled up; skipped where this process may not mount one."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        with open(mount / "filler", "wb", buffering=0) as filler, pytest.raises(OSError):
            while True:  # fill it to the last block
                filler.write(b"\0" * 4096)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_is_named_with_what_to_do(local_events, tmp_path, tiny_disk, capsys):
    out = tiny_disk / "out.csv"

    code = main(report(local_events, str(tmp_path / "cache"), str(out)))

    message = refusal(capsys)
    assert code == 1
    assert message.startswith(f"Could not write {out}: No space left on device")
    assert "Free space" in message
    assert sorted(path.name for path in tiny_disk.iterdir()) == ["filler"]


def _limit_file_size() -> None:
    # Past the limit a write fails with EFBIG instead of killing the process with SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))


def test_a_file_size_limit_reached_while_caching_is_named(local_events, tmp_path):
    cache = tmp_path / "cache"
    done = subprocess.run(
        [sys.executable, "-m", "timecard.cli"]
        + report(local_events, str(cache), str(tmp_path / "out.csv")),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size,
    )

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "bug in timecard" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("timecard: error")]
    assert line.startswith(f"timecard: error: Could not write {cache}/")
    assert "File too large" in line and "Free space" in line
    assert not list(cache.rglob("*.tmp")) and not list(cache.rglob(".*"))
