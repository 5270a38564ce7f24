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
# A record's type as Connect writes it; the records a lookback day can skip unparsed.
_TYPE_MARKER = b'"EventType":"'
_ACTIVITY_TYPES = (b'HEART_BEAT"', b'STATE_CHANGE"')
PROBLEM_COLUMN = "__problem__"
# Bytes that are not UTF-8, as `surrogateescape` decoding keeps them.
_SURROGATE = re.compile("[\udc80-\udcff]")


class JsonReader:
    def recognises(self, head: bytes) -> bool:
        return True  # the fallback reader: whatever is not JSON is reported record by record

    def read_batch(self, urls: list[str], session_candidates_only: bool) -> RawRecords | None:
        """On a lookback day (`session_candidates_only`): every file decompressed and scanned on
        every core (processes: the scans hold the GIL), then the candidate lines of all of them
        parsed at once. None for a full day (each file is parsed whole, on its own), and when a
        file needs the careful reading or the candidates do not parse cleanly."""
        if not session_candidates_only:
            return None
        from timecard.readers.processes import map_in_processes

        scans = map_in_processes(_scan_candidates, urls, storage.read_bytes)
        if any(scan is None for scan in scans) or len({scan[:2] for scan in scans}) != 1:
            return None
        return _batch_records(urls, scans)

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
    single = _gunzip_one_member(data)
    if single is not None:
        return single
    from isal import igzip, igzip_lib

    try:
        return igzip.decompress(data)  # every gzip member, like gzip.decompress, but faster
    except (EOFError, OSError, zlib.error, igzip_lib.IsalError) as error:
        raise unreadable(url, "is a damaged gzip file (truncated or corrupt)", error) from None


def _gunzip_one_member(data: bytes) -> bytes | None:
    """The usual file, one gzip member, decompressed into a buffer of the size its trailer
    states: several times faster than letting the buffer grow. None for anything else (several
    members, a damaged file), which takes the general reading."""
    from isal import igzip_lib

    if len(data) < 18:  # a gzip header and trailer
        return None
    stated_size = int.from_bytes(data[-4:], "little")  # of the last member, modulo 2**32
    try:
        member = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)  # header, CRC checked
        decompressed = member.decompress(data, stated_size + 1)
    except Exception:  # noqa: BLE001 - the general reading explains it
        return None
    if member.eof and not member.unused_data:
        return decompressed
    return None


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
    """Parse one-record-per-line data natively: the core fields of the records (all of them,
    or the candidates that may bound a session), and the LOGIN/LOGOUT records with their
    attributes too. None when it does not parse cleanly."""
    import polars as pl

    end = _content_end(lines)
    try:
        if session_candidates_only:
            _, numbers, parsed = candidate_lines(lines, end)
            core = _parse(b"\n".join(parsed), len(numbers), numbers)
        else:
            count = _count_lines(lines, end)
            core = _parse(lines, count, range(1, count + 1))
    except (ValueError, pl.exceptions.PolarsError):
        return None
    if not _has_core_names(core):
        return None
    if session_candidates_only:
        return core, _with_attributes(core, parsed)
    return core, _with_attributes(core, lambda numbers: _numbered_lines(lines, end, numbers))


def _with_attributes(core: pl.DataFrame, lines) -> pl.DataFrame:
    """The LOGIN/LOGOUT rows of `core` with their attributes; `lines` are the text of `core`'s
    rows in order, or a function giving the text of the lines numbered so."""
    import polars as pl

    event_type = pl.coalesce("EventType", "eventtype").str.strip_chars().str.to_uppercase()
    is_session = core.select(event_type.is_in(_SESSION_TYPES).fill_null(False)).to_series()
    session = core.filter(is_session)
    numbers = session["source_row"].to_list()
    if callable(lines):
        picked = lines(numbers)
    else:
        picked = [line for line, keep in zip(lines, is_session, strict=True) if keep]
    attributes = _attributes(numbers, picked).drop("source_row")
    return pl.concat([session, attributes], how="horizontal")


