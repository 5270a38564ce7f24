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

    condensed-v5/<root id>/<YYYY-MM-DD>/<fingerprint>/<part>.parquet            the data
    condensed-v5/<root id>/<YYYY-MM-DD>/<fingerprint>/<part>-quarantine.parquet
    condensed-v5/<root id>/<YYYY-MM-DD>/<fingerprint>/<part>.json               written last

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
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import polars as pl

from schemas.columns import SOURCE_KEY
from schemas.events import NORMALIZED_EVENTS, SESSION_EVENT_ATTRIBUTES
from timecard import ingest, readers, storage
from timecard.contracts import enforce
from timecard.errors import UnreadableInputError
from timecard.landing import Landing
from timecard.readers.base import RawRecords, decompressed_cap
from timecard.readers.parquet import PARQUET_MAGIC, ParquetReader, parquet_row_groups
from transforms import normalize, sessions
from transforms.normalize import KNOWN_EVENT_TYPES

FORMAT_VERSION = "condensed-v5"  # v5: core names given twice, unreadable snapshots quarantined
PARTS = ("sessions", "activity", "attributes")
# Raw files decompressed and parsed at once: Polars, gzip and Parquet decoding release the GIL.
READ_THREADS = os.cpu_count() or 2


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
    with storage.failures_explained("read", parts[0].folder):
        return scan.drop("__part__").collect()


def scan(parts: list[Part], stem: str = "") -> pl.LazyFrame:
    """`load`'s frames as one lazy scan, for a caller that keeps a small share of them (a
    filter and a join read only what they keep, in the streaming engine)."""
    urls = [
        storage.join(part.folder, f"{stem.format(name=part.name) if stem else part.name}.parquet")
        for part in parts
    ]
    return storage.scan_parquet(urls)


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

    def folder(self, day: date, fingerprint: str) -> str:
        """Where the parts of one content of a raw day live."""
        return storage.join(self.base, day.isoformat(), fingerprint)

    def part(self, day: date, name: str) -> Part:
        """One condensed part of one raw partition, built only if it is missing or stale."""
        return self.parts(day, (name,))[name]

    def parts(self, day: date, names: tuple[str, ...]) -> dict[str, Part]:
        """Several parts of one raw partition; those missing are built from a single read of
        the day, in runs (`plan_shards` → `condense_shard` each → `combine_shards`): the one
        code path the Airflow shard tasks take too, here in one process."""
        _, fingerprint = self.listing(day)
        stored = self.stored(day, names, fingerprint)
        found = {name: part for name, part in stored.items() if part is not None}
        missing = tuple(name for name in names if name not in found)
        if missing:
            found |= self._condensed(day, missing)
        return {name: found[name] for name in names}

    def _condensed(self, day: date, names: tuple[str, ...], attempts: int = 3) -> dict[str, Part]:
        """Condense `names` of the day in runs. Another process condensing the same day at once
        (two reports sharing the cache) may remove the run files this one is combining, once it
        has written the parts: those parts are then this day's. A run file read while the other
        process rewrites it is condensed again."""
        for attempt in range(1, attempts + 1):
            try:
                results = [condense_shard(self, shard, names) for shard in plan_shards(self, day)]
                return combine_shards(self, day, results)
            except (FileNotFoundError, pl.exceptions.ComputeError):
                _, fingerprint = self.listing(day)
                stored = self.stored(day, names, fingerprint)
                done = {name: part for name, part in stored.items() if part is not None}
                if len(done) == len(names):
                    return done
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def stored(self, day: date, names: tuple[str, ...], fingerprint: str) -> dict[str, Part | None]:
        """The parts already condensed for this content of the day (None: not yet)."""
        folder = self.folder(day, fingerprint)
        return {name: self._stored(day, name, fingerprint, folder) for name in names}

    @staticmethod
    def _stored(day: date, name: str, fingerprint: str, folder: str) -> Part | None:
        try:
            counts = json.loads(storage.read_bytes(storage.join(folder, f"{name}.json")))["counts"]
        except FileNotFoundError:
            return None
        return Part(day, name, fingerprint, counts, folder)

    def _built(self, count: int) -> None:
        with self._lock:
            self.parts_built += count


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
        run: tuple[tuple[int, int], int] | None = None,
    ):
        """`run`: (row groups [first, end), the file's row number of their first row, 0-based)
        of the one Parquet file in `files`: a run of a large file's row groups (see `Shard`)."""
        self.files, self.day, self.neighbour_days = files, day, neighbour_days
        self.run = run
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
        own. A batch holds up to a run's raw bytes (`run_bytes`): a run is usually one batch."""
        if len(self.files) < 2 or self.run is not None:
            return self.files
        reader = readers.reader_for(storage.read_head(self.files[0].url, readers.SNIFF_BYTES))
        one_by_one: list[storage.FileInfo] = []
        # Within the decompressed-size cap too: a smaller cap makes smaller batches. Each file of
        # a batch is decompressed under the cap on its own (`timecard.readers`).
        for files in _batches(self.files, run_bytes()):
            urls = [file.url for file in files]
            batch = reader.read_batch(urls, session_candidates_only) if len(files) > 1 else None
            frames = None
            if batch is not None:
                frames = self._collect_batch(batch, keys, session_candidates_only)
            if batch is None or frames is None:
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
            if self.run is None:
                raw = ingest.read_file(file, self.day, session_candidates_only, self.neighbour_days)
            else:
                raw = _read_rows(
                    file.url, self.run, self.day, session_candidates_only, self.neighbour_days
                )
            checked = _as_categories(raw.checked)
            plans = [raw.session_attributes if key == "attributes" else checked for key in keys]
            return (raw.format, raw.shape), pl.collect_all(plans)
        except (UnreadableInputError, storage.StorageError):
            raise
        except Exception as error:
            # The store failing (S3 answering 500, a reset, a denied read) is not the file's
            # fault: it is explained as such, without telling the user to move the file.
            if (failure := storage.store_failure("read", file.url, error)) is not None:
                raise failure from error
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


