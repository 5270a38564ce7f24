"""Parquet as Firehose record-format conversion (or any Arrow writer) lands it.

Nested structs that mirror the Connect JSON, or snapshots kept as JSON text where the Glue table
types them `string`; names in any letter case; EventTimestamp as ISO text or a Parquet timestamp.
The file is scanned with its schema reduced to the fields the report uses, so the reader skips
the rest of every snapshot.

Attributes come from pyarrow instead: it reads only the named leaves of a nested column, where
Polars decodes the whole struct and then drops the fields it was not asked for. On
Firehose-written files (a deep CurrentAgentSnapshot, 96 files a day) that made a day's
attributes cost about ten times what the core fields did; pyarrow reads them in about a tenth
of the time, and its table becomes a Polars frame without a copy.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from timecard import storage
from timecard.dependencies import pyarrow as pa
from timecard.dependencies import pyarrow_compute as pc
from timecard.readers.base import RawRecords, unreadable

if TYPE_CHECKING:
    from collections.abc import Iterator

    import polars as pl
    from polars.datatypes import DataTypeClass

PARQUET_MAGIC = b"PAR1"


class ParquetReader:
    def recognises(self, head: bytes) -> bool:
        return head.startswith(PARQUET_MAGIC)

    def read(self, url: str, session_candidates_only: bool, attributes: bool = True) -> RawRecords:
        """The file's records; with `attributes` False, no cheaper read is offered for the
        attributes (they come from the records' own scan)."""
        import polars as pl

        from transforms import normalize

        try:
            full = storage.read_parquet_schema(url)
            reduced = normalize.reduced_schema(full)
            # With "prefiltered", columns other than the filter's are decoded only for the
            # rows that pass it: the snapshot of a LOGIN, not of every heartbeat.
            scan = storage.scan_parquet(
                url,
                schema=reduced,
                extra_columns="ignore",
                cast_options=pl.ScanCastOptions(extra_struct_fields="ignore"),
                parallel="prefiltered",
                row_index_name="source_row",
                row_index_offset=1,
            )
            scan.collect_schema()
        except Exception as error:  # Polars raises several types for a bad footer
            if (failure := storage.store_failure("read", url, error)) is not None:
                raise failure from error  # the store failed, not the file
            raise unreadable(url, "is not a readable Parquet file", error) from None
        attribute_records = None
        sources = [dtype for name, dtype in reduced.items() if name.lower() in _ATTRIBUTE_SOURCES]
        if attributes and all(_text_leaves(dtype) for dtype in sources):
            attribute_records = _attribute_records([url], dict(full), reduced)
        return RawRecords(scan, "parquet", _shape(reduced), attribute_records)

    def read_rows(self, url: str, groups: tuple[int, int], first: int) -> RawRecords:
        """The records of row groups `[groups[0], groups[1])` of one Parquet file, whose first
        row is row `first` (0-based) of the file: a run of a large file's row groups, when a
        day compacted into one file is condensed in runs. Each record keeps its row number in
        the whole file (`source_row`, from 1).

        The core fields come from Polars' scan of the file, sliced to the run's rows (the scan
        reads only the row groups holding them). The attributes come from pyarrow, which reads
        those row groups only, on every core: the EventType, and the snapshot's named leaves as
        dictionaries (a value per agent, not per row), of which only the rows that may be a
        LOGIN or LOGOUT are taken; Polars decodes the whole snapshot of every row of the run.
        Snapshots kept as JSON text are decoded by Polars for the LOGIN/LOGOUT rows only."""
        import polars as pl

        from transforms import normalize

        records = self.read(url, session_candidates_only=False, attributes=False)
        full = storage.read_parquet_schema(url)
        reduced = normalize.reduced_schema(full)
        rows = _rows(url, groups)
        sources = [dtype for name, dtype in reduced.items() if name.lower() in _ATTRIBUTE_SOURCES]
        if _shape(reduced) != "json-text" and all(_text_leaves(dtype) for dtype in sources):
            run = (list(range(*groups)), first)
            attributes = _attribute_records([url], dict(full), reduced, run)
        else:  # JSON text, decoded by Polars for the LOGIN/LOGOUT rows only
            in_run = pl.col("source_row").is_between(first + 1, first + rows)
            attributes = records.frame.filter(in_run)
        return RawRecords(
            records.frame.slice(first, rows), records.format, records.shape, attributes
        )

    def read_batch(self, urls: list[str], session_candidates_only: bool) -> RawRecords | None:
        """The records of several files in one scan, each naming its file in
        `SOURCE_FILE_COLUMN`; None unless they can be: the first file's core fields must be
        flat, and every file must hold them under the same names and types (a day's Firehose
        objects do). Otherwise, or when a file turns out unreadable while the plan runs, the
        files are read one by one, which names the file at fault.

        One scan of a day's files costs a fraction of one plan per file: a day is 96-288
        small objects, and per-file plans, not decoding, dominated reading them.
        """
        import polars as pl

        from transforms import normalize

        try:
            full = storage.read_parquet_schema(urls[0])
        except Exception:  # noqa: BLE001 - the file-by-file reading reports it
            return None
        reduced = normalize.reduced_schema(full)
        core = {name: dtype for name, dtype in reduced.items() if name.lower() in _CORE_FIELDS}
        if any(isinstance(dtype, pl.Struct | pl.List | pl.Array) for dtype in core.values()):
            return None
        # Without a schema given, a file whose columns differ from the first one's (missing,
        # extra, or another type) fails the scan, and the files are then read one by one.
        # A snapshot kept as JSON text is checked on the LOGIN/LOGOUT rows (text that is not
        # JSON of an object is quarantined), as reading each file on its own does.
        texts = [name for name, dtype in reduced.items() if _is_snapshot_text(name, dtype)]
        scan = _numbered_scan(urls, parallel="prefiltered").select(
            normalize.SOURCE_FILE_COLUMN, "source_row", *core, *texts
        )
        sources = [dtype for name, dtype in reduced.items() if name.lower() in _ATTRIBUTE_SOURCES]
        if not all(_text_leaves(dtype) for dtype in sources):
            return None  # attributes from Polars' own scan of each file
        if _shape(reduced) == "json-text":
            attributes = _json_text_attribute_records(urls, reduced)
        else:
            attributes = _attribute_records(urls, dict(full), reduced)
        return RawRecords(scan, "parquet", _shape(reduced), attributes)


def parquet_row_groups(url: str) -> list[tuple[int, int]]:
    """(rows, compressed bytes) of each row group of a Parquet file, from its footer."""
    metadata = storage.read_parquet_metadata(url)
    groups = (metadata.row_group(index) for index in range(metadata.num_row_groups))
    return [
        (
            group.num_rows,
            sum(group.column(c).total_compressed_size for c in range(group.num_columns)),
        )
        for group in groups
    ]


_CORE_FIELDS = ("eventid", "eventtype", "eventtimestamp", "agentarn")
_ATTRIBUTE_SOURCES = ("eventtype", "instancearn", "currentagentsnapshot")


def _attribute_records(
    urls: list[str],
    full: dict[str, pl.DataType],
    reduced: dict[str, pl.DataType],
    run: tuple[list[int], int] | None = None,
) -> pl.LazyFrame:
    """The records that may be LOGIN/LOGOUT, with the fields attributes come from, read by
    pyarrow when (and only when) a plan needs them. With several files (a batch), the frame
    names each record's file in `SOURCE_FILE_COLUMN`; they are read on every core and become
    one Polars frame, without a copy. `run`: (row groups, the file's row number of their
    first row) of the one file: those row groups only, the leaves read as dictionaries."""
    import polars as pl

    from transforms.normalize import ACTIVITY_ONLY_EVENT_TYPES, SOURCE_FILE_COLUMN

    # pyarrow keeps the file's order of columns and struct fields: so does this schema.
    names = [name for name in full if name in reduced and name.lower() in _ATTRIBUTE_SOURCES]
    schema = {name: _in_file_order(reduced[name], full[name]) for name in names}
    type_columns = [name for name in names if name.lower() == "eventtype"]
    paths = [path for name in names for path in _leaf_paths(name, schema[name])]
    batch = len(urls) > 1

    def read_one(url: str):
        if run is None:
            table, first = storage.read_parquet_columns(url, paths), 0
        else:
            leaves = [path for path in paths if path not in type_columns]
            table = storage.read_parquet_columns(url, paths, run[0], dictionaries=leaves)
            first = run[1]
        if len(type_columns) == 1:
            # Skip the records that are certainly HEART_BEAT or STATE_CHANGE; the exact test,
            # after trimming and in any case, is `normalize.session_attributes`'.
            known = pa.array(ACTIVITY_ONLY_EVENT_TYPES)
            activity = pc.fill_null(pc.is_in(table[type_columns[0]], value_set=known), False)
            rows = pc.indices_nonzero(pc.invert(activity))
        else:
            rows = pa.array(range(table.num_rows), pa.uint64())
        table = table.select(names).take(rows)
        if run is not None:
            table = table.cast(pa.schema([_decoded(field) for field in table.schema]))
        table = table.append_column("source_row", pc.add(rows.cast(pa.int64()), first + 1))
        if batch:
            table = table.append_column(SOURCE_FILE_COLUMN, pa.repeat(url, table.num_rows))
        return table

    def read() -> pl.DataFrame:
        with ThreadPoolExecutor(max_workers=min(len(urls), os.cpu_count() or 2)) as pool:
            tables = list(pool.map(read_one, urls))
        frame = pl.from_arrow(pa.concat_tables(tables))
        if not isinstance(frame, pl.DataFrame):  # a Table gives a DataFrame, never a Series
            raise TypeError(f"pl.from_arrow gave {type(frame).__name__} for a pyarrow Table")
        return frame

    extra = {SOURCE_FILE_COLUMN: pl.String()} if batch else {}
    return pl.defer(read, schema={**schema, "source_row": pl.Int64(), **extra})


def _decoded(field):
    """An Arrow field with every dictionary (at any depth) typed as its values."""
    kind = field.type
    if pa.types.is_dictionary(kind):
        return field.with_type(kind.value_type)
    if pa.types.is_struct(kind):
        return field.with_type(pa.struct([_decoded(kind.field(i)) for i in range(kind.num_fields)]))
    return field


def _rows(url: str, groups: tuple[int, int]) -> int:
    metadata = storage.read_parquet_metadata(url)
    return sum(metadata.row_group(index).num_rows for index in range(*groups))


def _numbered_scan(urls: list[str], **options) -> pl.LazyFrame:
    """One scan of several files, each record numbered from 1 within its file (`source_row`)
    and naming it (`SOURCE_FILE_COLUMN`). The scan's row index runs across the files, so each
    file's first index is found apart (from the file metadata, no column decoded) and joined:
    a filter on the scan still reaches the reader, which then decodes the other columns only
    for the rows it keeps. The records come in file and row order (the join keeps the scan's
    order), so a day condensed in runs of files writes the same parts as in one."""
    import polars as pl

    from transforms.normalize import SOURCE_FILE_COLUMN

    row, start = "__row__", "__start__"
    scan = storage.scan_parquet(
        urls, row_index_name=row, include_file_paths=SOURCE_FILE_COLUMN, **options
    )
    starts = (
        scan.select(SOURCE_FILE_COLUMN, row)
        .group_by(SOURCE_FILE_COLUMN)
        .agg(pl.col(row).min().alias(start))
    )
    return (
        scan.join(starts, on=SOURCE_FILE_COLUMN, how="left", maintain_order="left")
        .with_columns(source_row=pl.col(row) - pl.col(start) + 1)
        .drop(row, start)
    )


def _json_text_attribute_records(urls: list[str], reduced: dict[str, pl.DataType]) -> pl.LazyFrame:
    """The records that may be LOGIN/LOGOUT, with their snapshot as JSON text (a Glue `string`
    column), read by Polars: its scan decodes that column only for the rows the EventType
    filter keeps, where pyarrow would read the JSON text of every heartbeat too."""
    import polars as pl

    from transforms.normalize import ACTIVITY_ONLY_EVENT_TYPES, SOURCE_FILE_COLUMN

    names = [name for name in reduced if name.lower() in _ATTRIBUTE_SOURCES]
    type_columns = [name for name in names if name.lower() == "eventtype"]
    records = _numbered_scan(urls, parallel="prefiltered").select(
        SOURCE_FILE_COLUMN, "source_row", *names
    )
    if len(type_columns) == 1:
        activity = pl.col(type_columns[0]).is_in(ACTIVITY_ONLY_EVENT_TYPES).fill_null(False)
        records = records.filter(~activity)
    return records


def _is_snapshot_text(name: str, dtype: pl.DataType) -> bool:
    import polars as pl

    return name.lower() == "currentagentsnapshot" and dtype == pl.String


def _text_leaves(dtype: pl.DataType | DataTypeClass) -> bool:
    """Whether every leaf is text: what pyarrow and Polars type alike. A column Parquet holds as
    all-null (or a timestamp) is left to Polars' own read."""
    import polars as pl

    if isinstance(dtype, pl.Struct):
        return bool(dtype.fields) and all(_text_leaves(field.dtype) for field in dtype.fields)
    return dtype == pl.String


def _in_file_order(
    reduced: pl.DataType | DataTypeClass, full: pl.DataType | DataTypeClass
) -> pl.DataType | DataTypeClass:
    import polars as pl

    if not (isinstance(reduced, pl.Struct) and isinstance(full, pl.Struct)):
        return reduced
    kept = {field.name: field.dtype for field in reduced.fields}
    return pl.Struct(
        {f.name: _in_file_order(kept[f.name], f.dtype) for f in full.fields if f.name in kept}
    )


def _leaf_paths(name: str, dtype: pl.DataType | DataTypeClass) -> Iterator[str]:
    """pyarrow's column paths for the fields of a (reduced) struct: "A.B.C"."""
    import polars as pl

    if isinstance(dtype, pl.Struct) and dtype.fields:
        for field in dtype.fields:
            yield from _leaf_paths(f"{name}.{field.name}", field.dtype)
    else:
        yield name


def _shape(schema: dict[str, pl.DataType]) -> str:
    import polars as pl

    snapshot = next((d for n, d in schema.items() if n.lower() == "currentagentsnapshot"), None)
    return "json-text" if snapshot == pl.String else "nested"
