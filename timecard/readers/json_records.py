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

import functools
import json
import re
import zlib
from typing import TYPE_CHECKING

from schemas.columns import PROBLEM_COLUMN
from timecard import storage
from timecard.dependencies import igzip_lib
from timecard.readers.base import RawRecords, decompressed_cap, too_large, unreadable

if TYPE_CHECKING:
    import polars as pl

GZIP_MAGIC = b"\x1f\x8b"
_CORE = ("EventId", "EventType", "EventTimestamp", "AgentARN")
_SESSION_TYPES = ("LOGIN", "LOGOUT")
# A record's type as Connect writes it; the records a lookback day can skip unparsed.
_TYPE_MARKER = b'"EventType":"'
_LOWER_TYPE_MARKER = b'"eventtype"'
_ACTIVITY_TYPES = (b'HEART_BEAT"', b'STATE_CHANGE"')
# Bytes that are not UTF-8, as `surrogateescape` decoding keeps them.
_SURROGATE = re.compile("[\udc80-\udcff]")


class JsonReader:
    def recognises(self, head: bytes) -> bool:
        return True  # the fallback reader: whatever is not JSON is reported record by record

    def read_batch(self, urls: list[str], session_candidates_only: bool) -> RawRecords | None:
        """On a lookback day (`session_candidates_only`): every file read, decompressed and
        scanned by the worker processes (the scans hold the GIL), each worker reading its
        objects itself with the storage access resolved here; then the candidate lines of all
        of them parsed at once. None for a full day (each file is parsed whole, on its own), and
        when a file needs the careful reading, the candidates do not parse cleanly, or a worker
        could not read a file (it is then read here, which names it and says why)."""
        if not session_candidates_only:
            return None
        from timecard.readers.processes import map_in_processes
        from timecard.settings import get_settings

        s3 = get_settings().s3 if any(storage.is_s3(url) for url in urls) else None
        scan = functools.partial(scan_object, cap=decompressed_cap(), s3=s3)
        scans = map_in_processes(scan, urls)
        if any(scan is None for scan in scans) or len({scan[:2] for scan in scans}) != 1:
            return None
        return _batch_records(urls, scans)

    def read(self, url: str, session_candidates_only: bool) -> RawRecords:
        cap = decompressed_cap()
        data = storage.read_bytes(url)
        fmt = "json"
        if len(data) > cap:  # the listing refuses it first; a file rewritten since is refused here
            raise too_large(url, f"holds {len(data) / 2**20:,.1f} MiB", cap)
        if data.startswith(GZIP_MAGIC):
            fmt = "json-gzip"
            data = _gunzip(url, data, cap)
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


def _gunzip(url: str, data: bytes, cap: int) -> bytes:
    """The decompressed file, refused (naming it) as soon as it inflates past `cap` bytes:
    memory never holds more than `cap` of it."""
    stated_size = int.from_bytes(data[-4:], "little") if len(data) >= 18 else 0
    # The trailer states the last member's size (modulo 2**32); it may lie, or be damaged, so
    # it only sizes the fast path's buffer once it is within the cap.
    single = _gunzip_one_member(data, stated_size) if stated_size <= cap else None
    if single is not None:
        return single
    return _gunzip_members(url, data, cap)


def _gunzip_members(url: str, data: bytes, cap: int) -> bytes:
    """Every gzip member, like gzip.decompress, decompressed with a limit: a trailer that lies
    (or a file of many members) stops at `cap` bytes, never grows memory past it."""
    pieces: list[bytes] = []
    total, rest = 0, data
    try:
        while rest:
            member = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
            piece = member.decompress(rest, cap + 1 - total)
            total += len(piece)
            if total > cap:
                raise too_large(url, f"inflates to more than {cap / 2**20:,.0f} MiB", cap)
            if not member.eof:
                raise EOFError("compressed data ended before the end-of-stream marker")
            pieces.append(piece)
            rest = member.unused_data
    # The ignore: isal's stub declares `IsalError: Exception`, an instance, for the class it is.
    except (EOFError, OSError, zlib.error, igzip_lib.IsalError) as error:  # type: ignore[misc]
        raise unreadable(url, "is a damaged gzip file (truncated or corrupt)", error) from None
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _gunzip_one_member(data: bytes, stated_size: int) -> bytes | None:
    """The usual file, one gzip member, decompressed into a buffer of the size its trailer
    states (already checked against the cap): several times faster than letting the buffer
    grow. None for anything else (several members, a damaged file, a trailer that lies), which
    takes the general reading."""
    if len(data) < 18:  # a gzip header and trailer
        return None
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
    data, shape = _shape(data)
    if shape == "concatenated":
        # Between two records `}{` can only be a record boundary: inside a string it would
        # leave both halves invalid, which the parse below detects.
        return data.replace(b"}{", b"}\n{"), shape
    return (data if shape else None), shape


