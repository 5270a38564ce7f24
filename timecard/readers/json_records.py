"""JSON records as Firehose delivers them, in any of the shapes real pipelines write.

- **ndjson**: one record per line (Firehose with a newline-appending processor).
- **concatenated**: records back to back with no delimiter, `...}{...` (Firehose's default).
- **multi-line**: pretty-printed records spanning several lines, or any mix of the shapes.

Any of them may be gzip-compressed, recognised by its content. Records are numbered from 1 in
file order; that number is their `source_row`, and a bad record is quarantined with it and its
byte offset. A file in which no record can be parsed is unreadable.

Speed. The two common shapes are parsed natively by Polars with an explicit schema of the four
top-level fields every record needs (no inference). Only LOGIN/LOGOUT records carry attributes a
report uses, so only their lines are decoded whole. On a lookback day only records that may bound
a session are needed: when byte markers (`"EventType":"HEART_BEAT"`, ...) account for every
record, only the LOGIN/LOGOUT lines are parsed at all, and `transforms.normalize` confirms their
type after parsing.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import TYPE_CHECKING

from timecard import storage
from timecard.readers.base import RawRecords, unreadable

if TYPE_CHECKING:
    import polars as pl

GZIP_MAGIC = b"\x1f\x8b"
_CORE = ("EventId", "EventType", "EventTimestamp", "AgentARN")
_SESSION_TYPES = ("LOGIN", "LOGOUT")
# `"EventType":"LOG` then `IN"` or `OUT"`: one scan finds both session types.
_SESSION_PREFIX = b'"EventType":"LOG'
_SESSION_SUFFIXES = (b'IN"', b'OUT"')
_ACTIVITY_MARKERS = (b'"EventType":"HEART_BEAT"', b'"EventType":"STATE_CHANGE"')
PROBLEM_COLUMN = "__problem__"
# Bytes that are not UTF-8, as `surrogateescape` decoding keeps them.
_SURROGATE = re.compile("[\udc80-\udcff]")


class JsonReader:
    def recognises(self, head: bytes) -> bool:
        return True  # the fallback reader: whatever is not JSON is reported record by record

    def read_batch(self, urls: list[str], session_candidates_only: bool) -> RawRecords | None:
        return None  # each file is decompressed, scanned and parsed on its own

    def read(self, url: str, session_candidates_only: bool) -> RawRecords:
        data = storage.read_bytes(url)
        fmt = "json"
        if data.startswith(GZIP_MAGIC):
            fmt = "json-gzip"
            data = _gunzip(url, data)
        if not data or data.isspace():  # isspace stops at the first other byte: no copy
            return RawRecords(_empty(), fmt, "ndjson")
        lines, shape = _as_lines(data)
        if lines is not None:
            read = _read_lines(lines, session_candidates_only)
            if read is not None:
                core, attribute_records = read
                return RawRecords(core.lazy(), fmt, shape, attribute_records.lazy())
        records = _scan_records(data)
        if not any(PROBLEM_COLUMN not in record for record in records):
            first = records[0][PROBLEM_COLUMN]
            raise unreadable(url, f"holds no JSON record that can be parsed (first: {first})")
        return RawRecords(_careful_frame(records), fmt, "multi-line")


def _gunzip(url: str, data: bytes) -> bytes:
    from isal import igzip, igzip_lib

    try:
        return igzip.decompress(data)  # every gzip member, like gzip.decompress, but faster
    except (EOFError, OSError, zlib.error, igzip_lib.IsalError) as error:
        raise unreadable(url, "is a damaged gzip file (truncated or corrupt)", error) from None


def _core_schema() -> dict[str, pl.DataType]:
    """The core fields in Connect's CamelCase and in lower case (Glue/OpenX round trips)."""
    import polars as pl

    return {spelling: pl.String() for name in _CORE for spelling in (name, name.lower())}


def _empty() -> pl.LazyFrame:
    import polars as pl

    return pl.DataFrame(schema={"source_row": pl.Int64, **_core_schema()}).lazy()


