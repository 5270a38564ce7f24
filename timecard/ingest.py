"""Finding and reading raw agent-event files: partitions, format sniffing, bad input.

Raw data sits under an events root, partitioned by UTC arrival date in any of three layouts:
`date=YYYY-MM-DD/`, `year=YYYY/month=MM/day=DD/`, or Firehose's default `YYYY/MM/DD/HH/`.
A report lists only the partitions of the days it needs, never the whole root.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zlib
from datetime import date
from typing import NamedTuple

import polars as pl

from timecard import storage
from timecard.errors import UnreadableInputError
from transforms import normalize

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"


def partition_prefixes(events_root: str, day: date) -> list[str]:
    """Where the raw files of one UTC day can be, in each supported layout."""
    y, m, d = f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"
    return [
        storage.join(events_root, f"date={day.isoformat()}"),
        storage.join(events_root, f"year={y}", f"month={m}", f"day={d}"),
        storage.join(events_root, y, m, d),
    ]


def _is_data_file(url: str, prefix: str) -> bool:
    # Hidden and marker files (.crc, _SUCCESS, our own temporary files) are not data, and
    # neither is anything in a hidden or marker folder below the partition (Spark's
    # `_temporary/`, Hive's `.hive-staging/`): those hold files still being written.
    below_partition = url[len(prefix) :].strip("/").split("/")
    return not any(name.startswith((".", "_")) for name in below_partition)


def partition_files(events_root: str, day: date) -> list[storage.FileInfo]:
    files: set[storage.FileInfo] = set()
    for prefix in partition_prefixes(events_root, day):
        files.update(f for f in storage.list_files(prefix) if _is_data_file(f.url, prefix))
    return sorted(files)


def fingerprint(events_root: str, files: list[storage.FileInfo]) -> str:
    """Identifies a partition's content: its files with their sizes and versions (ETag/mtime).

    A late-arriving or rewritten file changes it, which makes a cached condensation stale.
    """
    root = storage.normalize(events_root)
    digest = hashlib.sha256()
    for file in files:
        relative = file.url[len(root) :].lstrip("/")
        digest.update(f"{relative}\t{file.size}\t{file.version}\n".encode())
    return digest.hexdigest()[:32]


class RawFile(NamedTuple):
    """One raw file, as two lazy reads: every record's core fields with its `reason` (null when
    usable), and the attributes of its LOGIN/LOGOUT records."""

    checked: pl.LazyFrame
    session_attributes: pl.LazyFrame


def read_file(
    file: storage.FileInfo, partition_day: date, session_candidates_only: bool = False
) -> RawFile:
    """Lazy reads of one raw file; with `session_candidates_only`, `checked` skips the records
    known to be HEART_BEAT or STATE_CHANGE.

    Raises UnreadableInputError, naming the file, when the file cannot be read at all.
    """
    if storage.read_head(file.url, len(PARQUET_MAGIC)) == PARQUET_MAGIC:
        raw = _scan_parquet(file.url)
    else:
        raw = _read_ndjson(file.url)
    records = normalize.may_bound_a_session(raw) if session_candidates_only else raw
    return RawFile(
        normalize.with_reasons(normalize.flatten(records, file.url), partition_day),
        normalize.session_attributes(raw, file.url),
    )


def _scan_parquet(url: str) -> pl.LazyFrame:
    try:
        schema = storage.read_parquet_schema(url)
        # Only the fields the report uses: the reader then skips the rest of every snapshot,
        # and with "prefiltered" it decodes them only for rows that pass a filter.
        scan = storage.scan_parquet(
            url,
            schema=normalize.reduced_schema(schema),
            extra_columns="ignore",
            cast_options=pl.ScanCastOptions(extra_struct_fields="ignore"),
            parallel="prefiltered",
            row_index_name="source_row",
            row_index_offset=1,
        )
        scan.collect_schema()
    except Exception as error:  # Polars raises several types for a bad footer
        raise unreadable(url, "is not a readable Parquet file", error) from None
    return scan


def _read_ndjson(url: str) -> pl.LazyFrame:
    data = storage.read_bytes(url)
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as error:
            raise unreadable(url, "is a damaged gzip file (truncated or corrupt)", error) from None
    if not data.strip():
        return pl.DataFrame(schema={"source_row": pl.Int64}).lazy()
    try:
        if b"\n\n" in data or b"\r\n" in data:
            raise ValueError("blank lines or CRLF: line numbers need the careful path")
        frame = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
        if not _one_schema_fits_every_record(dict(frame.schema), normalize.canonical_schema()):
            raise ValueError("records disagree on names or nesting: each needs its own reading")
        return frame.with_row_index("source_row", offset=1).lazy()
    except Exception:
        return _read_ndjson_line_by_line(url, data)


def _one_schema_fits_every_record(
    fields: dict[str, pl.DataType], canonical: dict[str, pl.DataType]
) -> bool:
    """Whether the schema Polars inferred for a whole file reads each record's fields correctly.

    It does not when records spell a name in different cases (Polars makes two columns, and only
    one is read), or when a field is an object in some records and not in others (Polars turns
    the objects into JSON text, which hides the attributes of the good records).
    """
    for name, wanted in canonical.items():
        matches = [actual for actual in fields if actual.lower() == name.lower()]
        if len(matches) > 1:
            return False
        if not matches or not isinstance(wanted, pl.Struct):
            continue
        found = fields[matches[0]]
        if isinstance(found, pl.Null):
            continue
        if not isinstance(found, pl.Struct) or not _one_schema_fits_every_record(
            {field.name: field.dtype for field in found.fields},
            {field.name: field.dtype for field in wanted.fields},
        ):
            return False
    return True


def _read_ndjson_line_by_line(url: str, data: bytes) -> pl.LazyFrame:
    """The careful path for a file Polars cannot take whole: every line on its own.

    A line that is not UTF-8 or not a JSON object becomes a record with only a `__problem__`,
    so it is quarantined with its line number instead of failing the whole file.
    """
    rows: list[dict] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except UnicodeDecodeError:
            record = {"__problem__": "line is not valid UTF-8"}
        except ValueError as error:
            record = {"__problem__": f"line is not a JSON object ({str(error)[:80]})"}
        rows.append({"source_row": number, **_pruned(record)})
    schema = {"source_row": pl.Int64, "__problem__": pl.String, **normalize.canonical_schema()}
    return pl.DataFrame(rows, schema=schema).lazy()


def _pruned(record: dict) -> dict:
    """The report's fields of one JSON record, under canonical names (matched in any case).

    Leaves become text; anything else is left out, so one odd record cannot break the file.
    """
    pruned: dict = {"__problem__": record.get("__problem__")}
    for path in [*normalize.FIELD_PATHS.values(), normalize.TIMESTAMP_PATH]:
        value = record
        for name in path:
            lowered = name.lower()
            value = (
                next((v for k, v in value.items() if k.lower() == lowered), None)
                if isinstance(value, dict)
                else None
            )
        if value is None or isinstance(value, dict | list):
            continue
        target = pruned
        for name in path[:-1]:
            target = target.setdefault(name, {})
        target[path[-1]] = str(value)
    return pruned


def unreadable(url: str, what: str, error: Exception) -> UnreadableInputError:
    detail = (
        str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
    )
    return UnreadableInputError(
        f"The raw event file {url} {what} ({detail}). No report was written. Move the file out of "
        "the events root, or replace it with a good copy, and run the report again."
    )
