"""A raw day compacted into one large Parquet file, as a Glue/Spark compaction job or an Athena
CTAS leaves it: the benchmark's `parquet-compacted` input kind.

    .venv/bin/python -m bench.compact SOURCE_ROOT TARGET_ROOT   # every YYYY/MM/DD day folder

Each day's Firehose objects (pyarrow Parquet, many small files) are rewritten, in the order
timecard lists them, into `YYYY/MM/DD/part-00000.snappy.parquet`, with pyarrow's writer defaults:
row groups of 1,048,576 rows (the last one shorter), snappy, dictionary pages. The records, their
order and the Parquet schema are the source's; like the Firehose objects (and like files from
Spark or Athena), the file stores no Arrow schema, so readers see plain strings.

Memory stays bounded whatever the size of the day: the source is read in record batches, string
columns as Arrow dictionaries (a snapshot repeats its names and ARNs on every record: about
640 bytes a record instead of 3.5 KB), and `pq.ParquetWriter` is given one row group at a time.
Nothing holds more than one row group and one batch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow is imported where it is used: `bench.run` reads the constants below and stays small.

# pyarrow's default row group length (`ParquetWriter.write_table` without `row_group_size`).
DEFAULT_ROW_GROUP_ROWS = 1024 * 1024
READ_BATCH_ROWS = 65_536
COMPACTED_NAME = "part-00000.snappy.parquet"


def day_folders(events_root: Path) -> list[Path]:
    """The YYYY/MM/DD folders of a Firehose layout, hidden ones (a withheld day) included."""
    return sorted(
        day
        for year in events_root.iterdir()
        if year.is_dir() and year.name.isdigit()
        for month in year.iterdir()
        if month.is_dir() and month.name.isdigit()
        for day in month.iterdir()
        if day.is_dir() and day.name.lstrip(".").isdigit()
    )


def day_files(day_folder: Path) -> list[Path]:
    """A day's Parquet objects, in the order timecard lists them (by path)."""
    return sorted(
        path
        for path in day_folder.rglob("*")
        if path.is_file() and not path.name.startswith((".", "_"))
    )


def compact_events(
    source_root: Path, target_root: Path, row_group_rows: int = DEFAULT_ROW_GROUP_ROWS
) -> dict:
    """Compact every day of `source_root` into one file under `target_root` (same day folders);
    return events, files and bytes written, as the generator counts them."""
    counts = {"events": 0, "files": 0, "bytes": 0}
    for day_folder in day_folders(source_root):
        target = target_root / day_folder.relative_to(source_root) / COMPACTED_NAME
        counts["events"] += compact_day(day_files(day_folder), target, row_group_rows)
        counts["files"] += 1
        counts["bytes"] += target.stat().st_size
    return counts


def compact_day(
    files: list[Path], target: Path, row_group_rows: int = DEFAULT_ROW_GROUP_ROWS
) -> int:
    """Write `files` (Parquet of one schema) as one Parquet file of `row_group_rows`-row groups;
    return the number of records. Written under a temporary name and renamed when complete."""
    if not files:
        raise ValueError("a day to compact has no files")
    import pyarrow.parquet as pq

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    rows, writer = 0, None
    try:
        for group in row_groups(_batches(files), row_group_rows):
            # The Arrow schema has dictionaries where the file has strings: without a stored
            # Arrow schema, the Parquet file says plain strings, dictionary-encoded pages.
            writer = writer or pq.ParquetWriter(partial, group.schema, store_schema=False)
            writer.write_table(group, row_group_size=row_group_rows)
            rows += group.num_rows
    finally:
        if writer is not None:
            writer.close()
    os.replace(partial, target)
    return rows


def _batches(files: list[Path]) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    for path in files:
        source = pq.ParquetFile(path)
        strings = [
            source.schema.column(index).path
            for index in range(source.metadata.num_columns)
            if source.schema.column(index).physical_type == "BYTE_ARRAY"
        ]
        # Opened again with the string leaves read as dictionaries, one row group at a time:
        # each has its own dictionaries, and a nested column cannot be read across two.
        source = pq.ParquetFile(path, read_dictionary=strings)
        for group in range(source.metadata.num_row_groups):
            yield from source.iter_batches(batch_size=READ_BATCH_ROWS, row_groups=[group])


def row_groups(batches: Iterable[pa.RecordBatch], rows_per_group: int) -> Iterator[pa.Table]:
    """The batches regrouped into tables of exactly `rows_per_group` rows (the last one fewer),
    holding at most one group and one batch at a time."""
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    for batch in batches:
        while batch.num_rows:
            taken = batch.slice(0, rows_per_group - pending_rows)
            batch = batch.slice(taken.num_rows)
            pending.append(taken)
            pending_rows += taken.num_rows
            if pending_rows == rows_per_group:
                yield _table(pending)
                pending, pending_rows = [], 0
    if pending_rows:
        yield _table(pending)


def _table(batches: list[pa.RecordBatch]) -> pa.Table:
    import pyarrow as pa

    # Each source file has its own dictionaries; the writer encodes each column chunk anew.
    return pa.Table.from_batches(batches).unify_dictionaries()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compact", description=__doc__)
    parser.add_argument("source", type=Path, metavar="SOURCE_ROOT")
    parser.add_argument("target", type=Path, metavar="TARGET_ROOT")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        sys.exit(f"bench.compact: {args.source} is not a folder of Firehose day folders.")
    print(json.dumps(compact_events(args.source, args.target)))


if __name__ == "__main__":
    main()
