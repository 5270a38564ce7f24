"""timecard.generate.shapes: a file written in batches holds the bytes of one made at once."""

from __future__ import annotations

import gzip
import io
import zlib

import polars as pl
import pyarrow.parquet as pq
import pytest

from timecard.generate.draws import Draws
from timecard.generate.events import anchors, deliver, window_events
from timecard.generate.records import records
from timecard.generate.roster import make_roster
from timecard.generate.shapes import (
    JSON_SHAPES,
    PYARROW_ROW_GROUP,
    FileEncoder,
    encode_records,
    json_piece,
)
from timecard.generate.shifts import ShiftPlan
from timecard.limits import SHAPES

DAY_MS = 86_400_000
# 2026-11-02 (a Monday) from the epoch
MONDAY_MS = 1_793_577_600_000
# Polars gzips these in one call; a file of several batches is one zlib gzip stream instead.
POLARS_GZIP = ("ndjson-gz", "concatenated-gz")


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    """About 22,000 records of 100 agents on a Monday: more than two pyarrow row groups."""
    roster, draws = make_roster(100, 5), Draws(5)
    day = anchors(ShiftPlan(roster.agents, 5).sessions(MONDAY_MS), draws)
    events = deliver(window_events(day, MONDAY_MS, MONDAY_MS + DAY_MS), MONDAY_MS, draws)
    assert events.height > 2 * PYARROW_ROW_GROUP
    return records(events, roster, draws)


def _in_batches(frame: pl.DataFrame, shape: str, rows: int) -> bytes:
    buffer = io.BytesIO()
    encoder = FileEncoder.open(buffer, shape)
    for offset in range(0, frame.height, rows):
        encoder.add(frame.slice(offset, rows), position=offset)
    encoder.finish()
    return buffer.getvalue()


@pytest.mark.parametrize("shape", [shape for shape in SHAPES if shape != "parquet"])
def test_a_file_written_in_batches_is_the_file_written_at_once(sample, shape):
    at_once = encode_records(sample, shape)
    batched = _in_batches(sample, shape, PYARROW_ROW_GROUP)

    if shape in POLARS_GZIP:
        assert batched != at_once  # zlib's gzip, not Polars'
        assert gzip.decompress(batched) == gzip.decompress(at_once)
        assert zlib.decompressobj(wbits=31).decompress(batched)  # one member
    else:
        assert batched == at_once


def test_a_batch_alone_is_the_bytes_of_encode_records(sample):
    small = sample.head(300)
    for shape in SHAPES:
        assert _in_batches(small, shape, 300) == encode_records(small, shape)


def test_pyarrow_batches_keep_row_groups_of_10000(sample):
    data = _in_batches(sample, "parquet-pyarrow", 2 * PYARROW_ROW_GROUP)
    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sizes[:-1] == [PYARROW_ROW_GROUP] * (len(sizes) - 1)
    assert sum(sizes) == sample.height


def test_a_polars_parquet_file_is_one_batch(sample):
    encoder = FileEncoder.open(io.BytesIO(), "parquet")
    encoder.add(sample.head(10), position=0)
    with pytest.raises(ValueError, match="one batch"):
        encoder.add(sample.head(10), position=10)


@pytest.mark.parametrize("shape", sorted(JSON_SHAPES))
def test_a_json_piece_depends_on_its_position_in_the_file(sample, shape):
    """Mixed styles and left-out snapshots follow the position: a piece from position p of the
    file is the same text as the file's records from p on."""
    whole = json_piece(sample.head(200), shape, 0).text
    tail = json_piece(sample.slice(100, 100), shape, 100).text
    assert whole.endswith(tail)
    assert len(tail) < len(whole)
