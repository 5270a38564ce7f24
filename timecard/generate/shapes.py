"""Shapes: how a file holds its records, in each real landing's form (JSON in lines, back to
back, pretty or mixed, gzip'd or not, keys lower-cased; Parquet nested, pyarrow-written, or as
Firehose converts it with a Glue table).

A file is written in batches (`FileEncoder`); a file of one batch holds exactly the bytes
`encode_records` gives, and a file of several batches holds what `encode_records` gives for all
its records at once, with one exception: Polars gzips `ndjson-gz` and `concatenated-gz` in one
call, so a file of several batches is one gzip stream from zlib instead, of the same text.
"""

from __future__ import annotations

import io
import json
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import polars as pl
from polars.datatypes import DataTypeClass

from timecard.dependencies import pyarrow as pa
from timecard.dependencies import pyarrow_parquet as pq
from timecard.errors import UsageError
from timecard.generate.draws import by_position, by_position_expr
from timecard.limits import SHAPES, Shape

JSON_SHAPES = frozenset(shape for shape in SHAPES if not shape.startswith("parquet"))
# Optional parts real records leave out rather than set to null; the JSON shapes do the same.
_LEFT_OUT_WHEN_NULL = ("NextAgentStatus", "EnqueueTimestamp", "EnqueuedTimestamp", "Proficiencies")
# A struct Glue table types these as `string` (aws-samples' connect_ae): Firehose stores JSON text.
_GLUE_TEXT_FIELDS = {"configuration": ("agenthierarchygroups",), "": ("nextagentstatus",)}
_SNAPSHOTS = ("CurrentAgentSnapshot", "PreviousAgentSnapshot")
_ISO_INSTANT = "%Y-%m-%dT%H:%M:%S%.f%#z"
_LINE_STYLES = ("ndjson", "ndjson-lower", "concatenated")
PYARROW_ROW_GROUP = 10_000
GZIP_LEVEL = 6


def encode_records(records: pl.DataFrame, shape: Shape) -> bytes:
    """The bytes of one file holding `records` (CamelCase agent event records, EventTimestamp
    as ISO text) in `shape`:

    - `ndjson`, `ndjson-gz`: one record per line; `concatenated`, `concatenated-gz`: records back
      to back with no delimiter (Firehose's default); `pretty`: records indented over several
      lines; `mixed`, `mixed-gz`: each record in one of those three styles; `ndjson-lower`: every
      key lower-cased. JSON shapes leave out null optional parts, and PreviousAgentSnapshot is
      null in some records and missing in others. `-gz` is gzip, recognisable by content only.
    - `parquet`: Polars, nested CamelCase structs. `parquet-pyarrow`: the same written as
      Firehose and Glue write Parquet (dictionary-encoded strings in the structs, snappy, row
      groups of 10,000, no Arrow schema). `parquet-glue-struct`: Firehose's conversion with a
      struct Glue table: every name lower-case, `eventtimestamp` a UTC timestamp in ms,
      `agenthierarchygroups` and `nextagentstatus` JSON text. `parquet-glue-string`: conversion
      with a string Glue table: lower-case columns, the snapshots JSON text with lower-case keys;
      `parquet-json-text-camel`: the same with CamelCase keys in the JSON text.

    The choice of style per record depends only on its position, so output is deterministic.
    """
    if shape not in SHAPES:
        raise UsageError(f"The shape must be one of {', '.join(SHAPES)}; got {shape!r}.")
    buffer = io.BytesIO()
    encoder = FileEncoder.open(buffer, shape)
    encoder.add(records, position=0)
    encoder.finish()
    return buffer.getvalue()


class FileEncoder:
    """Writes one file's records to `handle`, a batch at a time, in its shape."""

    @staticmethod
    def open(handle: BinaryIO, shape: Shape) -> FileEncoder:
        if shape == "parquet":
            return _PolarsParquet(handle)
        if shape in JSON_SHAPES:
            return _Json(handle, shape)
        return _PyarrowParquet(handle, shape)

    def add(self, records: pl.DataFrame, position: int) -> int:
        """Write `records`, the file's from `position` on; the bytes they take decompressed."""
        raise NotImplementedError

    def add_piece(self, piece: JsonPiece) -> None:
        """Write a batch already encoded by `json_piece` (the JSON shapes only)."""
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError


