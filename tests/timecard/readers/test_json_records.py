"""JSON records in every shape Firehose and real pipelines write: one reading, one result."""

from __future__ import annotations

import gzip
import json
import os
from datetime import date

import polars as pl
import pytest

from tests.builders import event, partition_dir
from timecard import ingest, storage
from timecard.errors import UnreadableInputError
from timecard.readers import read_records

DAY = date(2026, 11, 2)


def compact(record: dict) -> bytes:
    """A record as Connect and Firehose serialize it: no spaces."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def pretty(record: dict) -> bytes:
    return json.dumps(record, indent=2, ensure_ascii=False).encode()


def shaped(records: list[dict], shape: str) -> bytes:
    if shape == "ndjson":
        return b"\n".join(compact(r) for r in records) + b"\n"
    if shape == "concatenated":
        return b"".join(compact(r) for r in records)
    if shape == "multi-line":
        return b"\n".join(pretty(r) for r in records) + b"\n"
    if shape == "mixed":  # a concatenated pair, then a pretty record, then a line
        first, second, *rest = records
        return (
            compact(first)
            + compact(second)
            + b"\n"
            + b"\n".join(pretty(r) if n % 2 else compact(r) for n, r in enumerate(rest))
        )
    raise ValueError(shape)


def lowercase_keys(value):
    """A record as a Glue/OpenX round trip leaves it: every name lower-cased."""
    if isinstance(value, dict):
        return {key.lower(): lowercase_keys(child) for key, child in value.items()}
    if isinstance(value, list):
        return [lowercase_keys(child) for child in value]
    return value


def records() -> list[dict]:
    sample = [
        event("LOGIN", "2026-11-02T08:00:00.125Z", "a", username="민준", event_id="e1"),
        event("HEART_BEAT", "2026-11-02T08:02:00Z", "a", event_id="e2"),
        event("STATE_CHANGE", "2026-11-02T08:03:00Z", "a", event_id="e3"),
        event(
            "LOGOUT", "2026-11-02T17:00:00+09:00", "b", hierarchy=("EMEA", "Paris"), event_id="e4"
        ),
        event("HEART_BEAT", "2026-11-02T08:04:00Z", "b", event_id="e5"),
    ]
    # Real snapshots carry much more, and a previous snapshot that differs.
    for record in sample:
        record["CurrentAgentSnapshot"]["Contacts"] = [
            {"State": "ERROR", "ConnectedToAgentTimestamp": None, "Queue": {"Name": None}}
        ]
        record["PreviousAgentSnapshot"] = {"Configuration": {"Username": "previous"}}
    return sample


def write(root, data: bytes, name: str) -> str:
    path = os.path.join(partition_dir(str(root), DAY.isoformat()), name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def read_day(root, candidates_only: bool = False) -> pl.DataFrame:
    files = ingest.partition_files(str(root), DAY)
    reads = [ingest.read_file(file, DAY, candidates_only) for file in files]
    checked = pl.concat([read.checked for read in reads]).collect()
    attributes = pl.concat([read.session_attributes for read in reads]).collect()
    return checked.join(attributes, on=["source_file", "source_row"], how="left").sort(
        "source_file", "source_row"
    )


COLUMNS = ["event_id", "event_type", "event_ts", "agent_arn", "username", "hierarchy_1", "reason"]
SHAPES = ("ndjson", "concatenated", "multi-line", "mixed")


@pytest.fixture
def expected(tmp_path) -> pl.DataFrame:
    write(tmp_path / "reference", shaped(records(), "ndjson"), "part.json")
    return read_day(tmp_path / "reference").select(COLUMNS)


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("shape", SHAPES)
def test_every_json_shape_reads_the_same_records(tmp_path, expected, shape, compressed):
    data = shaped(records(), shape)
    # Firehose object names have no extension; gzip is recognised by its content.
    name = "stream-1-2026-11-02-08-00-00-5b1e"
    write(tmp_path, gzip.compress(data, mtime=0) if compressed else data, name)

    frame = read_day(tmp_path).select(COLUMNS)

    assert frame.equals(expected)
    assert frame["reason"].null_count() == frame.height == 5
    # Attributes come from the current snapshot, never the previous one.
    assert frame["username"].to_list() == ["민준", None, None, "b", None]
    [file] = ingest.partition_files(str(tmp_path), DAY)
    understood = read_records(file)
    assert understood.format == ("json-gzip" if compressed else "json")
    assert understood.shape == {"mixed": "multi-line"}.get(shape, shape)


@pytest.mark.parametrize("shape", ["ndjson", "concatenated"])
def test_a_lookback_read_parses_only_the_login_and_logout_records(tmp_path, shape):
    write(tmp_path, shaped(records(), shape), "part.json")

    candidates = read_day(tmp_path, candidates_only=True)

    assert candidates["event_type"].to_list() == ["LOGIN", "LOGOUT"]
    assert candidates["source_row"].to_list() == [1, 4]  # numbered as in the whole file
    assert candidates["username"].to_list() == ["민준", "b"]


def test_records_with_other_name_spellings_are_still_read(tmp_path):
    lower = lowercase_keys(records()[0])
    odd = records()[3]
    odd["eventId"] = odd.pop("EventId")  # neither Connect's nor Glue's spelling
    write(tmp_path, compact(lower) + b"\n" + compact(odd) + b"\n", "part.json")

    frame = read_day(tmp_path)

    assert frame["reason"].to_list() == [None, None]
    assert frame["event_id"].to_list() == [lower["eventid"], odd["eventId"]]
    assert frame["username"].to_list() == ["민준", "b"]


def test_snapshots_as_json_text_inside_json_records(tmp_path):
    record = records()[0]
    record["CurrentAgentSnapshot"] = json.dumps(record["CurrentAgentSnapshot"])
    groups = records()[3]
    groups["CurrentAgentSnapshot"]["Configuration"]["AgentHierarchyGroups"] = json.dumps(
        groups["CurrentAgentSnapshot"]["Configuration"]["AgentHierarchyGroups"]
    )
    quirk = event("LOGIN", "2026-11-02T09:00:00Z", "c")
    quirk["CurrentAgentSnapshot"]["Configuration"]["AgentHierarchyGroups"] = "null"  # fixtures do
    write(tmp_path, b"".join(compact(r) for r in (record, groups, quirk)), "part.json")

    frame = read_day(tmp_path)

    assert frame["reason"].to_list() == [None, None, None]
    assert frame["username"].to_list() == ["민준", "b", "c"]
    assert frame["hierarchy_1"].to_list() == ["Americas", "EMEA", None]


def test_a_bad_record_in_concatenated_json_is_quarantined_with_its_position(tmp_path):
    good = [compact(r) for r in records()[:2]]
    data = good[0] + b'{"EventId":"cut' + b"\n" + good[1]
    path = write(tmp_path, data, "part.json")

    frame = read_day(tmp_path)

    assert frame["reason"].is_null().to_list() == [True, False, True]
    assert frame["source_row"].to_list() == [1, 2, 3]
    offset = len(good[0])
    assert frame["reason"][1].startswith(f"record 2 at byte offset {offset} (line 1) is not")
    assert frame["source_file"].to_list() == [path] * 3


def test_a_file_without_one_parseable_record_is_unreadable(tmp_path):
    path = write(tmp_path, b"<html>Service Unavailable</html>\n", "part.json")

    with pytest.raises(UnreadableInputError) as raised:
        pl.collect_all(ingest.read_file(storage.FileInfo(path, 1, "v"), DAY)[:2])

    message = str(raised.value)
    assert path in message and "holds no JSON record that can be parsed" in message
    assert "record 1 at byte offset 0 (line 1)" in message and "\n" not in message
