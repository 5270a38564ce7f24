"""The published layout of reports, their typed manifest, and the one publish protocol.

Layout (the date is the local date of the window start):

    {output_root}/connect/{instance_alias}/Reports/{prefix}/date={YYYY-MM-DD}/
        {slug}-{date}_manifest.json          the commit point: names the revision's objects
        _{slug}-{date}.{attempt}.csv         the revision's data, immutable, named per attempt
        _{slug}-{date}.{attempt}.parquet     (typed sessions, the same rows)
        _{slug}-{date}.{attempt}.quarantine.jsonl  (only when records were quarantined)
        {slug}-{date}.csv / .parquet / _quarantine.jsonl   public copies of the committed revision

Why this mechanism. S3 has no rename and no multi-object transaction, so a set of files can
only be switched atomically through one object that names them. That object is the manifest:

1. The publisher writes the new revision's data under names no other revision uses (a fresh
   attempt id). Nothing a reader follows points at them yet, and the leading `_` hides them from
   warehouse engines that read a folder by globbing (Athena, Hive, Spark, Trino and DuckDB's
   `*.parquet` patterns skip `_`- and `.`-prefixed files).
2. It reads the current manifest with its version (S3 ETag; on local disk inode+mtime) and
   writes the new one with a conditional write (`If-Match: <etag>`, or `If-None-Match: *` for a
   first publish; on local disk the same check and an atomic rename under an fcntl lock). That
   single write is the commit point: before it every reader sees the old revision whole, after
   it the new one whole. A crash anywhere never retracts a published revision.
3. After the commit it copies the committed objects onto the fixed public names (for globbing
   readers and links), then removes the superseded revision's objects. A globbing reader sees
   exactly one whole revision of each report-day at every instant: the current one, or, between
   a commit and its copy (or after a crash there), the one before. The next publish or late-data
   check of the window repairs the copy.

Revisions form a chain: the new manifest's `revision` and `previous_sha256` are computed from
the manifest read in step 2, and the conditional write fails if that manifest changed
meanwhile; the publisher then reads it again and recomputes. So revision N+1 always names
revision N's CSV sha256, whatever crashed or raced before.

Concurrent publishers of one window (the scheduled run, the hourly check, `timecard republish`,
`timecard backfill`) are serialised: on local disk by an OS lock held for the whole publish
(released by the kernel when a holder dies), on S3 by the conditional write. Each manifest
records when its raw inputs were listed (`inputs_listed_at`) and their fingerprints: a publisher
whose build listed its inputs before the committed revision's did, with other fingerprints,
does not commit (its report is stale) and reports the committed revision instead. So the last
to commit is always built from inputs at least as new as the others'.

Leftovers of a killed run (staged reports under `_staging/`, revision objects no manifest
names) are invisible to readers; the next publish of the window removes them (on local disk at
once, as it holds the lock; on S3 once older than TIMECARD_ORPHAN_GRACE_MINUTES, since a
younger one may belong to a publish in progress).
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import posixpath
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Protocol

from timecard import storage
from timecard.errors import TimecardError
from timecard.limits import FORMATS
from timecard.settings import get_settings

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MANIFEST_SUFFIX = "_manifest.json"
QUARANTINE_SUFFIX = "_quarantine.jsonl"
QUARANTINE = "quarantine"
_EXTENSIONS = {"csv": "csv", "parquet": "parquet", QUARANTINE: "quarantine.jsonl"}
_COMMIT_ATTEMPTS = 20


# -- the layout -----------------------------------------------------------------------------------

# The ad hoc DAG's folder below Reports/: ad hoc outputs are addressed `adhoc/<id>/<date>`.
ADHOC_PREFIX = "adhoc"


class Placed(Protocol):
    """What places a report's outputs in storage: its slug and its delivery prefix."""

    @property
    def slug(self) -> str: ...

    @property
    def prefix(self) -> str | None: ...


def prefix_folder(prefix: str | None, output_root: str | None = None) -> str:
    """The delivery folder of a prefix (None: none), below which each date gets its partition."""
    settings = get_settings()
    root = output_root or settings.output_root
    parts = ["connect", settings.instance_alias, "Reports", *(prefix or "").split("/")]
    return storage.join(root, *[part for part in parts if part])


