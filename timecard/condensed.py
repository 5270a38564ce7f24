"""The condensed per-day event cache: each raw partition is scanned once, then reused.

HEART_BEAT and STATE_CHANGE outnumber LOGIN and LOGOUT about 1000 to 1, yet a report needs from
them only *when* each agent was active. Condensing one raw UTC-day partition keeps:
- `session_events`: the LOGIN/LOGOUT events with their attributes (tiny);
- `activity`: distinct (agent, instant) pairs of every event type, for Last activity;
- `quarantine`: the records that could not be used, with their reason, file and row;
- counts for the run summary.

Layout under the cache root (local or S3, through `timecard.storage`):

    condensed-v1/<root id>/<YYYY-MM-DD>/<fingerprint>/{session_events,activity,quarantine}.parquet
    condensed-v1/<root id>/<YYYY-MM-DD>/_entry.json

Data files of one fingerprint are immutable and written first; `_entry.json` is written last and
names the fingerprint. A process killed mid-write leaves no entry that points at incomplete data,
and two processes condensing the same day write identical files, so neither can corrupt the other.
An entry is trusted only if its fingerprint equals the partition's current one: a late file
changes the fingerprint and so triggers a rebuild.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from schemas.contract import enforce
from schemas.events import NORMALIZED_EVENTS
from timecard import ingest, storage
from timecard.errors import UnreadableInputError
from transforms import normalize, sessions

FORMAT_VERSION = "condensed-v1"
PARTS = ("session_events", "activity", "quarantine")


@dataclass(frozen=True)
class DayEntry:
    day: date
    fingerprint: str
    counts: dict[str, int]
    folder: str
    # Frames already in memory when this run built the entry; read from storage otherwise.
    frames: dict[str, pl.DataFrame] = field(default_factory=dict, compare=False, repr=False)
    built_now: bool = False

    def load(self, part: str) -> pl.DataFrame:
        if part in self.frames:
            return self.frames[part]
        return storage.read_parquet(storage.join(self.folder, f"{part}.parquet"))


class DayCache:
    def __init__(self, events_root: str, cache_root: str):
        self.events_root = storage.normalize(events_root)
        root_id = hashlib.sha256(self.events_root.encode()).hexdigest()[:16]
        self.base = storage.join(cache_root, FORMAT_VERSION, root_id)

    def entry(self, day: date) -> DayEntry:
        """The condensed data of one raw partition, rebuilt only when the partition changed."""
        files = ingest.partition_files(self.events_root, day)
        fingerprint = ingest.fingerprint(self.events_root, files)
        day_folder = storage.join(self.base, day.isoformat())
        entry_url = storage.join(day_folder, "_entry.json")
        if storage.exists(entry_url):
            recorded = json.loads(storage.read_bytes(entry_url))
            if recorded.get("fingerprint") == fingerprint:
                return DayEntry(
                    day, fingerprint, recorded["counts"], storage.join(day_folder, fingerprint)
                )
        return self._build(day, files, fingerprint, day_folder, entry_url)

    def _build(self, day, files, fingerprint, day_folder, entry_url) -> DayEntry:
        frames, counts = condense_partition(files, day)
        folder = storage.join(day_folder, fingerprint)
        for part in PARTS:
            storage.write_parquet(storage.join(folder, f"{part}.parquet"), frames[part])
        record = {"format": FORMAT_VERSION, "day": day.isoformat(), "fingerprint": fingerprint}
        record["counts"] = counts
        storage.write_bytes(entry_url, json.dumps(record, indent=2, sort_keys=True).encode())
        return DayEntry(day, fingerprint, counts, folder, frames, built_now=True)


def condense_partition(
    files: list[storage.FileInfo], day: date
) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
    """Scan one raw partition's files once and keep only what reports need."""
    if not files:
        frames = {
            "session_events": normalize.empty_normalized(),
            "activity": normalize.empty_normalized().select("agent_arn", "event_ts"),
            "quarantine": normalize.empty_quarantine(),
        }
        return frames, _counts(frames, events=0, duplicates=0, unknown=0, files=0)
    checked = pl.concat([ingest.read_file(file, day) for file in files], how="vertical")
    usable = normalize.usable_events(checked)
    plans = [
        sessions.session_events(usable),
        sessions.activity(usable),
        normalize.quarantined(checked),
        sessions.partition_counts(usable),
    ]
    try:
        session_events, activity, quarantine, counts = pl.collect_all(plans)
    except UnreadableInputError:
        raise
    except Exception as error:
        raise _find_unreadable(files, day, error) from None
    session_events, _ = sessions.deduplicate(session_events)
    frames = {
        "session_events": enforce(
            NORMALIZED_EVENTS,
            session_events.sort("agent_arn", "event_ts", "event_id"),
            "condensed LOGIN/LOGOUT events",
        ),
        "activity": activity.sort("agent_arn", "event_ts"),
        "quarantine": quarantine.sort("source_file", "source_row"),
    }
    row = counts.row(0, named=True)
    return frames, _counts(
        frames,
        events=row["events"],
        duplicates=row["duplicates"],
        unknown=row["unknown_event_types"],
        files=len(files),
    )


def _counts(frames, *, events, duplicates, unknown, files) -> dict[str, int]:
    return {
        "files": files,
        "events": int(events),
        "duplicates": int(duplicates),
        "unknown_event_types": int(unknown),
        "quarantined": frames["quarantine"].height,
        "session_events": frames["session_events"].height,
        "activity": frames["activity"].height,
    }


def _find_unreadable(files, day, error: Exception) -> Exception:
    """Reading the partition failed somewhere: name the file, by reading each one alone."""
    for file in files:
        try:
            ingest.read_file(file, day).collect()
        except UnreadableInputError as unreadable:
            return unreadable
        except Exception as file_error:
            return ingest.unreadable(file.url, "could not be read", file_error)
    return error