class _PolarsParquet(FileEncoder):
    """Polars writes a file in one call: a file holds one batch."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.written = handle, False

    def add(self, records: pl.DataFrame, position: int) -> int:
        if self.written:
            raise ValueError("a Polars Parquet file is written in one batch")
        self.written = True
        buffer = io.BytesIO()
        records.write_parquet(buffer, compression="zstd", compression_level=1)
        return self.handle.write(buffer.getbuffer())

    def finish(self) -> None:
        pass


class _PyarrowParquet(FileEncoder):
    """Row groups of 10,000 as Firehose and Glue write them; batches of whole row groups give
    the file `pq.write_table` gives for all of them."""

    def __init__(self, handle: BinaryIO, shape: Shape) -> None:
        self.handle, self.shape = handle, shape
        self.writer: pq.ParquetWriter | None = None

    def add(self, records: pl.DataFrame, position: int) -> int:
        table = _arrow_table(_parquet_frame(records, self.shape))
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.handle,
                table.schema,
                compression="snappy",
                use_dictionary=True,
                store_schema=False,
            )
        self.writer.write_table(table, row_group_size=PYARROW_ROW_GROUP)
        return table.nbytes

    def finish(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _parquet_frame(records: pl.DataFrame, shape: Shape) -> pl.DataFrame:
    """The records as each Parquet shape stores them."""
    if shape == "parquet-glue-struct":
        frame = _lower_names(_timestamped(records))
        return frame.with_columns(_glue_text_fields(frame))
    if shape == "parquet-glue-string":
        frame = _lower_names(_timestamped(records))
        return frame.with_columns(_json_text_columns(frame, lower=True))
    if shape == "parquet-json-text-camel":
        frame = _timestamped(records)
        frame = frame.with_columns(_json_text_columns(frame, lower=False))
        return frame.rename(str.lower)
    return records  # parquet-pyarrow


@dataclass
class JsonPiece:
    """A batch's records as JSON text, before any gzip; `texts` one text per record, kept where
    Polars gzips a file of one batch."""

    text: bytes
    texts: pl.Series | None


def json_piece(records: pl.DataFrame, shape: Shape, position: int) -> JsonPiece:
    """The text of `records`, the file's from `position` on, in a JSON shape."""
    lower = shape == "ndjson-lower"
    texts = _json_records(_lower_names(records) if lower else records, lower, position)
    style = shape.removesuffix("-gz")
    if style in _LINE_STYLES:
        # Each text as it is, then a newline or nothing: no quoting, no copy through Python.
        return JsonPiece(_line_texts(texts, style, gzip=False), texts)
    if style == "pretty":
        return JsonPiece("".join(_pretty(text) + "\n" for text in texts).encode(), None)
    # mixed: by position, a line, a record glued to the next, or an indented record
    styles = by_position(len(texts), 3, "mixed", position)
    endings = ("\n", "", "\n")
    encoded = "".join(
        (_pretty(text) if kind == 2 else text) + endings[kind]
        for text, kind in zip(texts, styles, strict=True)
    )
    return JsonPiece(encoded.encode(), None)


def _line_texts(texts: pl.Series, style: str, gzip: bool) -> bytes:
    buffer = io.BytesIO()
    texts.to_frame().write_csv(
        buffer,
        include_header=False,
        quote_style="never",
        line_terminator="" if style == "concatenated" else "\n",
        compression="gzip" if gzip else "uncompressed",
        check_extension=False,
    )
    return buffer.getvalue()


class _Json(FileEncoder):
    """JSON text, gzip'd for `-gz` without a time in its header, so reruns match."""

    def __init__(self, handle: BinaryIO, shape: Shape) -> None:
        self.handle, self.shape = handle, shape
        self.gzip = shape.endswith("-gz")
        # Polars gzips these in one call (a file of one batch); zlib streams the rest.
        self.waiting: JsonPiece | None = None
        self.polars_gzip = self.gzip and shape.removesuffix("-gz") in _LINE_STYLES
        self.stream: _GzipStream | None = None

    def add(self, records: pl.DataFrame, position: int) -> int:
        piece = json_piece(records, self.shape, position)
        self.add_piece(piece)
        return len(piece.text)

    def add_piece(self, piece: JsonPiece) -> None:
        if not self.gzip:
            self.handle.write(piece.text)
            return
        if self.polars_gzip and self.stream is None and self.waiting is None:
            self.waiting = piece
            return
        if self.stream is None:
            self.stream = _GzipStream(self.handle)
        if self.waiting is not None:
            self.stream.write(self.waiting.text)
            self.waiting = None
        self.stream.write(piece.text)

    def finish(self) -> None:
        if self.waiting is not None and self.waiting.texts is not None:
            style = self.shape.removesuffix("-gz")
            self.handle.write(_line_texts(self.waiting.texts, style, gzip=True))
        elif self.stream is not None:
            self.stream.finish()


