"""timecard.generate.writers: file names, and files that roll over before a reader's size cap."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, date, datetime

import pytest

from timecard import storage
from timecard.generate import generate_events
from timecard.generate.writers import GenerateSummary, Output
from timecard.landing import parse_layout

MONDAY = date(2026, 11, 2)
MONDAY_MS = 1_793_577_600_000


def test_file_names_number_the_span_and_the_files_it_rolled_over_to():
    output = Output("/r", "ndjson-gz", parse_layout("date"), "arrival", 0)
    span_ms = MONDAY_MS + 6 * 3_600_000
    assert output.url(MONDAY_MS, span_ms, span_ms + 5, 0) == "/r/date=2026-11-02/part-00001.json.gz"
    assert (
        output.url(MONDAY_MS, span_ms, span_ms + 5, 2)
        == "/r/date=2026-11-02/part-00001-002.json.gz"
    )
    firehose = Output("/r", "parquet", parse_layout("firehose"), "arrival", 0)
    first = firehose.url(MONDAY_MS, MONDAY_MS, MONDAY_MS + 61_000, 0)
    again = firehose.url(MONDAY_MS, MONDAY_MS, MONDAY_MS + 500_000, 1)
    assert first.startswith("/r/2026/11/02/00/timecard-stream-1-2026-11-02-00-01-01-")
    assert again.startswith("/r/2026/11/02/00/timecard-stream-1-2026-11-02-00-08-20-")
    assert first.endswith(".parquet") and again.endswith(".parquet") and first != again


def _json_records(root: str) -> dict[str, list[dict]]:
    """Relative path -> the records of each gzip'd NDJSON file. Where a record sits in its file
    decides whether a null PreviousAgentSnapshot is written or left out: both read as null."""
    return {
        name: [{"PreviousAgentSnapshot": None, **json.loads(line)} for line in data.splitlines()]
        for name, data in _decompressed(root).items()
    }


def _decompressed(root: str) -> dict[str, bytes]:
    return {
        file.url[len(root) + 1 :]: gzip.decompress(storage.read_bytes(file.url))
        for file in storage.list_files(root)
    }


def test_json_files_roll_over_before_the_decompressed_size_cap(tmp_path, monkeypatch):
    """With TIMECARD_MAX_DECOMPRESSED_MB=1 a 6-hour file of 60 agents (several MiB) becomes
    several files, each at most 1 MiB decompressed, holding the same records in the same order."""
    arguments = {"agents": 60, "start": MONDAY, "days": 1, "seed": 1, "shape": "ndjson-gz"}
    whole = generate_events(str(tmp_path / "whole"), **arguments)
    monkeypatch.setenv("TIMECARD_MAX_DECOMPRESSED_MB", "1")
    rolled = generate_events(str(tmp_path / "rolled"), **arguments)

    before, after = _json_records(str(tmp_path / "whole")), _json_records(str(tmp_path / "rolled"))
    assert max(map(len, _decompressed(str(tmp_path / "whole")).values())) > 2**20
    assert len(after) > len(before) == 4
    assert max(map(len, _decompressed(str(tmp_path / "rolled")).values())) <= 2**20
    for name, lines in before.items():
        index = name.removesuffix(".json.gz")
        parts = sorted(part for part in after if part.startswith(index))
        assert parts[-1] == f"{index}.json.gz"  # the first file keeps the span's name
        in_order = [*after[parts[-1]]] + [line for part in parts[:-1] for line in after[part]]
        assert in_order == lines
    assert rolled.events == whole.events and rolled.files == len(after)
    assert Counter(record["EventType"] for records in after.values() for record in records) == (
        Counter({name: count for name, count in whole.event_types.items() if count})
    )


def test_a_failure_leaves_no_partial_file_behind(tmp_path, monkeypatch):
    calls = []

    def failing(*args, **kwargs):
        calls.append(args)
        if len(calls) > 2:
            raise RuntimeError("disk on fire")
        return original(*args, **kwargs)

    from timecard.generate import records as records_module
    from timecard.generate import writers

    original = records_module.records
    monkeypatch.setattr(writers, "records", failing)
    monkeypatch.setattr(writers, "BATCH_ROWS", 500)
    root = tmp_path / "out"
    with pytest.raises(RuntimeError, match="disk on fire"):
        generate_events(str(root), agents=30, start=MONDAY, days=1, shape="ndjson")
    assert len(calls) == 3
    left = [path for path in root.rglob("*") if path.is_file()]
    assert not [path for path in left if path.name.startswith(".")]  # no temporary file
    for path in left:  # only finished files, each whole
        assert all(json.loads(line) for line in path.read_text().splitlines())


def test_the_summary_counts_events_duplicates_and_types():
    import polars as pl

    summary = GenerateSummary()
    summary.count(
        pl.DataFrame(
            {"is_copy": [False, True, False], "event_type": ["LOGIN", "LOGIN", "HEART_BEAT"]}
        )
    )
    assert (summary.events, summary.duplicates) == (3, 1)
    assert summary.event_types == {"LOGIN": 2, "LOGOUT": 0, "STATE_CHANGE": 0, "HEART_BEAT": 1}
    assert str(summary).startswith("3 events (LOGIN 2, LOGOUT 0")
    assert datetime(2026, 11, 2, tzinfo=UTC).timestamp() * 1000 == MONDAY_MS
