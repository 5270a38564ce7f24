"""The benchmark's compacted input kind: a Firehose day rewritten into one Parquet file with
pyarrow's default row groups, the same records in the same order, read by timecard as the
Firehose objects are."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench import compact, measure
from timecard.engine import build_report
from timecard.generate import generate_events

START = date(2026, 10, 30)


@pytest.fixture(scope="module")
def firehose_parquet(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("firehose") / "events"
    generate_events(
        str(root), agents=12, start=START, days=3, shape="parquet-pyarrow", layout="firehose"
    )
    return root


def _plain(path: Path) -> pa.Table:
    return pq.read_table(path)


def test_each_day_becomes_one_file_of_the_same_records_in_the_same_order(
    firehose_parquet, tmp_path
):
    target = tmp_path / "compacted"
    counts = compact.compact_events(firehose_parquet, target, row_group_rows=700)

    days = compact.day_folders(firehose_parquet)
    assert len(days) == 3
    assert counts["files"] == 3
    events = 0
    for day in days:
        sources = compact.day_files(day)
        assert len(sources) > 10  # Firehose's many small objects
        [compacted] = compact.day_files(target / day.relative_to(firehose_parquet))
        assert compacted.name == compact.COMPACTED_NAME
        expected = pa.concat_tables([_plain(source) for source in sources])
        written = _plain(compacted)
        assert written.schema == expected.schema  # plain strings, as the sources read
        assert written.equals(expected)
        events += written.num_rows
        metadata = pq.ParquetFile(compacted).metadata
        sizes = [metadata.row_group(n).num_rows for n in range(metadata.num_row_groups)]
        assert sizes[:-1] == [700] * (len(sizes) - 1) and 0 < sizes[-1] <= 700
        assert b"ARROW:schema" not in (metadata.metadata or {})
    assert counts["events"] == events
    assert counts["bytes"] == sum(path.stat().st_size for path in target.rglob("*.parquet"))
    assert not list(target.rglob(".*"))  # no partial file left behind


def test_source_files_of_several_row_groups_are_read_one_group_at_a_time(
    firehose_parquet, tmp_path
):
    """A Firehose object of a large roster holds several row groups, each with its own
    dictionaries: their nested columns cannot be read as one chunk."""
    day = compact.day_folders(firehose_parquet)[1]
    sources = []
    for number, path in enumerate(compact.day_files(day)[:6]):
        table = _plain(path)
        sources.append(tmp_path / "source" / f"part-{number}.parquet")
        sources[-1].parent.mkdir(exist_ok=True)
        pq.write_table(table, sources[-1], row_group_size=max(1, table.num_rows // 3))
    assert pq.ParquetFile(sources[0]).metadata.num_row_groups >= 3

    rows = compact.compact_day(sources, tmp_path / "day.parquet", row_group_rows=1000)

    expected = pa.concat_tables([_plain(source) for source in sources])
    assert rows == expected.num_rows
    assert _plain(tmp_path / "day.parquet").equals(expected)


def test_the_default_row_group_is_pyarrows_own():
    buffer = io.BytesIO()
    pq.write_table(pa.table({"n": pa.array(range(compact.DEFAULT_ROW_GROUP_ROWS + 5))}), buffer)
    metadata = pq.ParquetFile(io.BytesIO(buffer.getvalue())).metadata
    assert metadata.row_group(0).num_rows == compact.DEFAULT_ROW_GROUP_ROWS


def test_batches_are_regrouped_into_exact_groups_holding_one_group_at_most():
    batches = [pa.record_batch({"n": pa.array(range(start, start + size))}) for start, size in
               ((0, 3), (3, 10), (13, 1), (14, 6))]  # fmt: skip
    groups = list(compact.row_groups(iter(batches), 4))
    assert [group.num_rows for group in groups] == [4, 4, 4, 4, 4]
    assert pa.concat_tables(groups).column("n").to_pylist() == list(range(20))


def test_timecard_reads_a_compacted_day_as_it_reads_the_firehose_objects(
    firehose_parquet, tmp_path
):
    compacted = tmp_path / "compacted"
    compact.compact_events(firehose_parquet, compacted)
    day = date(2026, 10, 31)
    csvs = [
        build_report(
            measure.daily_request(str(root), day, lookback_days=1), str(tmp_path / f"cache-{n}")
        ).csv_bytes()
        for n, root in enumerate((firehose_parquet, compacted))
    ]
    assert csvs[0].count(b"\n") > 3
    assert csvs[1] == csvs[0]


def test_a_day_without_files_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no files"):
        compact.compact_day([], tmp_path / "out.parquet")