def day_urls(slug: str, prefix: str | None, local_date: str) -> dict[str, str]:
    """The public URL of each published file of a report-day, by kind."""
    folder = storage.join(prefix_folder(prefix), f"date={local_date}")
    stem = storage.join(folder, f"{slug}-{local_date}")
    return {
        "csv": f"{stem}.csv",
        "parquet": f"{stem}.parquet",
        "manifest": f"{stem}{MANIFEST_SUFFIX}",
        QUARANTINE: f"{stem}{QUARANTINE_SUFFIX}",
    }


def report_folder(spec: Placed, output_root: str | None = None) -> str:
    """The delivery folder of a report, below which each date gets its partition."""
    return prefix_folder(spec.prefix, output_root)


def date_folder(spec: Placed, local_date: str) -> str:
    return storage.join(report_folder(spec), f"date={local_date}")


def output_urls(spec: Placed, local_date: str) -> dict[str, str]:
    """The public URL of each published file of a report-day, by kind."""
    return day_urls(spec.slug, spec.prefix, local_date)


def adhoc_output_id(run_id: str) -> str:
    """The short id that addresses an ad hoc run's output: one per run, so a share link keeps
    showing what it showed first, whatever name later runs are given."""
    return hashlib.sha256(f"{ADHOC_PREFIX}/{run_id}".encode()).hexdigest()[:12]


def staging_folder(slug: str, local_date: str, run_id: str) -> str:
    """Where a run stages a report-day before publishing it: under `{output_root}/_staging/`,
    outside the `connect/` tree that warehouses load."""
    run_key = hashlib.sha256(run_id.encode()).hexdigest()[:16]
    return storage.join(_staging_root(slug, local_date), run_key)


def _staging_root(slug: str, local_date: str) -> str:
    return storage.join(get_settings().output_root, "_staging", slug, local_date)


def _object_prefix(spec: Placed, local_date: str) -> str:
    """The start of the name of every revision object of a report-day (hidden by its `_`)."""
    return f"_{spec.slug}-{local_date}."


def published_dates(spec: Placed, since: date) -> list[str]:
    """Local dates, from `since` on, that have a published manifest of this report."""
    dates = []
    for name, is_folder in storage.list_names(report_folder(spec)):
        if not (is_folder and name.startswith("date=")):
            continue
        try:
            local_date = date.fromisoformat(name.removeprefix("date="))
        except ValueError:
            continue  # not one of ours
        if local_date >= since and storage.exists(
            output_urls(spec, local_date.isoformat())["manifest"]
        ):
            dates.append(local_date.isoformat())
    return dates


def sha256s(files: Mapping[str, bytes]) -> dict[str, str]:
    """The sha256 of each data file, by format: what a manifest records of them."""
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def asset_name(slug: str) -> str:
    """The name of a report's Airflow Asset (`timecard.dag_tasks.report_asset`)."""
    return f"timecard_{slug}"


def asset_uri(slug: str) -> str:
    """The URI of a report's Airflow Asset: the report's slug, never a setting."""
    return f"x-timecard://reports/{slug}"


# -- the typed manifest ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DataFile:
    """One file of a revision: its digest, size and rows, and the object beside the manifest
    that holds it (None in a manifest written before revision objects: the public name)."""

    sha256: str
    bytes: int
    rows: int
    object: str | None = None

    # `builtins.bytes`: in this class body `bytes` names the size field above.
    @classmethod
    def of(cls, data: builtins.bytes, rows: int, object_name: str | None = None) -> DataFile:
        return cls(hashlib.sha256(data).hexdigest(), len(data), rows, object_name)

    def to_json(self) -> dict:
        out = {"sha256": self.sha256, "bytes": self.bytes, "rows": self.rows}
        return out | ({"object": self.object} if self.object else {})

    @classmethod
    def from_json(cls, data: Mapping) -> DataFile:
        return cls(data["sha256"], int(data["bytes"]), int(data["rows"]), data.get("object"))


