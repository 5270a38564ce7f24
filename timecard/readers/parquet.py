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

from typing import TYPE_CHECKING

from timecard import storage
from timecard.readers.base import RawRecords, unreadable

if TYPE_CHECKING:
    import polars as pl

PARQUET_MAGIC = b"PAR1"


class ParquetReader:
    def recognises(self, head: bytes) -> bool:
        return head.startswith(PARQUET_MAGIC)

    def read(self, url: str, session_candidates_only: bool) -> RawRecords:
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
            raise unreadable(url, "is not a readable Parquet file", error) from None
        attributes = None
        sources = [dtype for name, dtype in reduced.items() if name.lower() in _ATTRIBUTE_SOURCES]
        if all(_text_leaves(dtype) for dtype in sources):
            attributes = _attribute_records(url, dict(full), reduced)
        return RawRecords(scan, "parquet", _shape(reduced), attributes)


_ATTRIBUTE_SOURCES = ("eventtype", "instancearn", "currentagentsnapshot")


def _attribute_records(
    url: str, full: dict[str, pl.DataType], reduced: dict[str, pl.DataType]
) -> pl.LazyFrame:
    """The records that may be LOGIN/LOGOUT, with the fields attributes come from, read by
    pyarrow when (and only when) a plan needs them."""
    import polars as pl

    from transforms.normalize import ACTIVITY_ONLY_EVENT_TYPES

    # pyarrow keeps the file's order of columns and struct fields: so does this schema.
    names = [name for name in full if name in reduced and name.lower() in _ATTRIBUTE_SOURCES]
    schema = {name: _in_file_order(reduced[name], full[name]) for name in names}
    type_columns = [name for name in names if name.lower() == "eventtype"]

    def read() -> pl.DataFrame:
        import pyarrow as pa
        import pyarrow.compute as pc

        paths = [path for name in names for path in _leaf_paths(name, schema[name])]
        table = storage.read_parquet_columns(url, paths)
        if len(type_columns) == 1:
            # Skip the records that are certainly HEART_BEAT or STATE_CHANGE; the exact test,
            # after trimming and in any case, is `normalize.session_attributes`'.
            known = pa.array(ACTIVITY_ONLY_EVENT_TYPES)
            activity = pc.fill_null(pc.is_in(table[type_columns[0]], value_set=known), False)
            rows = pc.indices_nonzero(pc.invert(activity))
        else:
            rows = pa.array(range(table.num_rows), pa.uint64())
        frame = pl.from_arrow(table.take(rows))
        return frame.select(names).with_columns(source_row=pl.from_arrow(rows).cast(pl.Int64) + 1)

    return pl.defer(read, schema={**schema, "source_row": pl.Int64()})


def _text_leaves(dtype: pl.DataType) -> bool:
    """Whether every leaf is text: what pyarrow and Polars type alike. A column Parquet holds as
    all-null (or a timestamp) is left to Polars' own read."""
    import polars as pl

    if isinstance(dtype, pl.Struct):
        return bool(dtype.fields) and all(_text_leaves(field.dtype) for field in dtype.fields)
    return dtype == pl.String


def _in_file_order(reduced: pl.DataType, full: pl.DataType) -> pl.DataType:
    import polars as pl

    if not (isinstance(reduced, pl.Struct) and isinstance(full, pl.Struct)):
        return reduced
    kept = {field.name: field.dtype for field in reduced.fields}
    return pl.Struct(
        {f.name: _in_file_order(kept[f.name], f.dtype) for f in full.fields if f.name in kept}
    )


def _leaf_paths(name: str, dtype: pl.DataType):
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