def _as_lines(data: bytes) -> tuple[bytes | None, str]:
    """The records one per line, when the file is newline-delimited or concatenated with no
    delimiter; None when it needs the careful reading (multi-line records, CR line ends).

    Only the first line is looked at to tell the two shapes apart, so a file is not copied or
    scanned again: a later line holding `}{`, a blank line or a multi-line record makes the
    native parse below fail or miscount, and the file then takes the careful reading.
    """
    data = data.lstrip()  # free unless there is white space before the first record
    if b"\r" in data or not data.startswith(b"{"):
        return None, ""
    first_line_end = data.find(b"\n")
    if data.find(b"}{", 0, first_line_end if first_line_end >= 0 else len(data)) >= 0:
        # Between two records `}{` can only be a record boundary: inside a string it would
        # leave both halves invalid, which the parse below detects.
        return data.replace(b"}{", b"}\n{"), "concatenated"
    return data, "ndjson"


def _read_lines(
    lines: bytes, session_candidates_only: bool
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Parse one-record-per-line data natively: the core fields of the records, and the
    LOGIN/LOGOUT records with their attributes too. None when it does not parse cleanly."""
    import polars as pl

    # Trailing white space (the usual final newline) is left in place rather than copied away.
    end = len(lines)
    while end and lines[end - 1] in b" \t\n":
        end -= 1
    count, marked = _session_lines(lines, end)
    try:
        if marked is not None and session_candidates_only:
            numbers, chosen = marked
            core = _parse(b"\n".join(chosen), len(numbers), numbers)
        else:
            core = _parse(lines, count, range(1, count + 1))
            if marked is None:  # find the LOGIN/LOGOUT records by their parsed type
                numbers = _session_rows(core)
                every_line = lines.split(b"\n")
                marked = numbers, [every_line[number - 1] for number in numbers]
    except (ValueError, pl.exceptions.PolarsError):
        return None
    if not _has_core_names(core):
        return None
    numbers = marked[0]
    with_attributes = core.filter(pl.col("source_row").is_in(numbers)).join(
        _attributes(*marked), on="source_row", how="left", maintain_order="left"
    )
    return core, with_attributes


def _parse(lines: bytes, expected: int, numbers) -> pl.DataFrame:
    import polars as pl

    if not expected:
        return pl.DataFrame(schema={"source_row": pl.Int64, **_core_schema()})
    frame = pl.read_ndjson(lines, schema=_core_schema())
    if frame.height != expected:
        raise ValueError("not one JSON object per line")
    return frame.with_columns(source_row=pl.Series(numbers, dtype=pl.Int64))


def _has_core_names(frame: pl.DataFrame) -> bool:
    """Whether every record spells the required names as Connect or Glue does; records with
    other spellings (or none) take the careful reading, which matches names in any case."""
    import polars as pl

    present = [pl.col(name).is_not_null() | pl.col(name.lower()).is_not_null() for name in _CORE]
    return bool(frame.select(pl.all_horizontal(present).all()).item())


def _session_rows(core: pl.DataFrame) -> list[int]:
    import polars as pl

    event_type = pl.coalesce("EventType", "eventtype").str.strip_chars().str.to_uppercase()
    return core.filter(event_type.is_in(_SESSION_TYPES))["source_row"].to_list()


def _attributes(numbers: list[int], lines: list[bytes]) -> pl.DataFrame:
    """The attribute fields of the LOGIN/LOGOUT lines, decoded whole: there are few of them."""
    import polars as pl

    from transforms.normalize import ATTRIBUTE_PATHS, canonical_tree, canonical_values, tree_dtype

    tree = canonical_tree(ATTRIBUTE_PATHS.values())
    rows = [canonical_values(_json_or_none(line), tree) or {} for line in lines]
    schema = {name: tree_dtype(child) for name, child in tree.items()}
    return pl.DataFrame(rows, schema=schema).with_columns(
        source_row=pl.Series(numbers, dtype=pl.Int64)
    )


def _json_or_none(line: bytes):
    try:
        return json.loads(line, strict=False)
    except ValueError:
        return None


def _session_lines(lines: bytes, end: int) -> tuple[int, tuple[list[int], list[bytes]] | None]:
    """The number of lines before `end`, and the numbers and text of the lines marked LOGIN or
    LOGOUT when markers account for every line (each one a known type, spelled as Connect
    writes it, one per line), else None.

    Each scan below is a plain substring search over the decompressed file; the line numbers
    come from one count of newlines, made piece by piece between the marked lines.
    """
    activity = sum(lines.count(marker) for marker in _ACTIVITY_MARKERS)
    numbers: list[int] = []
    chosen: list[bytes] = []
    number, counted_to, position = 1, 0, lines.find(_SESSION_PREFIX)
    while position >= 0:
        after = position + len(_SESSION_PREFIX)
        start = lines.rfind(b"\n", 0, position) + 1
        # "LOG..." but neither type (some other type, parsed to find out), or a second marker
        # on one line.
        if not lines.startswith(_SESSION_SUFFIXES, after) or start < counted_to:
            return lines.count(b"\n", 0, end) + 1, None
        number += lines.count(b"\n", counted_to, start)
        line_end = lines.find(b"\n", after)
        line_end = line_end if line_end >= 0 else len(lines)
        numbers.append(number)
        chosen.append(lines[start:line_end])
        counted_to = line_end
        position = lines.find(_SESSION_PREFIX, line_end)
    # The newlines before the first unmarked line and after the last marked one complete the
    # count: number is the number of the last marked line, or 1.
    if numbers:
        count = number + lines.count(b"\n", counted_to, end)
    else:
        count = lines.count(b"\n", 0, end) + 1
    return count, (numbers, chosen) if activity + len(numbers) == count else None


# -- the careful reading: any mix of shapes, bad records quarantined ------------------------------


def _scan_records(data: bytes) -> list[dict]:
    """Every record of the file in order: its report fields, or a `__problem__` with its position.

    Invalid UTF-8 survives decoding as lone surrogates, so a record holding some is reported
    instead of failing the file.
    """
    text = data.decode("utf-8", "surrogateescape")
    decoder = json.JSONDecoder()
    records: list[dict] = []
    position = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if position >= len(text):
            return records
        start, problem = position, None
        try:
            value, position = decoder.raw_decode(text, start)
            if not isinstance(value, dict):
                problem = f"is {type(value).__name__} JSON, not an object"
            elif _has_surrogates(text[start:position]):
                problem = "is not valid UTF-8"
        except json.JSONDecodeError as error:
            problem = f"is not valid JSON ({error.msg})"
            position = _next_record_start(text, start + 1)
        if problem:
            offset = len(text[:start].encode("utf-8", "surrogateescape"))
            line = text.count("\n", 0, start) + 1
            where = f"record {len(records) + 1} at byte offset {offset} (line {line})"
            records.append({PROBLEM_COLUMN: f"{where} {problem}"})
        else:
            records.append(value)


def _has_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _next_record_start(text: str, position: int) -> int:
    """Where the next record can begin after a bad one: a `{` opening a line, or right after a
    `}` (concatenated records)."""
    candidates = [text.find("\n{", position), text.find("}{", position)]
    found = [index + 1 for index in candidates if index >= 0]
    return min(found) if found else len(text)


def _careful_frame(records: list[dict]) -> pl.LazyFrame:
    """Records of the careful reading, each in the canonical shape (names in any case)."""
    import polars as pl

    from transforms.normalize import canonical_schema, canonical_tree, canonical_values

    tree = canonical_tree()
    rows = [
        {"source_row": number, PROBLEM_COLUMN: record.get(PROBLEM_COLUMN)}
        | (canonical_values(record, tree) if PROBLEM_COLUMN not in record else {})
        for number, record in enumerate(records, start=1)
    ]
    schema = {"source_row": pl.Int64, PROBLEM_COLUMN: pl.String, **canonical_schema()}
    return pl.DataFrame(rows, schema=schema).lazy()
