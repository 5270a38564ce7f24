"""A lookback day's JSON files are read by the scan workers themselves, from a local disk or S3,
with the storage access their parent resolved: the parent never ships the bytes over a pipe."""

from __future__ import annotations

import gzip
import json
import os
import uuid
from datetime import date

import pytest

from tests.builders import S3_KEY, S3_SECRET, event, partition_dir, read_day, s3_client
from timecard import ingest, storage
from timecard.condensed import RawReads
from timecard.errors import UnreadableInputError
from timecard.readers import json_records, processes
from timecard.readers.json_records import JsonReader
from transforms.normalize import SOURCE_FILE_COLUMN

DAY = "2026-11-02"


def day_records(agent: str) -> list[dict]:
    return [
        event("LOGIN", f"{DAY}T08:00:00Z", agent, event_id=f"{agent}-in"),
        event("HEART_BEAT", f"{DAY}T08:05:00Z", agent, event_id=f"{agent}-beat"),
        event("STATE_CHANGE", f"{DAY}T08:06:00Z", agent, event_id=f"{agent}-state"),
        event("LOGOUT", f"{DAY}T17:00:00Z", agent, event_id=f"{agent}-out"),
    ]


def land_day(root: str) -> list[storage.FileInfo]:
    """Three files of one day: gzipped NDJSON serialized as Connect does (no spaces), as
    Firehose lands them with compression."""
    for agent in ("a", "b", "c"):
        lines = [json.dumps(record, separators=(",", ":")) for record in day_records(agent)]
        path = os.path.join(partition_dir(root, DAY), f"part-{agent}")
        with open(path, "wb") as handle:
            handle.write(gzip.compress("\n".join(lines).encode(), mtime=0))
    return ingest.partition_files(root, _day())


def copy_day(local: str, root: str) -> None:
    for file in land_day(local):
        with open(file.url, "rb") as handle:
            storage.write_bytes(f"{root}/{os.path.relpath(file.url, local)}", handle.read())


def _day() -> date:
    return date.fromisoformat(DAY)


def parent_cannot_read(monkeypatch) -> None:
    """The parent's own object reads fail: only a worker process (which this patch does not
    reach) can have read the objects."""

    def refuse(url, s3):
        raise AssertionError(f"the parent read {url}")

    monkeypatch.setattr(storage, "read_bytes_as", refuse)


def start_workers() -> None:
    """Spawn the workers now, with the environment as it is."""
    assert len(processes.map_in_processes(len, ["a", "bb", "ccc", "dddd"])) == 4


def test_workers_read_local_files_themselves(tmp_path, monkeypatch):
    files = land_day(str(tmp_path))
    urls = [f"file://{file.url}" for file in files]
    parent_cannot_read(monkeypatch)

    batch = JsonReader().read_batch(urls, session_candidates_only=True)

    core = batch.frame.collect()
    assert (batch.format, batch.shape) == ("json-gzip", "ndjson")
    assert core["EventId"].to_list() == ["a-in", "a-out", "b-in", "b-out", "c-in", "c-out"]
    assert core[SOURCE_FILE_COLUMN].unique(maintain_order=True).to_list() == urls


def test_workers_read_s3_objects_with_the_access_their_parent_resolved(
    tmp_path, s3_server, monkeypatch
):
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    start_workers()  # their environment names no endpoint and no credentials
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    root = upload_day(s3_server, tmp_path)
    files = ingest.partition_files(root, _day())
    parent_cannot_read(monkeypatch)

    batch = JsonReader().read_batch([file.url for file in files], session_candidates_only=True)

    assert batch is not None, "a worker could not read an object with its parent's access"
    assert batch.frame.collect()["EventId"].to_list() == [
        "a-in",
        "a-out",
        "b-in",
        "b-out",
        "c-in",
        "c-out",
    ]


def test_a_lookback_day_on_s3_reads_as_file_by_file(tmp_path, s3_bucket):
    root = f"{s3_bucket}/events"
    copy_day(str(tmp_path / "local"), root)
    files = ingest.partition_files(root, _day())

    batched = RawReads(files, _day(), ("sessions",)).checked(True)

    one_by_one = read_day(root, _day(), candidates_only=True)
    assert batched["event_id"].to_list() == one_by_one["event_id"].to_list()
    assert batched["event_id"].to_list() == ["a-in", "a-out", "b-in", "b-out", "c-in", "c-out"]


@pytest.mark.parametrize("where", ["local", "s3"])
def test_an_object_gone_after_the_listing_is_named(tmp_path, where, request):
    if where == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        root = f"{bucket}/events"
        copy_day(str(tmp_path / "local"), root)
    else:
        root = str(tmp_path / "events")
        land_day(root)
    files = ingest.partition_files(root, _day())
    gone = files[1].url
    storage.delete(gone)

    assert JsonReader().read_batch([file.url for file in files], True) is None
    with pytest.raises(UnreadableInputError, match=gone):
        RawReads(files, _day(), ("sessions",))


def test_a_worker_that_cannot_read_leaves_the_object_to_its_parent(tmp_path):
    assert json_records.scan_object(str(tmp_path / "missing"), 2**20) is None
    path = tmp_path / "present"
    path.write_bytes(gzip.compress(b'{"EventType":"LOGIN"}\n{"EventType":"HEART_BEAT"}\n'))
    assert json_records.scan_object(str(path), 2**20) == (
        "json-gzip",
        "ndjson",
        2,
        [1],
        b'{"EventType":"LOGIN"}',
    )


def upload_day(endpoint: str, tmp_path) -> str:
    client = s3_client(endpoint)
    bucket = f"workers-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    local = tmp_path / "local"
    for file in land_day(str(local)):
        with open(file.url, "rb") as handle:
            body = handle.read()
        client.put_object(
            Bucket=bucket, Key=f"events/{os.path.relpath(file.url, local)}", Body=body
        )
    return f"s3://{bucket}/events"


@pytest.fixture(autouse=True)
def fresh_pool(monkeypatch):
    monkeypatch.setattr(processes, "_broken", 0)
    processes._forget_pool()
    yield
    processes._forget_pool()