def _shape(data: bytes) -> tuple[bytes, str]:
    """The data without leading white space, and its shape as `_as_lines` tells it:
    "ndjson", "concatenated", or "" for the careful reading."""
    data = data.lstrip()  # free unless there is white space before the first record
    if b"\r" in data or not data.startswith(b"{"):
        return data, ""
    first_line_end = data.find(b"\n")
    if data.find(b"}{", 0, first_line_end if first_line_end >= 0 else len(data)) >= 0:
        return data, "concatenated"
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
    text = b"\n".join(parsed) if session_candidates_only else lines
    if not _has_core_names(core) or _may_repeat_core_names(core, text):
        return None
    if session_candidates_only:
        return _with_attributes(core, parsed)
    return _with_attributes(core, lambda numbers: _numbered_lines(lines, end, numbers))


def _with_attributes(core: pl.DataFrame, lines) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`core`, with a `__problem__` on the LOGIN/LOGOUT rows whose snapshot cannot be read;
    and those rows with their attributes. `lines` are the text of `core`'s rows in order, or a
    function giving the text of the lines numbered so."""
    import polars as pl

    event_type = pl.coalesce("EventType", "eventtype").str.strip_chars().str.to_uppercase()
    is_session = core.select(event_type.is_in(_SESSION_TYPES).fill_null(False)).to_series()
    session = core.filter(is_session)
    numbers = session["source_row"].to_list()
    if callable(lines):
        picked = lines(numbers)
    else:
        picked = [line for line, keep in zip(lines, is_session, strict=True) if keep]
    attributes, problems = _attributes(numbers, picked)
    if any(problems):
        # A snapshot that is not an object: the record is quarantined with the reason.
        where = is_session.arg_true()
        column = pl.repeat(None, core.height, dtype=pl.String, eager=True)
        column = column.scatter(where, pl.Series(problems, dtype=pl.String))
        core = core.with_columns(column.alias(PROBLEM_COLUMN))
    return core, pl.concat([session, attributes.drop("source_row")], how="horizontal")


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


def _may_repeat_core_names(core: pl.DataFrame, text: bytes) -> bool:
    """Whether a record of `text` (the records `core` was parsed from) may name a core field
    twice: the native parse keeps the first value, the careful reading would keep the last, so
    such a file takes the careful reading, which quarantines exactly those records.

    Counted, not parsed: every `"Event`/`"event` (EventId, EventType, EventTimestamp in any
    spelling that starts so) and `"AgentARN"`/`"agentarn"` in the text must be one of the
    values the parse found, and no record may hold both spellings of a field. A key held by a
    value (a name "Events") only sends the file to the careful reading too."""
    import polars as pl

    events = [name for name in _CORE if name.startswith("Event")]
    found = core.select(
        events=pl.sum_horizontal(pl.col(name).is_not_null().sum() for name in events),
        agents=pl.col("AgentARN").is_not_null().sum(),
        lower_events=pl.sum_horizontal(pl.col(n.lower()).is_not_null().sum() for n in events),
        lower_agents=pl.col("agentarn").is_not_null().sum(),
        both=pl.any_horizontal(
            pl.col(name).is_not_null() & pl.col(name.lower()).is_not_null() for name in _CORE
        ).any(),
    ).row(0, named=True)
    if found["both"]:
        return True
    # Each count is a pass over the text: the lower-case ones only where that spelling holds
    # values (Glue round trips); a lower-case name given only as null is not counted.
    counts = [(b'"Event', "events"), (b'"AgentARN"', "agents")]
    if found["lower_events"] or found["lower_agents"]:
        counts += [(b'"event', "lower_events"), (b'"agentarn"', "lower_agents")]
    return any(text.count(marker) != found[key] for marker, key in counts)


def _attributes(numbers: list[int], lines: list[bytes]) -> tuple[pl.DataFrame, list[str | None]]:
    """The attribute fields of the LOGIN/LOGOUT lines, decoded whole: there are few of them;
    and for each line, why its snapshot cannot be read (or None)."""
    import polars as pl

    from transforms.normalize import (
        ATTRIBUTE_PATHS,
        canonical_tree,
        canonical_values,
        record_snapshot_problem,
        tree_dtype,
    )

    tree = canonical_tree(ATTRIBUTE_PATHS.values())
    records = [_json_or_none(line) for line in lines]
    rows = [canonical_values(record, tree) or {} for record in records]
    problems = [
        record_snapshot_problem(record) if isinstance(record, dict) else None for record in records
    ]
    schema = {name: tree_dtype(child) for name, child in tree.items()}
    frame = pl.DataFrame(rows, schema=schema).with_columns(
        source_row=pl.Series(numbers, dtype=pl.Int64)
    )
    return frame, problems


def _json_or_none(line: bytes):
    try:
        return json.loads(line, strict=False)
    except ValueError:
        return None


def candidate_lines(
    lines: bytes, end: int, concatenated: bool = False
) -> tuple[int, list[int], list[bytes]]:
    """The number of lines before `end`, and the numbers and text of the lines that may bound
    a session: every line but those whose one `"EventType":"` marker says HEART_BEAT or
    STATE_CHANGE. A line with no marker (another spelling, or none) or with two stays a
    candidate: it is parsed, and `transforms.normalize` decides on its parsed type.

    With `concatenated`, the "lines" are records back to back with no newline, cut after each
    `}` that a `{` follows: the records and their numbers are those of the data with a newline
    put into each `}{`, without copying the data to put it there.

    One pass: record ends are found with memchr, and the marker is searched within each line.
    """
    find, startswith = lines.find, lines.startswith
    separator, kept, skipped = (b"}{", 1, 0) if concatenated else (b"\n", 0, 1)
    numbers: list[int] = []
    chosen: list[bytes] = []
    number, start = 0, 0
    # A line that also spells the type in lower case names it twice: parsed, and quarantined.
    lower = _LOWER_TYPE_MARKER if find(_LOWER_TYPE_MARKER, 0, end) >= 0 else None
    while start < end:
        line_end = find(separator, start, end)
        line_end = end if line_end < 0 else line_end + kept
        number += 1
        marker = find(_TYPE_MARKER, start, line_end)
        after = marker + len(_TYPE_MARKER)
        if (
            marker < 0
            or not startswith(_ACTIVITY_TYPES, after)
            or find(_TYPE_MARKER, after, line_end) >= 0
            or (lower is not None and find(lower, start, line_end) >= 0)
        ):
            numbers.append(number)
            chosen.append(lines[start:line_end])
        start = line_end + skipped
    return number, numbers, chosen


def scan_object(url: str, cap: int, s3=None) -> tuple[str, str, int, list[int], bytes] | None:
    """`_scan_candidates` of the object at `url`, read here: in a worker process, with the
    storage access (`timecard.settings.S3Settings`) its parent resolved. None when it cannot be
    read here (missing, denied, the store failing): the parent reads it again, which explains
    the failure naming the object."""
    try:
        data = storage.read_bytes_as(url, s3)
    except Exception:  # noqa: BLE001 - explained when the parent reads it on its own
        return None
    return _scan_candidates(data, cap)


def _scan_candidates(data: bytes, cap: int) -> tuple[str, str, int, list[int], bytes] | None:
    """A raw file's (format, shape, number of records, candidate numbers, candidate lines
    joined by newlines), for a lookback day's batch; None when the file needs to be read on its
    own (damaged gzip, pretty-printed or mixed records, CR line ends). Plain values out."""
    fmt = "json"
    if len(data) > cap:
        return None
    if data.startswith(GZIP_MAGIC):
        fmt = "json-gzip"
        try:
            data = _gunzip("", data, cap)
        except Exception:  # noqa: BLE001 - read on its own, which names the file
            return None
    if not data or data.isspace():
        return fmt, "ndjson", 0, [], b""
    data, shape = _shape(data)
    if not shape:
        return None
    end = _content_end(data)
    if shape == "concatenated" and data.find(b"\n", 0, end) >= 0:
        # Newlines as well as `}{` between records: cut at both, as the parse of a whole file.
        data = data.replace(b"}{", b"}\n{")
        count, numbers, chosen = candidate_lines(data, _content_end(data))
    else:
        count, numbers, chosen = candidate_lines(data, end, shape == "concatenated")
    return fmt, shape, count, numbers, b"\n".join(chosen)


def _batch_records(urls: list[str], scans: list) -> RawRecords | None:
    """The candidate records of a lookback day's files, parsed in one go."""
    import polars as pl

    from transforms.normalize import SOURCE_FILE_COLUMN

    texts = [scan[4] for scan in scans if scan[3]]
    numbers = [number for scan in scans for number in scan[3]]
    joined = b"\n".join(texts)
    try:
        core = _parse(joined, len(numbers), numbers)
    except (ValueError, pl.exceptions.PolarsError):
        return None
    core = core.with_columns(
        pl.Series(
            SOURCE_FILE_COLUMN,
            [url for url, scan in zip(urls, scans, strict=True) for _ in scan[3]],
            dtype=pl.String,
        )
    )
    if not _has_core_names(core) or _may_repeat_core_names(core, joined):
        return None  # read file by file: the careful reading quarantines what needs it
    lines = [line for text in texts for line in text.split(b"\n")]
    fmt, shape = scans[0][:2]
    core, attribute_records = _with_attributes(core, lines)
    return RawRecords(core.lazy(), fmt, shape, attribute_records.lazy())