@dataclass(frozen=True)
class Window:
    start_utc: str
    end_utc: str
    start_local: str
    end_local: str
    timezone: str

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: Mapping) -> Window:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ReportName:
    slug: str
    name: str


@dataclass(frozen=True)
class Requested:
    """Who asked for an ad hoc run, and when (ISO UTC)."""

    by: str | None
    at: str | None


@dataclass(frozen=True)
class Manifest:
    """What a published revision of a report-day is: the commit point of its publish."""

    report: ReportName
    window: Window
    filters: Mapping[str, tuple[str, ...]]
    lookback_days: int
    max_rows: int
    rows: int
    files: Mapping[str, DataFile]  # by format: "csv", "parquet"
    counts: Mapping[str, int] = field(default_factory=dict)
    event_cache_fingerprints: Mapping[str, str] = field(default_factory=dict)
    records_by_format: Mapping[str, int] = field(default_factory=dict)
    records_by_shape: Mapping[str, int] = field(default_factory=dict)
    empty_days: tuple[str, ...] = ()
    # None in a manifest written before filters were checked for matches.
    unmatched_filters: Mapping[str, Mapping[str, list[str]]] | None = None
    warnings: tuple[str, ...] = ()
    requested: Requested | None = None
    dag_id: str | None = None
    run_id: str | None = None
    quarantine_file: DataFile | None = None
    revision: int = 1
    previous_sha256: str | None = None
    previous_sha256s: Mapping[str, str] = field(default_factory=dict)
    completeness: str | None = None
    checked_at: str | None = None
    inputs_listed_at: str | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def quarantine(self) -> bool:
        return self.quarantine_file is not None

    def sha256s(self) -> dict[str, str]:
        return {name: self.files[name].sha256 for name in FORMATS if name in self.files}

    def first_sha256(self) -> str | None:
        """The CSV's sha256, else the Parquet file's: what the next revision names."""
        return next(iter(self.sha256s().values()), None)

    def objects(self) -> dict[str, str]:
        """The object name of each file of this revision, by kind (formats and quarantine)."""
        named = {name: file.object for name, file in self.files.items() if file.object}
        if self.quarantine_file and self.quarantine_file.object:
            named[QUARANTINE] = self.quarantine_file.object
        return named

    def to_json(self) -> dict:
        out: dict = {
            "schema_version": self.schema_version,
            "report": {"slug": self.report.slug, "name": self.report.name},
            "window": self.window.to_json(),
            "filters": {key: list(values) for key, values in self.filters.items()},
            "lookback_days": self.lookback_days,
            "max_rows": self.max_rows,
            "rows": self.rows,
            **{name: self.files[name].to_json() for name in FORMATS if name in self.files},
            "counts": dict(self.counts),
            "event_cache_fingerprints": dict(self.event_cache_fingerprints),
            "records_by_format": dict(self.records_by_format),
            "records_by_shape": dict(self.records_by_shape),
            "empty_days": list(self.empty_days),
            **(
                {"unmatched_filters": dict(self.unmatched_filters)}
                if self.unmatched_filters is not None
                else {}
            ),
            "warnings": list(self.warnings),
        }
        if self.requested is not None:
            out["requested"] = {"by": self.requested.by, "at": self.requested.at}
        optional = {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
        }
        out |= {key: value for key, value in optional.items() if value is not None}
        out["quarantine"] = self.quarantine
        if self.quarantine_file is not None:
            out["quarantine_file"] = self.quarantine_file.to_json()
        out["revision"] = self.revision
        if self.previous_sha256 is not None:
            out["previous_sha256"] = self.previous_sha256
        if self.previous_sha256s:
            out["previous_sha256s"] = dict(self.previous_sha256s)
        for key in ("completeness", "checked_at", "inputs_listed_at"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: Mapping) -> Manifest:
        requested = data.get("requested")
        quarantine_file = data.get("quarantine_file")
        return cls(
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
            report=ReportName(data["report"]["slug"], data["report"]["name"]),
            window=Window.from_json(data["window"]),
            filters={key: tuple(values) for key, values in data.get("filters", {}).items()},
            lookback_days=int(data.get("lookback_days", 0)),
            max_rows=int(data.get("max_rows", 0)),
            rows=int(data["rows"]),
            files={name: DataFile.from_json(data[name]) for name in FORMATS if name in data},
            counts=dict(data.get("counts", {})),
            event_cache_fingerprints=dict(data.get("event_cache_fingerprints", {})),
            records_by_format=dict(data.get("records_by_format", {})),
            records_by_shape=dict(data.get("records_by_shape", {})),
            empty_days=tuple(data.get("empty_days", ())),
            unmatched_filters=data.get("unmatched_filters"),
            warnings=tuple(data.get("warnings", ())),
            requested=Requested(requested.get("by"), requested.get("at")) if requested else None,
            dag_id=data.get("dag_id"),
            run_id=data.get("run_id"),
            quarantine_file=DataFile.from_json(quarantine_file) if quarantine_file else None,
            revision=int(data.get("revision", 1)),  # before revisions: 1
            previous_sha256=data.get("previous_sha256"),
            previous_sha256s=dict(data.get("previous_sha256s", {})),
            completeness=data.get("completeness"),
            checked_at=data.get("checked_at"),
            inputs_listed_at=data.get("inputs_listed_at"),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        return cls.from_json(json.loads(data))


def read_manifest(manifest_url: str) -> Manifest | None:
    found = storage.read_versioned(manifest_url)
    return None if found is None else Manifest.from_bytes(found[0])


def read_manifest_versioned(manifest_url: str) -> tuple[Manifest | None, str | None]:
    found = storage.read_versioned(manifest_url)
    if found is None:
        return None, None
    return Manifest.from_bytes(found[0]), found[1]


def commit(manifest_url: str, manifest: Manifest, version: str | None) -> str:
    """Write `manifest` only if the one at `manifest_url` is still at `version` (None: there is
    none yet): the commit point. Raises storage.WriteConflict if another publisher was first."""
    return storage.write_if(manifest_url, manifest.to_bytes(), version)


def file_url(manifest_url: str, manifest: Manifest, kind: str) -> str:
    """Where the committed bytes of one file of `manifest` are: its revision object, or, for a
    manifest from before revision objects, the public name."""
    objects = manifest.objects()
    if kind in objects:
        return storage.join(posixpath.dirname(manifest_url), objects[kind])
    stem = manifest_url.removesuffix(MANIFEST_SUFFIX)
    return stem + (QUARANTINE_SUFFIX if kind == QUARANTINE else f".{kind}")


def read_committed(manifest_url: str, manifest: Manifest, kind: str) -> bytes:
    return storage.read_bytes(file_url(manifest_url, manifest, kind))


# -- publishing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    """What one publish offers: the data by kind, and a function that makes the manifest from
    the currently committed one (None on a first publish), its object names and its revision."""

    data: Mapping[str, bytes]  # "csv", "parquet", "quarantine" (only when there is one)
    make_manifest: Callable[[Manifest | None, Mapping[str, DataFile], DataFile | None], Manifest]


@dataclass(frozen=True)
class Outcome:
    manifest: Manifest
    manifest_url: str
    # False when this publisher's build was older than the committed revision's: not committed.
    committed: bool = True


def publish(spec: Placed, local_date: str, offer: Revision, rows: int) -> Outcome:
    """Publish one revision of a report-day by the protocol in the module docstring."""
    urls = output_urls(spec, local_date)
    manifest_url = urls["manifest"]
    with storage.exclusive(manifest_url) as exclusive:
        attempt = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
        folder = date_folder(spec, local_date)
        written: dict[str, str] = {}
        for kind, data in offer.data.items():
            name = f"{_object_prefix(spec, local_date)}{attempt}.{_EXTENSIONS[kind]}"
            storage.write_bytes(storage.join(folder, name), data)
            written[kind] = name
        outcome, superseded = _commit_loop(manifest_url, offer, rows, written, folder)
        try:
            sync_public(spec, local_date)
            if outcome.committed:
                # Objects of the superseded revision: no manifest names them any more.
                for kind, name in (superseded or {}).items():
                    if outcome.manifest.objects().get(kind) != name:
                        storage.delete(storage.join(folder, name))
            collect_garbage(spec, local_date, exclusive)
        except (TimecardError, OSError) as error:
            # Committed: the report is published. The next publish or late-data check of the
            # window finishes the copies and the clean-up.
            log.warning(
                "published %s (revision %d), but its public copies or clean-up failed: %s",
                manifest_url,
                outcome.manifest.revision,
                error,
            )
    return outcome


def _commit_loop(manifest_url, offer: Revision, rows, written: dict[str, str], folder: str):
    mine = {
        kind: DataFile.of(data, rows, written[kind])
        for kind, data in offer.data.items()
        if kind != QUARANTINE
    }
    quarantine = (
        DataFile.of(offer.data[QUARANTINE], 0, written[QUARANTINE])
        if QUARANTINE in offer.data
        else None
    )
    if quarantine is not None:
        lines = offer.data[QUARANTINE].count(b"\n")
        quarantine = replace(quarantine, rows=lines)
    for _ in range(_COMMIT_ATTEMPTS):
        current, version = read_manifest_versioned(manifest_url)
        files, quarantine_file = dict(mine), quarantine
        if current is not None and current.sha256s() == {k: f.sha256 for k, f in mine.items()}:
            # The same report again: keep the committed objects, which hold these very bytes.
            files = {
                kind: replace(file, object=current.files[kind].object)
                for kind, file in mine.items()
            }
            kept_quarantine = current.quarantine_file
            if (
                kept_quarantine is not None
                and quarantine is not None
                and kept_quarantine.sha256 == quarantine.sha256
            ):
                quarantine_file = replace(quarantine, object=kept_quarantine.object)
        new = offer.make_manifest(current, files, quarantine_file)
        if current is not None and _stale(new, current):
            log.warning(
                "not publishing %s: revision %d was built from raw data listed at %s, after this "
                "run listed its own at %s; that newer revision stays published",
                manifest_url,
                current.revision,
                current.inputs_listed_at,
                new.inputs_listed_at,
            )
            for name in written.values():
                storage.delete(storage.join(folder, name))
            return Outcome(current, manifest_url, committed=False), None
        try:
            commit(manifest_url, new, version)
        except storage.WriteConflict:
            log.info("%s changed while publishing; reading it again", manifest_url)
            continue
        kept = new.objects()
        for kind, name in written.items():  # objects of ours the manifest did not take
            if kept.get(kind) != name:
                storage.delete(storage.join(folder, name))
        return Outcome(new, manifest_url), (current.objects() if current else None)
    raise storage.StorageError(
        f"Could not publish {manifest_url}: other publishers changed it {_COMMIT_ATTEMPTS} times "
        "in a row. Run again; the published revision is unchanged."
    )


def _stale(new: Manifest, current: Manifest) -> bool:
    """Whether `new` was built from inputs older than `current`'s (and different from them)."""
    if not (new.inputs_listed_at and current.inputs_listed_at):
        return False
    newer = datetime.fromisoformat(current.inputs_listed_at) > datetime.fromisoformat(
        new.inputs_listed_at
    )
    return newer and dict(current.event_cache_fingerprints) != dict(new.event_cache_fingerprints)


def next_revision(current: Manifest | None, sha256s: Mapping[str, str]) -> dict:
    """The revision fields of a manifest that follows `current` with files of `sha256s`."""
    if current is None:
        return {"revision": 1, "previous_sha256": None, "previous_sha256s": {}}
    if current.sha256s() == dict(sha256s):  # a byte-identical rerun keeps the revision
        return {
            "revision": current.revision,
            "previous_sha256": current.previous_sha256,
            "previous_sha256s": current.previous_sha256s,
        }
    return {
        "revision": current.revision + 1,
        "previous_sha256": current.first_sha256(),
        "previous_sha256s": current.sha256s(),
    }


def sync_public(spec: Placed, local_date: str) -> None:
    """Copy the committed revision onto the public names (for globbing readers and links),
    until the manifest no longer changes under the copy."""
    urls = output_urls(spec, local_date)
    for _ in range(_COMMIT_ATTEMPTS):
        manifest, version = read_manifest_versioned(urls["manifest"])
        if manifest is None:
            return
        try:
            for kind in (*FORMATS, QUARANTINE):
                present = kind in manifest.files or (kind == QUARANTINE and manifest.quarantine)
                if present:
                    source = file_url(urls["manifest"], manifest, kind)
                    if source != urls[kind]:
                        storage.copy(source, urls[kind])
                else:
                    storage.delete(urls[kind])  # a format turned off leaves no outdated file
        except FileNotFoundError:
            continue  # a newer publish removed this revision's objects: copy the newer one
        if storage.version(urls["manifest"]) == version:
            return


def tidy(spec: Placed, local_date: str) -> None:
    """Finish what a publish that committed may have left undone: the public copies and the
    removal of objects no manifest names (under the window's lock where there is one)."""
    with storage.exclusive(output_urls(spec, local_date)["manifest"]) as exclusive:
        sync_public(spec, local_date)
        collect_garbage(spec, local_date, exclusive)


def public_is_current(spec: Placed, local_date: str, manifest: Manifest) -> bool:
    """Whether the public copies hold the committed revision's bytes."""
    urls = output_urls(spec, local_date)
    for kind in FORMATS:
        try:
            data = storage.read_bytes(urls[kind])
        except FileNotFoundError:
            data = None
        expected = manifest.files.get(kind)
        actual = hashlib.sha256(data).hexdigest() if data is not None else None
        if actual != (expected.sha256 if expected else None):
            return False
    return True


def collect_garbage(spec: Placed, local_date: str, exclusive: bool) -> None:
    """Remove revision objects no manifest names, and this report's staged leftovers: all of
    them while holding the window's lock (local disk), else those older than the grace time."""
    grace = get_settings().orphan_grace_minutes * 60
    cutoff = time.time() - (0.0 if exclusive else grace)
    urls = output_urls(spec, local_date)
    manifest = read_manifest(urls["manifest"])
    named = set(manifest.objects().values()) if manifest else set()
    prefix = _object_prefix(spec, local_date)
    for name, is_folder in storage.list_names(date_folder(spec, local_date)):
        if is_folder or not name.startswith(prefix) or name in named:
            continue
        url = storage.join(date_folder(spec, local_date), name)
        found = storage.list_files(url)
        if found and all(file.modified <= cutoff for file in found):
            storage.delete(url)
    staging = _staging_root(spec.slug, local_date)
    # Staged reports are written before the lock is taken: only old ones are leftovers.
    for run_key, is_folder in storage.list_names(staging):
        if is_folder:
            url = storage.join(staging, run_key)
            if all(file.modified <= time.time() - grace for file in storage.list_files(url)):
                storage.delete(url)


# -- what a publish announces ----------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """What a publish returns and its Asset event carries: exactly what to load."""

    report_slug: str
    local_date: str
    manifest: str
    rows: int
    revision: int
    csv: str | None = None
    parquet: str | None = None

    @classmethod
    def of(cls, spec: Placed, local_date: str, manifest: Manifest) -> Published:
        """What the publish of `manifest` gives: the public URL of each of its data files."""
        urls = output_urls(spec, local_date)
        return cls(
            report_slug=spec.slug,
            local_date=local_date,
            manifest=urls["manifest"],
            rows=manifest.rows,
            revision=manifest.revision,
            **{name: urls[name] for name in FORMATS if name in manifest.files},
        )

    def as_extra(self) -> dict:
        out = {"manifest": self.manifest, "rows": self.rows, "revision": self.revision}
        out |= {name: getattr(self, name) for name in FORMATS if getattr(self, name)}
        return out | {"report_slug": self.report_slug, "local_date": self.local_date}

    @classmethod
    def from_extra(cls, extra: Mapping) -> Published:
        return cls(
            report_slug=extra["report_slug"],
            local_date=extra["local_date"],
            manifest=extra.get("manifest", ""),
            rows=int(extra.get("rows", 0)),
            revision=int(extra.get("revision", 1)),
            csv=extra.get("csv"),
            parquet=extra.get("parquet"),
        )

    def to_json(self) -> str:
        """As JSON text (an XCom): the Asset event's extra."""
        return json.dumps(self.as_extra(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Published:
        return cls.from_extra(json.loads(text))


def utc_text(moment: datetime | str) -> str:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
