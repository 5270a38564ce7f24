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

    condensed-v4/<root id>/<YYYY-MM-DD>/<fingerprint>/<part>.parquet            the data
    condensed-v4/<root id>/<YYYY-MM-DD>/<fingerprint>/<part>-quarantine.parquet
    condensed-v4/<root id>/<YYYY-MM-DD>/<fingerprint>/<part>.json               written last

The fingerprint identifies the raw partition's content (files, sizes, ETags), so a late file
leads to a new folder and a rebuild. A part is trusted only once its `.json` exists, and that is
written after its data: a process killed mid-write leaves nothing a later run would trust. Two
processes building the same part write equivalent files with atomic writes, so neither can
corrupt the other.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import polars as pl

from schemas.columns import SOURCE_KEY
from schemas.contract import enforce
from schemas.events import NORMALIZED_EVENTS, SESSION_EVENT_ATTRIBUTES
from timecard import ingest, readers, storage
from timecard.errors import UnreadableInputError
from timecard.landing import Landing
from timecard.readers.base import RawRecords
from transforms import normalize, sessions

FORMAT_VERSION = "condensed-v4"  # v4: activity agents as categories
PARTS = ("sessions", "activity", "attributes")
# Raw files decompressed and parsed at once: Polars, gzip and Parquet decoding release the GIL.
READ_THREADS = os.cpu_count() or 2
# Raw bytes read in one plan: a day of a 1,000-agent roster is one batch, a larger roster's day a
# few, so reading a day never holds more raw data than this at once.
BATCH_BYTES = 128 * 2**20


@dataclass(frozen=True)
class Part:
    day: date
    name: str
    fingerprint: str
    counts: dict[str, int]
    folder: str
    built_now: bool = False

    def data(self) -> pl.DataFrame:
        return self._load(self.name)

    def quarantine(self) -> pl.DataFrame:
        return self._load(f"{self.name}-quarantine")

    def _load(self, stem: str) -> pl.DataFrame:
        return load([self], stem)


def load(parts: list[Part], stem: str = "", day_column: str | None = None) -> pl.DataFrame:
    """The frames `stem` (default: each part's data; "{name}" stands for the part's name) of
    several parts (at least one) as one frame, in no particular order; with `day_column`, each
    row carries its part's day. They are read in one scan: a report reads a part of each of
    30-odd days, and one plan per small file would cost more than the reading.

    A part this run has just built is read back too, not kept from building it: its frames
    would hold on to the buffers of the whole raw day they were cut from (Polars text columns
    share them), about 90 MB a day on a 5,000-agent roster.
    """
    urls = {
        storage.join(
            part.folder, f"{stem.format(name=part.name) if stem else part.name}.parquet"
        ): part.day
        for part in parts
    }
    scan = storage.scan_parquet(list(urls), include_file_paths="__part__")
    if day_column:
        day = pl.col("__part__").replace_strict(urls, return_dtype=pl.Date)
        scan = scan.with_columns(day.alias(day_column))
    return scan.drop("__part__").collect()


class DayCache:
    def __init__(self, source: str | Landing, cache_root: str):
        self.landing = ingest.as_landing(source)
        self.events_root = self.landing.root
        # The layout and the partition clock decide which files a day holds and which records
        # are quarantined, so they are part of the cache's identity.
        identity = self.events_root
        if self.landing.layout or self.landing.partition_time != "arrival":
            layout = self.landing.layout.template if self.landing.layout else "auto"
            identity += f"\t{layout}\t{self.landing.partition_time}"
        root_id = hashlib.sha256(identity.encode()).hexdigest()[:16]
        self.base = storage.join(cache_root, FORMAT_VERSION, root_id)
        # One listing per day and run: every part of a day is judged against the same files.
        self._listings: dict[date, tuple[list[storage.FileInfo], str]] = {}
        self.parts_built = 0  # by this object: what "condensed now" counts in a run summary
        self._lock = threading.Lock()  # days may be condensed on several threads

    def listing(self, day: date) -> tuple[list[storage.FileInfo], str]:
        if day not in self._listings:
            files = ingest.partition_files(self.landing, day)
            self._listings[day] = files, ingest.fingerprint(self.landing, files)
        return self._listings[day]

    def part(self, day: date, name: str) -> Part:
        """One condensed part of one raw partition, built only if it is missing or stale."""
        return self.parts(day, (name,))[name]

    def parts(self, day: date, names: tuple[str, ...]) -> dict[str, Part]:
        """Several parts of one raw partition; those missing are built from a single read."""
        files, fingerprint = self.listing(day)
        folder = storage.join(self.base, day.isoformat(), fingerprint)
        found = {name: self._stored(day, name, fingerprint, folder) for name in names}
        missing = tuple(name for name, part in found.items() if part is None)
        reads = RawReads(files, day, missing, self.landing.neighbour_days)
        for name in missing:
            frames, counts = BUILDERS[name](reads)
            for stem, frame in frames.items():
                storage.write_parquet(storage.join(folder, f"{stem}.parquet"), frame)
            record = {"format": FORMAT_VERSION, "day": day.isoformat(), "part": name}
            record |= {"fingerprint": fingerprint, "counts": counts}
            marker = storage.join(folder, f"{name}.json")
            storage.write_bytes(marker, json.dumps(record, indent=2, sort_keys=True).encode())
            found[name] = Part(day, name, fingerprint, counts, folder, built_now=True)
            with self._lock:
                self.parts_built += 1
        return found

    @staticmethod
    def _stored(day: date, name: str, fingerprint: str, folder: str) -> Part | None:
        try:
            counts = json.loads(storage.read_bytes(storage.join(folder, f"{name}.json")))["counts"]
        except FileNotFoundError:
            return None
        return Part(day, name, fingerprint, counts, folder)


