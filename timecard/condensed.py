"""The condensed per-day event cache: each raw partition is read once per need, then reused.

HEART_BEAT and STATE_CHANGE outnumber LOGIN and LOGOUT by two or three orders of magnitude, and
decoding the nested `Configuration` of every record costs more than everything else a report
does. So a raw UTC-day partition is condensed into three parts, each built only when a report
first needs it:

- `sessions`: the LOGIN/LOGOUT events (core fields), for every day of the window and lookback.
  Built from the records that could bound a session: all but known HEART_BEAT/STATE_CHANGE.
- `activity`: (agent, instant) of every usable event, for Last activity. Only the days around
  the report window need it.
- `attributes`: names, routing profile and hierarchy of each LOGIN/LOGOUT event. Only the days
  holding the LOGIN (or LOGOUT) of a session in the report need it.

`sessions` and `activity` also keep the records they rejected (quarantine) and their counts.

Layout under the cache root (local or S3, through `timecard.storage`):

    condensed-v2/<root id>/<YYYY-MM-DD>/<fingerprint>/<part>.parquet            the data
    condensed-v2/<root id>/<YYYY-MM-DD>/<fingerprint>/<part>-quarantine.parquet
    condensed-v2/<root id>/<YYYY-MM-DD>/<fingerprint>/<part>.json               written last

The fingerprint identifies the raw partition's content (files, sizes, ETags), so a late file
leads to a new folder and a rebuild. A part is trusted only once its `.json` exists, and that is
written after its data: a process killed mid-write leaves nothing a later run would trust. Two
processes building the same part write equivalent files with atomic writes, so neither can
corrupt the other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from schemas.contract import enforce
from schemas.events import NORMALIZED_EVENTS, SESSION_EVENT_ATTRIBUTES
from timecard import ingest, storage
from timecard.errors import UnreadableInputError
from transforms import normalize, sessions

FORMAT_VERSION = "condensed-v2"
PARTS = ("sessions", "activity", "attributes")


@dataclass(frozen=True)
class Part:
    day: date
    name: str
    fingerprint: str
    counts: dict[str, int]
    folder: str
    # Frames already in memory when this run built the part; read from storage otherwise.
    frames: dict[str, pl.DataFrame] = field(default_factory=dict, compare=False, repr=False)
    built_now: bool = False

    def data(self) -> pl.DataFrame:
        return self._load(self.name)

    def quarantine(self) -> pl.DataFrame:
        return self._load(f"{self.name}-quarantine")

    def _load(self, stem: str) -> pl.DataFrame:
        if stem in self.frames:
            return self.frames[stem]
        return storage.read_parquet(storage.join(self.folder, f"{stem}.parquet"))


class DayCache:
    def __init__(self, events_root: str, cache_root: str):
        self.events_root = storage.normalize(events_root)
        root_id = hashlib.sha256(self.events_root.encode()).hexdigest()[:16]
        self.base = storage.join(cache_root, FORMAT_VERSION, root_id)
        # One listing per day and run: every part of a day is judged against the same files.
        self._listings: dict[date, tuple[list[storage.FileInfo], str]] = {}

    def listing(self, day: date) -> tuple[list[storage.FileInfo], str]:
        if day not in self._listings:
            files = ingest.partition_files(self.events_root, day)
            self._listings[day] = files, ingest.fingerprint(self.events_root, files)
        return self._listings[day]

    def part(self, day: date, name: str) -> Part:
        """One condensed part of one raw partition, built only if it is missing or stale."""
        files, fingerprint = self.listing(day)
        folder = storage.join(self.base, day.isoformat(), fingerprint)
        marker = storage.join(folder, f"{name}.json")
        try:
            counts = json.loads(storage.read_bytes(marker))["counts"]
            return Part(day, name, fingerprint, counts, folder)
        except FileNotFoundError:
            pass
        frames, counts = BUILDERS[name](files, day)
        for stem, frame in frames.items():
            storage.write_parquet(storage.join(folder, f"{stem}.parquet"), frame)
        record = {"format": FORMAT_VERSION, "day": day.isoformat(), "part": name}
        record |= {"fingerprint": fingerprint, "counts": counts}
        storage.write_bytes(marker, json.dumps(record, indent=2, sort_keys=True).encode())
        return Part(day, name, fingerprint, counts, folder, frames, built_now=True)


# -- builders: raw partition files → frames and counts --------------------------------------------


def _checked_records(
    files: list[storage.FileInfo], day: date, session_candidates_only: bool
) -> pl.DataFrame:
    """Core fields and `reason` of the partition's records (all, or those that may bound a
    session), read in one pass over the files."""
    plans = [ingest.read_file(file, day, session_candidates_only).checked for file in files]
    return _collect(files, day, plans)


def _collect(files, day, plans: list[pl.LazyFrame]) -> pl.DataFrame:
    if not plans:
        return pl.DataFrame()
    try:
        return pl.concat(plans, how="vertical").collect()
    except UnreadableInputError:
        raise
    except Exception as error:
        raise _find_unreadable(files, day, error) from None


def _counted(checked: pl.DataFrame) -> tuple[pl.LazyFrame, pl.DataFrame, dict[str, int]]:
    """Usable events, quarantined records, and the counts of both."""
    if checked.is_empty():
        return normalize.empty_events().lazy(), normalize.empty_quarantine(), _zero_counts()
    usable = normalize.usable_events(checked.lazy())
    quarantine, counts = pl.collect_all(
        [normalize.quarantined(checked.lazy()), sessions.partition_counts(usable)]
    )
    row = counts.row(0, named=True)
    return (
        usable,
        quarantine.sort(normalize.SOURCE_KEY),
        {
            "events": int(row["events"]),
            "duplicates": int(row["duplicates"]),
            "unknown_event_types": int(row["unknown_event_types"]),
            "quarantined": quarantine.height,
        },
    )


def _zero_counts() -> dict[str, int]:
    return {"events": 0, "duplicates": 0, "unknown_event_types": 0, "quarantined": 0}


def build_sessions(files: list[storage.FileInfo], day: date):
    usable, quarantine, counts = _counted(_checked_records(files, day, True))
    events = sessions.session_events(usable).with_columns(partition_day=pl.lit(day)).collect()
    events = sessions.deduplicate(events)[0].drop("partition_day")
    events = enforce(
        NORMALIZED_EVENTS,
        events.sort("agent_arn", "event_ts", "event_id"),
        "condensed LOGIN/LOGOUT events",
    )
    counts |= {"files": len(files), "session_events": events.height}
    return {"sessions": events, "sessions-quarantine": quarantine}, counts


def build_activity(files: list[storage.FileInfo], day: date):
    usable, quarantine, counts = _counted(_checked_records(files, day, False))
    activity = sessions.activity(usable).collect()
    counts |= {"files": len(files), "activity": activity.height}
    return {"activity": activity, "activity-quarantine": quarantine}, counts


def build_attributes(files: list[storage.FileInfo], day: date):
    plans = [ingest.read_file(file, day).session_attributes for file in files]
    attributes = _collect(files, day, plans) if plans else normalize.empty_attributes()
    attributes = enforce(
        SESSION_EVENT_ATTRIBUTES,
        attributes.sort(normalize.SOURCE_KEY),
        "condensed LOGIN/LOGOUT attributes",
    )
    return {"attributes": attributes}, {"files": len(files), "attributes": attributes.height}


BUILDERS: dict[str, Callable] = {
    "sessions": build_sessions,
    "activity": build_activity,
    "attributes": build_attributes,
}


def _find_unreadable(files, day, error: Exception) -> Exception:
    """Reading the partition failed somewhere: name the file, by reading each one alone."""
    for file in files:
        try:
            pl.collect_all(ingest.read_file(file, day))
        except UnreadableInputError as unreadable:
            return unreadable
        except Exception as file_error:
            return ingest.unreadable(file.url, "could not be read", file_error)
    return error
