"""Real Amazon Connect agent events (../shared/realdata), landed the ways real pipelines land them.

The files are AWS documentation examples and events captured from a real instance (see
PROVENANCE.md there). They are read where they lie and never copied into the repository; each test
lands them into a temporary events root in one shape or another.
"""

from __future__ import annotations

import copy
import gzip
import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.columns import REPORT_HEADER
from tests.builders import lowercase_keys
from timecard import ingest
from timecard.cli import main
from timecard.condensed import PARTS, RawReads
from timecard.settings import REPO_ROOT

REALDATA = REPO_ROOT.parent / "shared" / "realdata"
pytestmark = pytest.mark.skipif(
    not REALDATA.is_dir(), reason=f"the real event files are not at {REALDATA}"
)


def real_records() -> list[dict]:
    """Every real agent event: the seven documentation examples and two captured events."""
    records = [json.loads(line) for line in (REALDATA / "aws-doc-examples.ndjson").open()]
    for name in (
        "ramnab__ramn-test__agent-event-1.json",
        "ramnab__ramn-test__krecord.decoded.json",
    ):
        records.append(json.loads((REALDATA / name).read_text()))
    return records


def day_of(record: dict) -> str:
    return record["EventTimestamp"][:10]


def compact(record: dict) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def land(root: Path, records: list[dict], shape: str) -> None:
    """Write records into `date=` partitions of their own day, in one landing shape."""
    by_day: dict[str, list[dict]] = {}
    for record in records:
        by_day.setdefault(day_of(record), []).append(record)
    for day, day_records in by_day.items():
        folder = root / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        name = "stream-1-2019-01-01-00-00-00-0f3c"  # Firehose object names have no extension
        if shape == "concatenated":
            (folder / name).write_bytes(b"".join(compact(r) for r in day_records))
        elif shape == "concatenated-gzip":
            (folder / name).write_bytes(gzip.compress(b"".join(compact(r) for r in day_records)))
        elif shape == "ndjson":
            (folder / name).write_bytes(b"\n".join(compact(r) for r in day_records) + b"\n")
        elif shape == "pretty":
            text = "\n".join(json.dumps(r, indent=4) for r in day_records)
            (folder / name).write_text(text)
        elif shape == "parquet-json-text":  # Firehose conversion with a Glue `string` schema
            rows = [lowercase_keys(r) for r in day_records]
            table = pa.table(
                {
                    "agentarn": [r["agentarn"] for r in rows],
                    "currentagentsnapshot": [json.dumps(r["currentagentsnapshot"]) for r in rows],
                    "eventid": [r["eventid"] for r in rows],
                    "eventtimestamp": pa.array(
                        [datetime.fromisoformat(r["eventtimestamp"]) for r in rows],
                        pa.timestamp("ms", "UTC"),
                    ),
                    "eventtype": [r["eventtype"] for r in rows],
                    "instancearn": [r["instancearn"] for r in rows],
                    "previousagentsnapshot": [
                        json.dumps(r.get("previousagentsnapshot")) for r in rows
                    ],
                }
            )
            pq.write_table(table, folder / "part-0.parquet", compression="snappy")
        else:
            raise ValueError(shape)


def read(root: Path, records: list[dict]) -> pl.DataFrame:
    """Every record of the landing, checked, with the attributes of its LOGIN/LOGOUT records."""
    frames = []
    for day in sorted({day_of(r) for r in records}):
        partition = datetime.fromisoformat(day).date()
        for file in ingest.partition_files(str(root), partition):
            raw = ingest.read_file(file, partition)
            checked, attributes = raw.checked.collect(), raw.session_attributes.collect()
            frames.append(checked.join(attributes, on=["source_file", "source_row"], how="left"))
    return pl.concat(frames).sort("event_ts", "event_id")


SHAPES = ("ndjson", "concatenated", "concatenated-gzip", "pretty", "parquet-json-text")


@pytest.mark.parametrize("shape", SHAPES)
def test_every_real_record_is_read_without_quarantine(tmp_path, shape):
    records = real_records()
    land(tmp_path, records, shape)

    frame = read(tmp_path, records)

    assert frame["reason"].to_list() == [None] * len(records)
    assert sorted(frame["event_id"].to_list()) == sorted(r["EventId"] for r in records)
    assert set(frame["event_type"]) == {"STATE_CHANGE", "HEART_BEAT"}