# -- builders: raw partition files → frames and counts --------------------------------------------


class RawReads:
    """The reads of one raw partition that its builders share, each made at most once.

    Building several parts of a day together reads the files once: the core fields of every
    record and the attributes of the LOGIN/LOGOUT ones come from the same scans.
    """

    def __init__(
        self,
        files: list[storage.FileInfo],
        day: date,
        parts: tuple[str, ...],
        neighbour_days: int = 1,
    ):
        self.files, self.day, self.neighbour_days = files, day, neighbour_days
        self._frames: dict[str, pl.DataFrame] = {}
        # Each file's (format, shape), as its reader understood it.
        self.kinds: dict[str, tuple[str, str]] = {}
        wanted = ["all"] if "activity" in parts else ["candidates"] if "sessions" in parts else []
        if "attributes" in parts:
            wanted.append("attributes")
        self._collect(wanted)

    def checked(self, session_candidates_only: bool) -> pl.DataFrame:
        """Core fields and `reason` of every record, or of those that may bound a session;
        `source_file` and `agent_arn` are Categoricals (see `_as_categories`)."""
        if "all" in self._frames and session_candidates_only:
            checked = self._frames["all"]
            if checked.is_empty():
                return checked
            return checked.filter(
                ~pl.col("event_type").is_in(normalize.ACTIVITY_ONLY_EVENT_TYPES).fill_null(False)
            )
        key = "candidates" if session_candidates_only else "all"
        self._collect([key])
        return self._frames[key]

    def attributes(self) -> pl.DataFrame:
        self._collect(["attributes"])
        return self._frames["attributes"]

    def _collect(self, keys: list[str]) -> None:
        keys = [key for key in keys if key not in self._frames]
        if not keys:
            return
        if not self.files:
            empty = {"attributes": normalize.empty_attributes()}
            self._frames |= {key: empty.get(key, pl.DataFrame()) for key in keys}
            return
        # One read of each file serves every key. Files a reader can read together (a day of
        # Parquet objects) are read in one plan; the others one at a time on each core, each
        # reduced as it is read, so memory holds the reduced frames and only as many raw files
        # as there are cores.
        session_candidates_only = "all" not in keys
        read: list[list[pl.DataFrame]] = []
        with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
            one_by_one = self._read_batch(keys, session_candidates_only, read)
            per_file = list(
                pool.map(lambda file: self._read(file, keys, session_candidates_only), one_by_one)
            )
        for file, (kind, frames) in zip(one_by_one, per_file, strict=True):
            self.kinds[file.url] = kind
            read.append(frames)
        for index, key in enumerate(keys):
            self._frames[key] = pl.concat([frames[index] for frames in read])

    def _read_batch(
        self, keys: list[str], session_candidates_only: bool, read: list[list[pl.DataFrame]]
    ) -> list[storage.FileInfo]:
        """Read the day's files in batches, one plan each, when the first file's reader can (a
        day's files share one format); append the frames to `read` and return the files still
        to read one by one: those of a batch that could not be read, each then sniffed on its
        own. A batch holds up to BATCH_BYTES of raw files, so memory stays bounded on a large
        roster's day."""
        if len(self.files) < 2:
            return self.files
        reader = readers.reader_for(storage.read_head(self.files[0].url, readers.SNIFF_BYTES))
        one_by_one: list[storage.FileInfo] = []
        for files in _batches(self.files, BATCH_BYTES):
            urls = [file.url for file in files]
            batch = reader.read_batch(urls, session_candidates_only) if len(files) > 1 else None
            frames = batch and self._collect_batch(batch, keys, session_candidates_only)
            if frames is None:
                one_by_one += files
                continue
            read.append(frames)
            self.kinds |= dict.fromkeys(urls, (batch.format, batch.shape))
        return one_by_one

    def _collect_batch(
        self, batch: RawRecords, keys: list[str], session_candidates_only: bool
    ) -> list[pl.DataFrame] | None:
        """The frames for `keys` of several files read in one plan; None when the plan fails
        (a damaged file): the files are then read one by one, naming the file at fault."""
        records = batch.frame
        if session_candidates_only:
            records = normalize.may_bound_a_session(records)
        checked = _as_categories(
            normalize.with_reasons(normalize.flatten(records), self.day, self.neighbour_days)
        )
        attribute_records = (
            batch.frame if batch.attribute_records is None else batch.attribute_records
        )
        plans = [
            normalize.session_attributes(attribute_records) if key == "attributes" else checked
            for key in keys
        ]
        try:
            return pl.collect_all(plans)
        except Exception:  # noqa: BLE001 - read again file by file, which explains the failure
            return None

    def _read(
        self, file: storage.FileInfo, keys: list[str], session_candidates_only: bool
    ) -> tuple[tuple[str, str], list[pl.DataFrame]]:
        """One file's frames for `keys`, and its (format, shape)."""
        try:
            raw = ingest.read_file(file, self.day, session_candidates_only, self.neighbour_days)
            checked = _as_categories(raw.checked)
            plans = [raw.session_attributes if key == "attributes" else checked for key in keys]
            return (raw.format, raw.shape), pl.collect_all(plans)
        except UnreadableInputError:
            raise
        except Exception as error:
            raise ingest.unreadable(file.url, "could not be read", error) from None


