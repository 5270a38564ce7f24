"""Parquet as Firehose record-format conversion writes it, in every shape: one result."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.builders import event, lowercase_keys, partition_dir, read_day, write_parquet
from timecard import ingest
from timecard.condensed import RawReads
from timecard.errors import UnreadableInputError
from timecard.readers import read_records
from timecard.readers.parquet import ParquetReader

DAY = date(2026, 11, 2)
COLUMNS = ["event_id", "event_type", "event_ts", "agent_arn", "username", "first_name"]
COLUMNS += ["routing_profile", "hierarchy_1", "hierarchy_2", "reason"]


def records() -> list[dict]:
    sample = [
        event("LOGIN", "2026-11-02T08:00:00.125Z", "a", username="민준", event_id="e1"),
        event("HEART_BEAT", "2026-11-02T08:02:00Z", "a", event_id="e2"),
        event("LOGOUT", "2026-11-02T09:30:00Z", "b", hierarchy=("EMEA", "Paris"), event_id="e3"),
        event("LOGIN", "2026-11-02T10:00:00Z", "c", hierarchy=None, event_id="e4"),
    ]
    for record in sample:  # after a routing-profile change the previous snapshot differs
        record["PreviousAgentSnapshot"] = {"Configuration": {"RoutingProfile": {"Name": "Old"}}}
    return sample


def write_arrow(root, table: pa.Table, **options) -> str:
    path = os.path.join(partition_dir(str(root), DAY.isoformat()), "part-0.parquet")
    # As Firehose (parquet-mr) and pyarrow write: dictionary-encoded strings, snappy.
    pq.write_table(table, path, compression="snappy", use_dictionary=True, **options)
    return path


def glue_string_table(keys_lowercase: bool, unit: str, tz: str | None) -> pa.Table:
    """Record-format conversion with a Glue table typing the snapshots `string`."""
    rows = records()
    shaped = (lambda r: lowercase_keys(r)) if keys_lowercase else (lambda r: r)
    stamps = [datetime.fromisoformat(r["EventTimestamp"]).astimezone(UTC) for r in rows]
    return pa.table(
        {
            "awsaccountid": [r["AWSAccountId"] for r in rows],
            "agentarn": [r["AgentARN"] for r in rows],
            "currentagentsnapshot": [json.dumps(shaped(r["CurrentAgentSnapshot"])) for r in rows],
            "eventid": [r["EventId"] for r in rows],
            "eventtimestamp": pa.array(
                [s if tz else s.replace(tzinfo=None) for s in stamps], pa.timestamp(unit, tz)
            ),
            "eventtype": [r["EventType"] for r in rows],
            "instancearn": [r["InstanceARN"] for r in rows],
            "previousagentsnapshot": [json.dumps(shaped(r["PreviousAgentSnapshot"])) for r in rows],
            "version": [r["Version"] for r in rows],
        }
    )


@pytest.fixture
def expected(tmp_path) -> pl.DataFrame:
    write_parquet(tmp_path / "reference", DAY.isoformat(), records())
    return read_day(tmp_path / "reference", DAY).select(COLUMNS)


def test_the_reference_reads_the_current_snapshot(expected):
    assert expected["username"].to_list() == ["민준", None, "b", "c"]
    assert expected["routing_profile"].to_list() == ["Sales Inbound", None] + ["Sales Inbound"] * 2
    assert expected["hierarchy_1"].to_list() == ["Americas", None, "EMEA", None]


@pytest.mark.parametrize("keys_lowercase", [True, False], ids=["lower-case", "CamelCase"])
@pytest.mark.parametrize(("unit", "tz"), [("ms", "UTC"), ("us", None), ("ns", "UTC"), ("ms", None)])
def test_json_text_snapshots_with_a_timestamp_column(tmp_path, expected, keys_lowercase, unit, tz):
    write_arrow(tmp_path, glue_string_table(keys_lowercase, unit, tz), row_group_size=3)

    frame = read_day(tmp_path, DAY).select(COLUMNS)

    assert frame.equals(expected)
    [file] = ingest.partition_files(str(tmp_path), DAY)
    assert (read_records(file).format, read_records(file).shape) == ("parquet", "json-text")


def test_glue_struct_schema_with_hierarchy_groups_as_json_text(tmp_path, expected):
    rows = [lowercase_keys(r) for r in records()]
    for row in rows:
        configuration = row["currentagentsnapshot"]["configuration"]
        configuration["agenthierarchygroups"] = json.dumps(configuration["agenthierarchygroups"])
        del row["previousagentsnapshot"]  # LOGIN/LOGOUT records may carry none
    write_arrow(tmp_path, pa.Table.from_pylist(rows), row_group_size=1)

    frame = read_day(tmp_path, DAY).select(COLUMNS)

    assert frame.equals(expected)


def test_nested_structs_written_by_pyarrow_dictionary_encoded(tmp_path, expected):
    path = write_arrow(tmp_path, pa.Table.from_pylist(records()), row_group_size=2)
    encodings = pq.ParquetFile(path).metadata.row_group(0).column(0).encodings
    assert "RLE_DICTIONARY" in encodings or "PLAIN_DICTIONARY" in encodings

    assert read_day(tmp_path, DAY).select(COLUMNS).equals(expected)


# -- a day's files in one batch ----------------------------------------------------------------


def write_named(root, table: pa.Table, name: str) -> str:
    path = os.path.join(partition_dir(str(root), DAY.isoformat()), name)
    pq.write_table(table, path, compression="snappy", use_dictionary=True)
    return path


def read_batched(root, parts=("sessions", "activity", "attributes")) -> pl.DataFrame:
    reads = RawReads(ingest.partition_files(str(root), DAY), DAY, parts)
    checked = reads.checked(False).with_columns(pl.col("source_file", "agent_arn").cast(pl.String))
    return checked.join(reads.attributes(), on=["source_file", "source_row"], how="left").sort(
        "source_file", "source_row"
    )


def test_a_day_of_files_is_read_in_one_batch_with_rows_numbered_per_file(tmp_path, expected):
    for name in ("a", "b", "c"):
        write_named(tmp_path, pa.Table.from_pylist(records()), name)
    urls = [file.url for file in ingest.partition_files(str(tmp_path), DAY)]

    batch = ParquetReader().read_batch(urls, session_candidates_only=False)
    frame = read_batched(tmp_path)

    assert (batch.format, batch.shape) == ("parquet", "nested")
    assert frame["source_row"].to_list() == [1, 2, 3, 4] * 3
    assert frame["source_file"].to_list() == [url for url in urls for _ in range(4)]
    for url in urls:  # each file as if it were read alone
        one = frame.filter(pl.col("source_file") == url).select(COLUMNS)
        assert one.equals(expected)


@pytest.mark.parametrize("keys_lowercase", [True, False], ids=["lower-case", "CamelCase"])
def test_a_day_of_json_text_snapshots_in_one_batch(tmp_path, expected, keys_lowercase):
    for name in ("a", "b"):
        write_named(tmp_path, glue_string_table(keys_lowercase, unit="ms", tz="UTC"), name)
    urls = [file.url for file in ingest.partition_files(str(tmp_path), DAY)]

    batch = ParquetReader().read_batch(urls, session_candidates_only=False)
    frame = read_batched(tmp_path)

    assert (batch.format, batch.shape) == ("parquet", "json-text")
    assert frame["source_row"].to_list() == [1, 2, 3, 4] * 2
    for url in urls:
        assert frame.filter(pl.col("source_file") == url).select(COLUMNS).equals(expected)


def test_files_whose_columns_differ_are_read_one_by_one(tmp_path, expected):
    write_named(tmp_path, pa.Table.from_pylist(records()), "a")
    write_named(tmp_path, glue_string_table(keys_lowercase=True, unit="ms", tz="UTC"), "b")

    frame = read_batched(tmp_path)

    for url in frame["source_file"].unique(maintain_order=True):
        assert frame.filter(pl.col("source_file") == url).select(COLUMNS).equals(expected)


def test_a_damaged_file_in_a_batch_is_named(tmp_path):
    write_named(tmp_path, pa.Table.from_pylist(records()), "a")
    damaged = write_named(tmp_path, pa.Table.from_pylist(records()), "b")
    with open(damaged, "r+b") as handle:  # a page of the file overwritten, its footer intact
        handle.seek(4)
        handle.write(b"\x00" * 200)

    with pytest.raises(UnreadableInputError, match=damaged):
        read_batched(tmp_path)


# -- a snapshot that is not the documented object ---------------------------------------------


def _snapshot_table(snapshots: pa.Array) -> pa.Table:
    """A LOGIN, a HEART_BEAT and a LOGOUT whose CurrentAgentSnapshot column is `snapshots`."""
    rows = [
        event("LOGIN", "2026-11-02T08:00:00Z", "a", event_id="e1"),
        event("HEART_BEAT", "2026-11-02T08:02:00Z", "a", event_id="e2"),
        event("LOGOUT", "2026-11-02T09:00:00Z", "a", event_id="e3"),
    ]
    return pa.table(
        {
            "AgentARN": [r["AgentARN"] for r in rows],
            "EventId": [r["EventId"] for r in rows],
            "EventTimestamp": [r["EventTimestamp"] for r in rows],
            "EventType": [r["EventType"] for r in rows],
            "InstanceARN": [r["InstanceARN"] for r in rows],
            "CurrentAgentSnapshot": snapshots,
        }
    )


_NAMES = [[("Username", "ana")]] * 3
UNREADABLE_SNAPSHOTS = {
    "map": (pa.array(_NAMES, pa.map_(pa.string(), pa.string())), "a map"),
    "list": (pa.array([["ana"]] * 3, pa.list_(pa.string())), "a list"),
    "text that is not JSON": (pa.array(["Username=ana"] * 3), "text that is not JSON"),
    "JSON text of a list": (pa.array(['["ana"]'] * 3), "JSON text of a list"),
    "a number": (pa.array([7] * 3, pa.int64()), "stored as Int64"),
}


@pytest.mark.parametrize("batched", [False, True], ids=["one file", "a batch"])
@pytest.mark.parametrize("variant", list(UNREADABLE_SNAPSHOTS))
def test_a_snapshot_that_is_not_an_object_is_quarantined_with_the_reason(
    tmp_path, variant, batched
):
    snapshots, what = UNREADABLE_SNAPSHOTS[variant]
    write_arrow(tmp_path, _snapshot_table(snapshots))
    if batched:  # a second file: the day is read in one scan where it can be
        pq.write_table(
            _snapshot_table(snapshots),
            os.path.join(partition_dir(str(tmp_path), DAY.isoformat()), "part-1.parquet"),
        )
    files = ingest.partition_files(str(tmp_path), DAY)

    for candidates_only in (False, True):
        parts = ("sessions",) if candidates_only else ("activity", "attributes")
        checked = RawReads(files, DAY, parts).checked(candidates_only)
        quarantined = checked.filter(pl.col("reason").is_not_null()).sort("source_file")
        assert quarantined["event_id"].to_list() == ["e1", "e3"] * len(files)
        assert set(quarantined["reason"]) == {
            f"CurrentAgentSnapshot is {what}, not an object, so this LOGIN/LOGOUT's names, "
            "routing profile and hierarchy cannot be read"
        }
        # The heartbeat's snapshot feeds nothing: it stays usable (a lookback read skips it).
        usable = checked.filter(pl.col("reason").is_null())["event_id"].to_list()
        assert usable == ([] if candidates_only else ["e2"] * len(files))


def test_snapshots_as_objects_or_json_text_of_one_are_not_quarantined(tmp_path):
    snapshot = {"Configuration": {"Username": "ana"}}
    for name, snapshots in {
        "struct": pa.array([snapshot] * 3),
        "text": pa.array([json.dumps(snapshot), "null", None]),
    }.items():
        root = tmp_path / name
        write_arrow(root, _snapshot_table(snapshots))
        checked = read_day(root, DAY)
        assert checked["reason"].to_list() == [None] * 3, name
        assert checked["username"].to_list()[0] == "ana"