def as_session_event(record: dict, event_type: str) -> dict:
    """A real record as a LOGIN or LOGOUT: Connect publishes no example of those, so the real
    snapshot is kept and only the type changes. The previous snapshot then differs (a routing
    profile change), is missing, or is null."""
    session_event = copy.deepcopy(record)
    session_event["EventType"] = event_type
    previous = session_event.get("PreviousAgentSnapshot")
    if isinstance(previous, dict) and previous.get("Configuration"):
        previous["Configuration"]["Username"] = "someone-else"
        previous["Configuration"]["RoutingProfile"] = {"Name": "Previous profile"}
    return session_event


def expected_attributes(record: dict) -> dict:
    configuration = record["CurrentAgentSnapshot"]["Configuration"]
    groups = configuration.get("AgentHierarchyGroups")
    groups = groups if isinstance(groups, dict) else {}  # null, or the string "null"
    return {
        "username": configuration.get("Username"),
        "first_name": configuration.get("FirstName"),
        "last_name": configuration.get("LastName"),
        "routing_profile": (configuration.get("RoutingProfile") or {}).get("Name"),
        **{
            f"hierarchy_{level}": (groups.get(f"Level{level}") or {}).get("Name")
            for level in range(1, 6)
        },
    }


@pytest.mark.parametrize("shape", SHAPES)
def test_attributes_of_real_records_come_from_the_current_snapshot(tmp_path, shape):
    records = []
    for number, record in enumerate(real_records()):
        session_event = as_session_event(record, ("LOGIN", "LOGOUT")[number % 2])
        session_event["EventId"] = f"{record['EventId']}-{number}"  # doc examples reuse ids
        if number % 3 == 1:
            session_event.pop("PreviousAgentSnapshot", None)
        elif number % 3 == 2:
            session_event["PreviousAgentSnapshot"] = None
        records.append(session_event)
    land(tmp_path, records, shape)

    frame = read(tmp_path, records)

    assert frame["reason"].to_list() == [None] * len(records)
    by_id = {row["event_id"]: row for row in frame.iter_rows(named=True)}
    for record in records:
        row = by_id[record["EventId"]]
        assert {key: row[key] for key in expected_attributes(record)} == expected_attributes(
            record
        ), record["EventId"]
    assert "someone-else" not in frame["username"].to_list()


BATCHED_SHAPES = ("ndjson", "concatenated", "concatenated-gzip", "parquet-json-text")


@pytest.mark.parametrize("shape", BATCHED_SHAPES)
@pytest.mark.parametrize("candidates_only", [False, True], ids=["full day", "lookback day"])
def test_real_records_read_as_a_batch_equal_reading_file_by_file(tmp_path, shape, candidates_only):
    records = []
    for number, record in enumerate(real_records()):
        event_type = ("LOGIN", "LOGOUT", record["EventType"])[number % 3]
        session_event = as_session_event(record, event_type)
        session_event["EventId"] = f"{record['EventId']}-{number}"
        records.append(session_event)
    land(tmp_path, records, shape)
    for folder in tmp_path.iterdir():  # a day of Firehose objects: more than one file
        for file in list(folder.iterdir()):
            (folder / f"{file.name}-copy").write_bytes(file.read_bytes())

    for day in sorted({day_of(r) for r in records}):
        partition = datetime.fromisoformat(day).date()
        files = ingest.partition_files(str(tmp_path), partition)
        reads = RawReads(files, partition, ("sessions",) if candidates_only else PARTS)
        batched = reads.checked(candidates_only).with_columns(
            pl.col("source_file", "agent_arn").cast(pl.String)
        )
        one_by_one = [ingest.read_file(f, partition, candidates_only) for f in files]
        expected = pl.concat([read.checked.collect() for read in one_by_one])
        key = ["source_file", "source_row"]
        assert batched.sort(key).equals(expected.select(batched.columns).sort(key)), day
        assert batched["reason"].null_count() == batched.height
        if not candidates_only:
            attributes = pl.concat([read.session_attributes.collect() for read in one_by_one])
            assert reads.attributes().sort(key).equals(attributes.sort(key)), day


def test_a_day_of_real_activity_only_gives_a_header_only_report(tmp_path, capsys):
    captured = json.loads((REALDATA / "ramnab__ramn-test__agent-event-1.json").read_text())
    land(tmp_path / "events", [captured], "concatenated-gzip")
    out = tmp_path / "report.csv"

    exit_code = main(
        ["report", "--events", str(tmp_path / "events"), "--tz", "Europe/London"]
        + ["--start", "2019-06-24T00:00:00", "--end", "2019-06-25T00:00:00"]
        + ["--out", str(out), "--cache", str(tmp_path / "cache")]
    )

    assert exit_code == 0
    assert out.read_text() == ",".join(REPORT_HEADER) + "\n"
    stderr = capsys.readouterr().err
    assert "events read 1, duplicates 0, quarantined 0" in stderr
    assert "records by format json-gzip 1" in stderr