def _as_categories(checked: pl.LazyFrame) -> pl.LazyFrame:
    # A day's file name and agents repeated on every record would take more memory than all the
    # other columns: held as categories until a builder narrows them down.
    return checked.with_columns(pl.col("source_file", "agent_arn").cast(pl.Categorical))


def _batches(files: list[storage.FileInfo], most_bytes: int) -> list[list[storage.FileInfo]]:
    """The files in order, cut into runs of at most `most_bytes` (a file larger than that is a
    run of its own)."""
    runs: list[list[storage.FileInfo]] = [[]]
    size = 0
    for file in files:
        if runs[-1] and size + file.size > most_bytes:
            runs.append([])
            size = 0
        runs[-1].append(file)
        size += file.size
    return runs


def _counted(reads: RawReads, session_candidates_only: bool):
    """Usable events, quarantined records, and the counts of both (records read per file
    format and per shape too, so an operator can see what was understood)."""
    checked = reads.checked(session_candidates_only)
    if checked.is_empty():
        return normalize.empty_events().lazy(), normalize.empty_quarantine(), _zero_counts()
    # Separate plans, not one collect_all: a shared subplan would be materialized whole. The
    # categories are text again only for the records a builder keeps (the activity part keeps
    # its agents as categories).
    records = checked.lazy()
    as_text = pl.col("source_file", "agent_arn").cast(pl.String)
    quarantine = normalize.quarantined(records).with_columns(as_text).collect()
    counts = sessions.partition_counts(normalize.usable_events(records)).collect()
    usable = normalize.usable_events(records).with_columns(pl.col("source_file").cast(pl.String))
    row = counts.row(0, named=True)
    return (
        usable,
        quarantine.sort(SOURCE_KEY),
        {
            "events": int(row["events"]),
            "duplicates": int(row["duplicates"]),
            "unknown_event_types": int(row["unknown_event_types"]),
            "quarantined": quarantine.height,
            **_records_by_kind(checked, reads.kinds),
        },
    )


def _records_by_kind(checked: pl.DataFrame, kinds: dict[str, tuple[str, str]]) -> dict:
    formats: dict[str, int] = {}
    shapes: dict[str, int] = {}
    for url, records in checked.group_by("source_file").len().iter_rows():
        fmt, shape = kinds[url]
        formats[fmt] = formats.get(fmt, 0) + records
        shapes[shape] = shapes.get(shape, 0) + records
    return {"formats": dict(sorted(formats.items())), "shapes": dict(sorted(shapes.items()))}


def _zero_counts() -> dict:
    return {
        "events": 0,
        "duplicates": 0,
        "unknown_event_types": 0,
        "quarantined": 0,
        "formats": {},
        "shapes": {},
    }


def build_sessions(reads: RawReads):
    usable, quarantine, counts = _counted(reads, session_candidates_only=True)
    events = sessions.session_events(usable).with_columns(
        pl.col("agent_arn").cast(pl.String), partition_day=pl.lit(reads.day)
    )
    events = sessions.deduplicate(events.collect())[0].drop("partition_day")
    events = enforce(
        NORMALIZED_EVENTS,
        events.sort("agent_arn", "event_ts", "event_id"),
        "condensed LOGIN/LOGOUT events",
    )
    counts |= {"files": len(reads.files), "session_events": events.height}
    return {"sessions": events, "sessions-quarantine": quarantine}, counts


def build_activity(reads: RawReads):
    usable, quarantine, counts = _counted(reads, session_candidates_only=False)
    # Agents as categories: a day of a large roster is millions of rows of a few thousand ARNs.
    activity = sessions.activity(usable).with_columns(pl.col("agent_arn").cast(pl.Categorical))
    activity = activity.collect()
    counts |= {"files": len(reads.files), "activity": activity.height}
    return {"activity": activity, "activity-quarantine": quarantine}, counts


def build_attributes(reads: RawReads):
    attributes = enforce(
        SESSION_EVENT_ATTRIBUTES,
        reads.attributes().sort(SOURCE_KEY),
        "condensed LOGIN/LOGOUT attributes",
    )
    return {"attributes": attributes}, {"files": len(reads.files), "attributes": attributes.height}


BUILDERS: dict[str, Callable] = {
    "sessions": build_sessions,
    "activity": build_activity,
    "attributes": build_attributes,
}
