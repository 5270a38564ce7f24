"""The rerun cache: a validated report kept under the fingerprints of everything it came from.

A report is a function of its request (window, time zone, filters, lookback, row limit, events
root, layout), of the raw files of the days it reads (`ingest.fingerprint` of each day's
listing: names, sizes, ETags or modification times), and of the code that turns one into the
other. Once a report has passed its contract, `keep` writes it, its quarantine, its session
table and its run summary as one small file; a later `load` of the same request with the same
code and the same listings reads that file instead of the condensed parts, the pairing and the
contract checks. A new or rewritten file in any day the report reads, other settings, or other
code make it miss, and the report is built as usual (then kept again).

Layout under the cache root (local or S3, through `timecard.storage`):

    reports-v1/<root id>/<request key>.bin

One file per request (window and settings, not inputs), so reruns of a schedule's windows
replace their file rather than piling up; the inputs it was built from are recorded inside and
compared on every load. The file is written whole, atomically, after the report is validated:
a killed run leaves nothing a later run would trust.

The file: 8 bytes giving the length of a JSON header, the header (the key's parts, the summary,
the byte length of each frame), then each frame as Arrow IPC (types, time zones and categories
exactly as built, so the CSV written from it is byte for byte the one built fresh).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from timecard import storage

if TYPE_CHECKING:
    from timecard.condensed import DayCache
    from timecard.engine import ReportRequest, ReportResult

FORMAT_VERSION = "reports-v1"
_FRAMES = ("report", "quarantine", "sessions")
_HEADER_LENGTH_BYTES = 8
_LISTINGS_AT_ONCE = 8
_REPO = Path(__file__).resolve().parent.parent
# The code a report's content depends on: every source file below these, hashed (see
# `code_version`). All of timecard, not a list of modules: a module split off later is covered
# too, and an edit anywhere costs only one rebuild of each kept report.
_CODE = ("transforms", "schemas", "timecard")


@lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the source of every module that shapes a report's content, and of the
    Polars version that runs it."""
    digest = hashlib.sha256(FORMAT_VERSION.encode())
    for folder in _CODE:
        for path in sorted((_REPO / folder).rglob("*.py")):
            digest.update(str(path.relative_to(_REPO)).encode() + b"\0")
            digest.update(path.read_bytes())
    import polars

    digest.update(polars.__version__.encode())
    return digest.hexdigest()[:32]


def _place(request: ReportRequest, cache: DayCache) -> tuple[str, dict]:
    """Where the request's kept report lives, and the inputs it must have been built from:
    each day's listing fingerprint (listing is what tells a late file)."""
    from timecard.engine import needed_days
    from timecard.readers.base import decompressed_cap

    # The decompressed-size cap decides which files are refused, so it is a setting too.
    settings = {
        "request": _described(request),
        "code": code_version(),
        "cache": cache.base,
        "decompressed_cap": decompressed_cap(),
    }
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]
    session_days, _ = needed_days(request)
    # Listed at once: on S3 each day is a request or more, and 34 in a row add up.
    with ThreadPoolExecutor(max_workers=_LISTINGS_AT_ONCE) as pool:
        listed = list(pool.map(lambda day: cache.listing(day)[1], session_days))
    inputs = {day.isoformat(): listed[n] for n, day in enumerate(session_days)}
    # Beside the condensed parts: <cache root>/<condensed-vN>/<root id> is the DayCache's base.
    condensed_root, root_id = cache.base.rsplit("/", 1)
    url = storage.join(condensed_root.rsplit("/", 1)[0], FORMAT_VERSION, root_id, f"{key}.bin")
    return url, settings | {"inputs": inputs}


def _described(value) -> object:
    """A request as plain values, by meaning: every field (one added later too), instants in
    UTC, so one window built from a datetime's `UTC` or from `ZoneInfo("UTC")` (the command
    line's) is the same request."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: _described(getattr(value, field.name))
            for field in dataclasses.fields(value)
        }
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, list | tuple):
        return [_described(item) for item in value]
    return repr(value)


def load(request: ReportRequest, cache: DayCache) -> ReportResult | None:
    """The report kept for this request, its code and its inputs as listed now; None when there
    is none, or it was built from other inputs (or is unreadable: it is then rebuilt)."""
    url, identity = _place(request, cache)
    try:
        blob = storage.read_bytes(url)
    except FileNotFoundError:
        return None
    import polars as pl

    try:
        return _decoded(request, blob, identity)
    except (ValueError, KeyError, pl.exceptions.PolarsError):  # damaged: only a miss
        return None


def keep(request: ReportRequest, cache: DayCache, result: ReportResult) -> None:
    """Keep a validated report for reruns. A failure to write it fails nothing: the report
    stands, and the next run builds it again."""
    url, identity = _place(request, cache)
    frames = {name: _ipc(getattr(result, name)) for name in _FRAMES}
    header = identity | {
        "summary": result.summary.as_dict(),
        "frames": {name: len(data) for name, data in frames.items()},
    }
    encoded = json.dumps(header, sort_keys=True).encode()
    blob = b"".join(
        [len(encoded).to_bytes(_HEADER_LENGTH_BYTES, "little"), encoded, *frames.values()]
    )
    try:
        storage.write_bytes(url, blob)
    except storage.StorageError as error:
        print(f"timecard: warning: the rerun cache was not written ({error})", file=sys.stderr)


def _ipc(frame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="uncompressed")
    return buffer.getvalue()


def _decoded(request: ReportRequest, blob: bytes, identity: dict) -> ReportResult | None:
    import polars as pl

    from timecard.engine import ReportResult, RunSummary

    length = int.from_bytes(blob[:_HEADER_LENGTH_BYTES], "little")
    header = json.loads(blob[_HEADER_LENGTH_BYTES : _HEADER_LENGTH_BYTES + length])
    if {key: header.get(key) for key in identity} != identity:
        return None
    frames, position = {}, _HEADER_LENGTH_BYTES + length
    for name in _FRAMES:
        size = header["frames"][name]
        frames[name] = pl.read_ipc(io.BytesIO(blob[position : position + size]))
        position += size
    summary = RunSummary.from_dict(header["summary"])
    summary.parts_built_now = 0
    return ReportResult(
        request, frames["report"], frames["quarantine"], summary, frames["sessions"]
    )