def _read_rows(
    url: str,
    run: tuple[tuple[int, int], int],
    day: date,
    session_candidates_only: bool,
    neighbour_days: int,
) -> ingest.RawFile:
    """`ingest.read_file` of some rows of one Parquet file (a run of its row groups); each
    record keeps its row number in the whole file."""
    raw = ParquetReader().read_rows(url, *run)
    records = normalize.may_bound_a_session(raw.frame) if session_candidates_only else raw.frame
    attribute_records = raw.frame if raw.attribute_records is None else raw.attribute_records
    return ingest.RawFile(
        normalize.with_reasons(normalize.flatten(records, url), day, neighbour_days),
        normalize.session_attributes(attribute_records, url),
        raw.format,
        raw.shape,
    )


# -- the memory budget ------------------------------------------------------------------------


def budget_bytes(budget_mb: int | None = None) -> int:
    """The memory a condense (and a report) may use, in bytes: `budget_mb`, or the setting
    TIMECARD_MEMORY_BUDGET_MB."""
    if budget_mb is None:
        from timecard.settings import get_settings

        budget_mb = get_settings().memory_budget_mb
    return budget_mb * 2**20


def run_bytes(budget_mb: int | None = None) -> int:
    """The most raw bytes (as stored) one run of a day's condense reads at once.

    Reading a run holds its raw records and their checked, flattened copy, several times the
    stored size of a compressed file (Parquet, gzip): a run is a sixteenth of the budget, with
    a floor of 4 MiB, and never more than one file may hold once decompressed."""
    return max(4 * 2**20, min(budget_bytes(budget_mb) // RUN_SHARE, decompressed_cap()))


# One run reads at most budget / RUN_SHARE raw bytes (see `run_bytes`).
RUN_SHARE = 16
# A Parquet file this share of a run or larger is planned by its row groups (a day compacted
# into one file): a run reads as many whole row groups as fit, never the whole file at once.
BIG_PARQUET_SHARE = 4


# -- shards: a day's condense in runs ---------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """One run of a raw day's condense: whole files, or some row groups of one Parquet file.

    A day is planned (`plan_shards`) into shards numbered 0..count-1; each is condensed on its
    own (`condense_shard`, possibly in another process or on another worker) into run files,
    and the runs are combined (`combine_shards`) into the day's parts. A shard names the
    content of the day it was planned from (`fingerprint`): its runs are stored in that
    content's folder, and combine into parts only with the other shards of the same plan.

    - `files`: the URLs of the raw files it reads, in the day's order (a shard of row groups:
      one file).
    - `row_groups`: None for whole files; else `[first, end)` of the file's row groups, and
      `rows` the same as (first row, number of rows), 0-based: each record keeps its row
      number in the whole file, as when the file is read whole.
    - `day_files`: how many files the whole day holds (the parts count them).
    """

    day: date
    fingerprint: str
    index: int
    count: int
    files: tuple[str, ...]
    row_groups: tuple[int, int] | None = None
    rows: tuple[int, int] | None = None
    day_files: int = 0

    @property
    def key(self) -> str:
        """Names this shard's run files: its content, the plan's size and the code that
        writes them (event-id hashes are Polars' own, stable only within one version)."""
        identity = json.dumps(
            [FORMAT_VERSION, RUN_VERSION, pl.__version__, self.to_json()], sort_keys=True
        )
        return hashlib.sha256(identity.encode()).hexdigest()[:16]

    def to_json(self) -> str:
        """The shard as JSON text (an Airflow XCom, a task argument)."""
        return json.dumps(
            {
                "day": self.day.isoformat(),
                "fingerprint": self.fingerprint,
                "index": self.index,
                "count": self.count,
                "files": list(self.files),
                "row_groups": list(self.row_groups) if self.row_groups else None,
                "rows": list(self.rows) if self.rows else None,
                "day_files": self.day_files,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Shard:
        value = json.loads(text)
        return cls(
            day=date.fromisoformat(value["day"]),
            fingerprint=value["fingerprint"],
            index=int(value["index"]),
            count=int(value["count"]),
            files=tuple(value["files"]),
            row_groups=tuple(value["row_groups"]) if value["row_groups"] else None,
            rows=tuple(value["rows"]) if value["rows"] else None,
            day_files=int(value["day_files"]),
        )


@dataclass(frozen=True)
class ShardResult:
    """What `condense_shard` wrote: the shard, the parts its runs serve, and their counts
    (by part: records read, usable events, ... of this run only)."""

    shard: Shard
    parts: tuple[str, ...]
    counts: dict[str, dict]

    def to_json(self) -> str:
        return json.dumps(
            {"shard": json.loads(self.shard.to_json()), "parts": list(self.parts)}
            | {"counts": self.counts},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> ShardResult:
        value = json.loads(text)
        shard = Shard.from_json(json.dumps(value["shard"]))
        return cls(shard, tuple(value["parts"]), value["counts"])


RUN_VERSION = 1  # the layout of the run files below


def plan_shards(cache: DayCache, day: date, budget_mb: int | None = None) -> tuple[Shard, ...]:
    """The shards of one raw day, as listed now (`cache.listing`), sized by the memory budget
    (`budget_mb`, default TIMECARD_MEMORY_BUDGET_MB): runs of whole files of at most
    `run_bytes(budget)` stored bytes, in the day's order; a Parquet file of a quarter of that
    or more is cut into runs of its row groups instead (a row group larger than a run is a run
    of its own). A day with no file is one shard with no file (its parts are empty).

    Planning reads the footers of the large Parquet files only, nothing else."""
    files, fingerprint = cache.listing(day)
    most = run_bytes(budget_mb)
    pieces: list[tuple[tuple[str, ...], tuple[int, int] | None, tuple[int, int] | None]] = []
    small: list[storage.FileInfo] = []

    def flush_small() -> None:
        pieces.extend((tuple(f.url for f in run), None, None) for run in _batches(small, most))
        small.clear()

    for file in files:
        groups = _row_group_runs(file, most) if file.size * BIG_PARQUET_SHARE >= most else None
        if groups is None:
            small.append(file)
            continue
        flush_small()
        pieces.extend(((file.url,), run_groups, run_rows) for run_groups, run_rows in groups)
    flush_small()
    pieces = [piece for piece in pieces if piece[0]] or [((), None, None)]
    return tuple(
        Shard(day, fingerprint, index, len(pieces), urls, groups, rows, len(files))
        for index, (urls, groups, rows) in enumerate(pieces)
    )


def _row_group_runs(
    file: storage.FileInfo, most: int
) -> list[tuple[tuple[int, int], tuple[int, int]]] | None:
    """A large Parquet file's runs of consecutive row groups, each of at most `most`
    compressed bytes (or one row group): [(row groups [first, end), (first row, rows))].
    None when the file is not Parquet (or its footer cannot be read: reading it whole names
    the fault). A single row group is a run too: read by rows, its snapshots are decoded only
    for the rows that may be a LOGIN or LOGOUT."""
    if storage.read_head(file.url, len(PARQUET_MAGIC)) != PARQUET_MAGIC:
        return None
    try:
        groups = parquet_row_groups(file.url)
    except Exception:  # noqa: BLE001 - a damaged footer: reading the file whole explains it
        return None
    if not groups:
        return None
    runs: list[tuple[tuple[int, int], tuple[int, int]]] = []
    first = first_row = size = rows = 0
    for index, (group_rows, group_bytes) in enumerate(groups):
        if index > first and size + group_bytes > most:
            runs.append(((first, index), (first_row, rows)))
            first, first_row, size, rows = index, first_row + rows, 0, 0
        size += group_bytes
        rows += group_rows
    runs.append(((first, len(groups)), (first_row, rows)))
    return runs


def _run_url(cache: DayCache, shard: Shard, stem: str) -> str:
    # Beside the parts, in the folder of the content the shard was planned from: a killed
    # run leaves no part marker, and the combine removes the runs once the parts are written.
    return storage.join(
        cache.folder(shard.day, shard.fingerprint), f"{RUN_PREFIX}{shard.key}-{stem}"
    )


RUN_PREFIX = "run-"


def condense_shard(cache: DayCache, shard: Shard, parts: tuple[str, ...]) -> ShardResult:
    """Read one shard's raw records and write what each of `parts` needs of them (its run
    files) beside the day's parts, each run part's `.json` marker last.

    Idempotent: a run part whose marker exists is not read again. Two processes condensing
    the same shard at once write equivalent files with atomic writes, so neither corrupts
    the other. Raises UnreadableInputError naming a raw file that cannot be read, as a
    one-task condense does."""
    unknown = [name for name in parts if name not in PARTS]
    if unknown:
        raise ValueError(f"unknown condensed part(s) {unknown}; the parts are {PARTS}")
    counts: dict[str, dict] = {}
    for name in parts:
        try:
            counts[name] = json.loads(storage.read_bytes(_run_url(cache, shard, f"{name}.json")))
        except FileNotFoundError:
            continue
    missing = tuple(name for name in parts if name not in counts)
    if missing:
        # A shard names its files by URL only: reading them needs neither size nor version.
        files = [storage.FileInfo(url, 0, "") for url in shard.files]
        run = (shard.row_groups, shard.rows[0]) if shard.row_groups and shard.rows else None
        reads = RawReads(files, shard.day, missing, cache.landing.neighbour_days, run)
        for name in missing:
            frames, run_counts = RUN_BUILDERS[name](reads)
            for stem, frame in frames.items():
                storage.write_parquet(_run_url(cache, shard, f"{stem}.parquet"), frame)
            marker = _run_url(cache, shard, f"{name}.json")
            storage.write_bytes(marker, json.dumps(run_counts, sort_keys=True).encode())
            counts[name] = run_counts
    return ShardResult(shard, tuple(parts), {name: counts[name] for name in parts})


def combine_shards(
    cache: DayCache, day: date, results: list[ShardResult] | tuple[ShardResult, ...]
) -> dict[str, Part]:
    """The day's parts from the runs of all its shards (every shard of one plan, in any
    order): byte for byte the parts a one-task condense writes, since a one-task condense is
    this. Each part is written, then its `.json` marker; then the run files are removed.

    Parts already written (by another process that combined the same day first) are
    returned as they are. Holds the day's LOGIN/LOGOUT records, quarantine and attributes
    (a small share of a day), never its activity or all its event ids at once."""
    shards = sorted((result.shard for result in results), key=lambda shard: shard.index)
    if not shards:
        raise ValueError(f"no shard results to combine for {day}")
    first = shards[0]
    if [s.index for s in shards] != list(range(first.count)) or any(
        (s.day, s.fingerprint, s.count) != (day, first.fingerprint, first.count) for s in shards
    ):
        raise ValueError(
            f"the shard results for {day} are not one whole plan: indexes "
            f"{[s.index for s in shards]} of {first.count}, fingerprints "
            f"{sorted({s.fingerprint for s in shards})}"
        )
    names = tuple(name for name in PARTS if all(name in r.parts for r in results))
    by_index = {result.shard.index: result for result in results}
    runs = [by_index[shard.index] for shard in shards]
    fingerprint, folder = first.fingerprint, cache.folder(day, first.fingerprint)
    found: dict[str, Part] = {}
    for name in names:
        stored = cache.stored(day, (name,), fingerprint)[name]
        if stored is not None:
            found[name] = stored
            continue
        try:
            frames, counts = COMBINERS[name](cache, runs)
        except FileNotFoundError:
            # Another process combined this day and removed the runs after writing its parts.
            stored = cache.stored(day, (name,), fingerprint)[name]
            if stored is None:
                raise
            found[name] = stored
            continue
        counts["files"] = first.day_files
        counts = {key: counts[key] for key in sorted(counts)}
        for stem, frame in frames.items():
            url = storage.join(folder, f"{stem}.parquet")
            if isinstance(frame, pl.LazyFrame):
                _sink_parquet(url, frame)
            else:
                storage.write_parquet(url, frame)
        record: dict[str, object] = {
            "format": FORMAT_VERSION,
            "day": day.isoformat(),
            "part": name,
        }
        record |= {"fingerprint": fingerprint, "counts": counts}
        marker = storage.join(folder, f"{name}.json")
        storage.write_bytes(marker, json.dumps(record, indent=2, sort_keys=True).encode())
        found[name] = Part(day, name, fingerprint, counts, folder, built_now=True)
        cache._built(1)
    for result in runs:
        for name in names:
            for file_name in (*(f"{stem}.parquet" for stem in RUN_STEMS[name]), f"{name}.json"):
                storage.delete(_run_url(cache, result.shard, file_name))
    return found


def _sink_parquet(url: str, frame: pl.LazyFrame) -> None:
    """Write a lazy frame as `storage.write_parquet` writes the same frame collected (the
    same bytes), streaming it: the whole frame is never held, only its Parquet file."""
    with tempfile.TemporaryDirectory(prefix="timecard-sink-") as folder:
        path = os.path.join(folder, "part.parquet")
        with storage.failures_explained("read", url):
            frame.sink_parquet(path, compression="zstd", statistics=True)
        with open(path, "rb") as handle:
            storage.write_bytes(url, handle.read())


# -- runs: one shard's records → what each part needs of them -----------------------------------
#
# A run part holds, of its shard's records: the part's own rows where they are few (LOGIN/LOGOUT
# events, attributes) or streamed whole (activity); the quarantined records; the usable events'
# ids with a 64-bit hash (duplicates are counted across runs on it, `_duplicates`); and counts.


def _run_counted(reads: RawReads, session_candidates_only: bool):
    """A run's usable events (lazy), its quarantine, its ids and its counts."""
    checked = reads.checked(session_candidates_only)
    if checked.is_empty():
        empty = normalize.empty_events()
        ids = empty.select(_ID_HASH, "event_id")
        counts = {"events": 0, "unknown_event_types": 0, "formats": {}, "shapes": {}}
        return empty.lazy(), normalize.empty_quarantine(), ids, counts
    records = checked.lazy()
    as_text = pl.col("source_file", "agent_arn").cast(pl.String)
    quarantine = normalize.quarantined(records).with_columns(as_text).collect()
    usable = normalize.usable_events(records)
    ids = usable.select(_ID_HASH, "event_id").collect()
    unknown = usable.select((~pl.col("event_type").is_in(KNOWN_EVENT_TYPES)).sum()).collect()
    counts = {"events": ids.height, "unknown_event_types": int(unknown.item())}
    counts |= _records_by_kind(checked, reads.kinds)
    usable = usable.with_columns(pl.col("source_file").cast(pl.String))
    return usable, quarantine, ids, counts


# The same hash `transforms.sessions.partition_counts` finds repeated ids on.
_ID_HASH = pl.col("event_id").hash().alias("hash")


def _records_by_kind(checked: pl.DataFrame, kinds: dict[str, tuple[str, str]]) -> dict:
    formats: dict[str, int] = {}
    shapes: dict[str, int] = {}
    for url, records in checked.group_by("source_file").len().iter_rows():
        fmt, shape = kinds[url]
        formats[fmt] = formats.get(fmt, 0) + records
        shapes[shape] = shapes.get(shape, 0) + records
    return {"formats": formats, "shapes": shapes}


def run_sessions(reads: RawReads):
    usable, quarantine, ids, counts = _run_counted(reads, session_candidates_only=True)
    events = sessions.session_events(usable).with_columns(pl.col("agent_arn").cast(pl.String))
    frames = {"sessions": events.collect(), "sessions-quarantine": quarantine}
    return frames | {"sessions-ids": ids}, counts


def run_activity(reads: RawReads):
    usable, quarantine, ids, counts = _run_counted(reads, session_candidates_only=False)
    # Agents as categories: a day of a large roster is millions of rows of a few thousand ARNs.
    activity = sessions.activity(usable).with_columns(pl.col("agent_arn").cast(pl.Categorical))
    frames = {"activity": activity.collect(), "activity-quarantine": quarantine}
    return frames | {"activity-ids": ids}, counts


def run_attributes(reads: RawReads):
    return {"attributes": reads.attributes()}, {}


RUN_BUILDERS: dict[str, Callable] = {
    "sessions": run_sessions,
    "activity": run_activity,
    "attributes": run_attributes,
}
RUN_STEMS = {
    "sessions": ("sessions", "sessions-quarantine", "sessions-ids"),
    "activity": ("activity", "activity-quarantine", "activity-ids"),
    "attributes": ("attributes",),
}


# -- combining runs → a day's parts ---------------------------------------------------------------


def _scan_runs(cache: DayCache, runs: list[ShardResult], stem: str) -> pl.LazyFrame:
    """The run files `stem` of every shard, in shard order, as one scan."""
    urls = [_run_url(cache, result.shard, f"{stem}.parquet") for result in runs]
    for url in urls:
        if not storage.exists(url):
            raise FileNotFoundError(url)
    return storage.scan_parquet(urls)


def _combined_counts(runs: list[ShardResult], name: str, quarantined: int) -> dict:
    counts = {"events": 0, "unknown_event_types": 0, "quarantined": quarantined}
    formats: dict[str, int] = {}
    shapes: dict[str, int] = {}
    for result in runs:
        run = result.counts[name]
        counts["events"] += run["events"]
        counts["unknown_event_types"] += run["unknown_event_types"]
        for total, by_kind in ((formats, run["formats"]), (shapes, run["shapes"])):
            for kind, records in by_kind.items():
                total[kind] = total.get(kind, 0) + records
    return counts | {
        "formats": dict(sorted(formats.items())),
        "shapes": dict(sorted(shapes.items())),
    }


def _duplicates(ids: pl.LazyFrame, rows: int) -> int:
    """Extra copies of an EventId among `rows` ids (`hash`, `event_id`) of a day's runs,
    exactly as `sessions.partition_counts` counts them over a whole day: rows whose hash
    repeats, less the distinct ids among them. The hashes are taken bucket by bucket (all
    copies of an id share a hash, so a bucket), as many buckets as keep one within an eighth
    of the memory budget, and repeats are found by sorting a bucket's hashes (a hash table
    costs several times more per id); the text of an id is read only where its hash repeats."""
    buckets = max(1, -(-rows * _BYTES_PER_HASH // (budget_bytes() // 8)))
    duplicates = 0
    for bucket in range(buckets):
        hashes = ids.select("hash")
        if buckets > 1:
            hashes = hashes.filter(pl.col("hash") % buckets == bucket)
        ordered = hashes.collect(engine="streaming").to_series().sort()
        if ordered.len() < 2:
            continue
        # A run of k equal hashes gives k - 1 equal neighbours: its rows are those plus one.
        after = ordered.slice(1)
        repeats = after.filter(after == ordered.slice(0, ordered.len() - 1))
        del ordered, after
        if repeats.is_empty():
            continue
        repeated = repeats.unique()
        rows_repeating = repeats.len() + repeated.len()
        texts = ids.filter(pl.col("hash").is_in(repeated.implode()))
        distinct = texts.select(pl.col("event_id").n_unique()).collect(engine="streaming")
        duplicates += rows_repeating - int(distinct.item())
    return duplicates


# What finding repeated hashes costs per id: the hash as read, and its sorted copy (and slack).
_BYTES_PER_HASH = 24


def combine_sessions(cache: DayCache, runs: list[ShardResult]):
    quarantine = _scan_runs(cache, runs, "sessions-quarantine").collect().sort(SOURCE_KEY)
    counts = _combined_counts(runs, "sessions", quarantine.height)
    counts["duplicates"] = _duplicates(_scan_runs(cache, runs, "sessions-ids"), counts["events"])
    events = _scan_runs(cache, runs, "sessions").collect()
    kept, _ = sessions.deduplicate(events.with_columns(partition_day=pl.lit(runs[0].shard.day)))
    events = enforce(
        NORMALIZED_EVENTS,
        kept.drop("partition_day").sort("agent_arn", "event_ts", "event_id"),
        "condensed LOGIN/LOGOUT events",
    )
    counts["session_events"] = events.height
    return {"sessions": events, "sessions-quarantine": quarantine}, counts


def combine_activity(cache: DayCache, runs: list[ShardResult]):
    quarantine = _scan_runs(cache, runs, "activity-quarantine").collect().sort(SOURCE_KEY)
    counts = _combined_counts(runs, "activity", quarantine.height)
    counts["duplicates"] = _duplicates(_scan_runs(cache, runs, "activity-ids"), counts["events"])
    counts["activity"] = counts["events"]
    activity = _scan_runs(cache, runs, "activity")
    return {"activity": activity, "activity-quarantine": quarantine}, counts


def combine_attributes(cache: DayCache, runs: list[ShardResult]):
    attributes = enforce(
        SESSION_EVENT_ATTRIBUTES,
        _scan_runs(cache, runs, "attributes").collect().sort(SOURCE_KEY),
        "condensed LOGIN/LOGOUT attributes",
    )
    return {"attributes": attributes}, {"attributes": attributes.height}


COMBINERS: dict[str, Callable] = {
    "sessions": combine_sessions,
    "activity": combine_activity,
    "attributes": combine_attributes,
}