# -- the careful reading: any mix of shapes, bad records quarantined ------------------------------


def _scan_records(data: bytes) -> list[dict]:
    """Every record of the file in order: its report fields, or a `__problem__` with its position.

    Invalid UTF-8 survives decoding as lone surrogates, so a record holding some is reported
    instead of failing the file.
    """
    text = data.decode("utf-8", "surrogateescape")
    decoder = json.JSONDecoder(object_pairs_hook=_object)
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
            elif repeated := _repeated_core_names(value):
                problem = (
                    f"names {', '.join(repeated)} more than once (a core field must appear "
                    "once: which value is meant is ambiguous)"
                )
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


_CORE_LOWER = {name.lower(): name for name in _CORE}
_REPEATED = "__repeated__"  # set by `_object` on a JSON object that holds a key twice


def _object(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object as `json` builds it (the last of repeated keys wins), remembering the
    keys it held more than once."""
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        repeated = []
        for key, _ in pairs:
            if key in seen:
                repeated.append(key)
            seen.add(key)
        value[_REPEATED] = repeated
    return value


def _repeated_core_names(record: dict) -> list[str]:
    """The core fields a record names more than once, in any letter case (EventType and
    eventtype are one field), as Connect spells them."""
    counts: dict[str, int] = {}
    for key in [*record, *record.get(_REPEATED, ())]:
        name = _CORE_LOWER.get(str(key).lower())
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    return [f'"{name}"' for name in _CORE if counts.get(name, 0) > 1]


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

    from transforms.normalize import (
        canonical_schema,
        canonical_tree,
        canonical_values,
        record_snapshot_problem,
    )

    tree = canonical_tree()
    rows = [
        {
            "source_row": number,
            PROBLEM_COLUMN: record.get(PROBLEM_COLUMN) or record_snapshot_problem(record),
        }
        | (canonical_values(record, tree) if PROBLEM_COLUMN not in record else {})
        for number, record in enumerate(records, start=1)
    ]
    schema = {"source_row": pl.Int64(), PROBLEM_COLUMN: pl.String(), **canonical_schema()}
    return pl.DataFrame(rows, schema=schema).lazy()