class _GzipStream:
    """One gzip member written as text comes: the bytes `gzip.compress(text, 6, mtime=0)` gives
    for all of it (zlib writes header and trailer, and its output does not depend on how its
    input is fed)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def write(self, data: bytes) -> None:
        self.handle.write(self.deflate.compress(data))

    def finish(self) -> None:
        self.handle.write(self.deflate.flush())


def _json_records(records: pl.DataFrame, lower: bool, position: int) -> pl.Series:
    """One compact JSON text per record, null optional parts left out."""
    spelled = str.lower if lower else str
    text = pl.col("text")
    # Documented as "not applicable" to some events: absent from half of them, null in the rest.
    missing = by_position_expr(2, "previous snapshot missing", position) == 0
    previous = spelled("PreviousAgentSnapshot")
    text = pl.when(missing).then(text.str.replace(f',"{previous}":null', "", literal=True))
    text = text.otherwise(pl.col("text"))
    # A key is always followed by `:`, and a quote inside a string is escaped: these patterns
    # cannot match inside a value. One pass per key the records have (passes are what cost).
    for key, is_last in _optional_keys(records.schema, set(map(spelled, _LEFT_OUT_WHEN_NULL))):
        pattern = f',"{key}":null' if is_last else f'"{key}":null,'
        text = text.str.replace_all(pattern, "", literal=True)
    encoded = records.select(text=pl.struct(pl.all()).struct.json_encode())
    return encoded.select(text)["text"]


def _optional_keys(schema: pl.Schema, wanted: set[str]) -> set[tuple[str, bool]]:
    """(key, whether it is the last field of its struct) of the `wanted` keys in the records."""
    found = set()
    pending: list[list[tuple[str, pl.DataType | DataTypeClass]]] = [list(schema.items())]
    while pending:
        fields = pending.pop()
        for position, (name, dtype) in enumerate(fields):
            if name in wanted:
                found.add((name, position == len(fields) - 1))
            while isinstance(dtype, pl.List):
                dtype = dtype.inner
            if isinstance(dtype, pl.Struct):
                pending.append([(field.name, field.dtype) for field in dtype.fields])
    return found


def _pretty(text: str) -> str:
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False)


def _timestamped(records: pl.DataFrame) -> pl.DataFrame:
    """EventTimestamp as Firehose's conversion stores it: a UTC timestamp in milliseconds."""
    column = pl.col("EventTimestamp")
    if records.schema["EventTimestamp"] == pl.String:
        column = column.str.to_datetime(_ISO_INSTANT, time_zone="UTC", time_unit="ms")
    return records.with_columns(column.dt.convert_time_zone("UTC").dt.cast_time_unit("ms"))


def _json_text(column: pl.Expr, dtype: pl.DataType | DataTypeClass) -> pl.Expr:
    """A nested value as JSON text; null stays null."""
    if dtype == pl.Null:
        return column.cast(pl.String)
    return pl.when(column.is_not_null()).then(column.struct.json_encode())


def _json_text_columns(frame: pl.DataFrame, lower: bool) -> list[pl.Expr]:
    names = [name.lower() if lower else name for name in _SNAPSHOTS]
    return [
        _json_text(pl.col(name), frame.schema[name]).alias(name)
        for name in names
        if name in frame.schema
    ]


def _glue_text_fields(frame: pl.DataFrame) -> list[pl.Expr]:
    """Lower-cased snapshots with the fields a struct Glue table types `string` as JSON text."""
    columns = []
    for name in (snapshot.lower() for snapshot in _SNAPSHOTS):
        dtype = frame.schema.get(name)
        if not isinstance(dtype, pl.Struct):
            continue
        snapshot = pl.col(name)
        fields = {field.name: field.dtype for field in dtype.fields}
        changes = {
            field: _json_text(snapshot.struct.field(field), fields[field])
            for field in _GLUE_TEXT_FIELDS[""]
            if field in fields
        }
        configuration_type = fields.get("configuration")
        if isinstance(configuration_type, pl.Struct):
            configuration = snapshot.struct.field("configuration")
            inner = {field.name: field.dtype for field in configuration_type.fields}
            changes["configuration"] = pl.when(configuration.is_not_null()).then(
                configuration.struct.with_fields(
                    **{
                        field: _json_text(configuration.struct.field(field), inner[field])
                        for field in _GLUE_TEXT_FIELDS["configuration"]
                        if field in inner
                    }
                )
            )
        changed = snapshot.struct.with_fields(**changes)
        columns.append(pl.when(snapshot.is_not_null()).then(changed).alias(name))
    return columns


def _lower_names(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column and nested field name lower-cased, as Glue and the OpenX JSON SerDe do."""
    lowered = pl.from_arrow(_arrow_table(frame, lower=True))
    if not isinstance(lowered, pl.DataFrame):  # a Table gives a DataFrame, never a Series
        raise TypeError(f"pl.from_arrow gave {type(lowered).__name__} for a pyarrow Table")
    return lowered


def _arrow_table(frame: pl.DataFrame, lower: bool = False) -> pa.Table:
    """`frame` as Arrow with plain string and list types, as parquet-mr's files read back."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    columns = [_plain_array(column.combine_chunks(), lower) for column in table.columns]
    names = [name.lower() if lower else name for name in table.column_names]
    return pa.table(columns, names=names)


def _plain_array(array: pa.Array, lower: bool) -> pa.Array:
    kind = array.type
    if pa.types.is_struct(kind):
        children = [_plain_array(child, lower) for child in array.flatten()]
        names = [kind.field(i).name for i in range(kind.num_fields)]
        names = [name.lower() for name in names] if lower else names
        return pa.StructArray.from_arrays(children, names=names, mask=array.is_null())
    if pa.types.is_large_list(kind) or pa.types.is_list(kind):
        offsets = array.offsets.cast(pa.int32())
        values = _plain_array(array.values, lower)
        return pa.ListArray.from_arrays(offsets, values, mask=array.is_null())
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return array.cast(pa.string())
    return array