# Newlines are found with `bytes.find` (memchr), several times faster than `bytes.count`.


def _count_lines(lines: bytes, end: int) -> int:
    count, position = 1, lines.find(b"\n", 0, end)
    while position >= 0:
        count += 1
        position = lines.find(b"\n", position + 1, end)
    return count


def _numbered_lines(lines: bytes, end: int, numbers: list[int]) -> list[bytes]:
    """The text of the lines with these 1-based numbers (ascending), before `end`."""
    picked: list[bytes] = []
    number, start = 1, 0
    for wanted in numbers:
        while number < wanted:
            start = lines.find(b"\n", start, end) + 1
            number += 1
        line_end = lines.find(b"\n", start, end)
        picked.append(lines[start : end if line_end < 0 else line_end])
    return picked


def _content_end(lines: bytes) -> int:
    """Where the records end: trailing white space (the usual final newline) is left in place
    rather than copied away."""
    end = len(lines)
    while end and lines[end - 1] in b" \t\n":
        end -= 1
    return end


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


def candidate_lines(lines: bytes, end: int) -> tuple[int, list[int], list[bytes]]:
    """The number of lines before `end`, and the numbers and text of the lines that may bound
    a session: every line but those whose one `"EventType":"` marker says HEART_BEAT or
    STATE_CHANGE. A line with no marker (another spelling, or none) or with two stays a
    candidate: it is parsed, and `transforms.normalize` decides on its parsed type.

    One pass: newlines are found with memchr, and the marker is searched within each line.
    """
    find, startswith = lines.find, lines.startswith
    numbers: list[int] = []
    chosen: list[bytes] = []
    number, start = 0, 0
    while start < end:
        line_end = find(b"\n", start, end)
        line_end = end if line_end < 0 else line_end
        number += 1
        marker = find(_TYPE_MARKER, start, line_end)
        after = marker + len(_TYPE_MARKER)
        if (
            marker < 0
            or not startswith(_ACTIVITY_TYPES, after)
            or find(_TYPE_MARKER, after, line_end) >= 0
        ):
            numbers.append(number)
            chosen.append(lines[start:line_end])
        start = line_end + 1
    return number, numbers, chosen


def _scan_candidates(data: bytes) -> tuple[str, str, int, list[int], bytes] | None:
    """A raw file's (format, shape, number of records, candidate numbers, candidate lines
    joined by newlines), for a lookback day's batch; None when the file needs to be read on its
    own (damaged gzip, pretty-printed or mixed records, CR line ends). Runs in a worker
    process: plain bytes in, plain values out."""
    fmt = "json"
    if data.startswith(GZIP_MAGIC):
        fmt = "json-gzip"
        try:
            data = _gunzip("", data)
        except Exception:  # noqa: BLE001 - read on its own, which names the file
            return None
    if not data or data.isspace():
        return fmt, "ndjson", 0, [], b""
    lines, shape = _as_lines(data)
    if lines is None:
        return None
    count, numbers, chosen = candidate_lines(lines, _content_end(lines))
    return fmt, shape, count, numbers, b"\n".join(chosen)


def _batch_records(urls: list[str], scans: list) -> RawRecords | None:
    """The candidate records of a lookback day's files, parsed in one go."""
    import polars as pl

    from transforms.normalize import SOURCE_FILE_COLUMN

    texts = [scan[4] for scan in scans if scan[3]]
    numbers = [number for scan in scans for number in scan[3]]
    try:
        core = _parse(b"\n".join(texts), len(numbers), numbers)
    except (ValueError, pl.exceptions.PolarsError):
        return None
    core = core.with_columns(
        pl.Series(
            SOURCE_FILE_COLUMN,
            [url for url, scan in zip(urls, scans, strict=True) for _ in scan[3]],
            dtype=pl.String,
        )
    )
    if not _has_core_names(core):
        return None
    lines = [line for text in texts for line in text.split(b"\n")]
    fmt, shape = scans[0][:2]
    return RawRecords(core.lazy(), fmt, shape, _with_attributes(core, lines).lazy())


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
