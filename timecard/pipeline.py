"""The steps of a scheduled or ad hoc report run, as plain functions the Airflow tasks call.

Each step is idempotent and passes only small JSON values on (through XCom):
plan → condense one UTC day (mapped) → build (stage the report) → validate → publish.

Published layout, for warehouses (the date is the local date of the window start):

    {output_root}/connect/{instance_alias}/Reports/{prefix}/date={YYYY-MM-DD}/{slug}-{YYYY-MM-DD}.csv
    ... next to it: {slug}-{YYYY-MM-DD}.parquet          (typed sessions, the same rows)
                    {slug}-{YYYY-MM-DD}_manifest.json   (written after the data files)
                    {slug}-{YYYY-MM-DD}_quarantine.jsonl (only when records were quarantined)

The manifest is named after its CSV, not `_manifest.json` alone, because several reports (and
every ad hoc report) can share one date folder. Staged reports wait under
`{output_root}/_staging/`, outside the `connect/` tree that warehouses load, and are removed once
published.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from timecard import storage
from timecard.settings import get_settings

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1
FORMATS = ("csv", "parquet")
MANIFEST_SUFFIX = "_manifest.json"
QUARANTINE_SUFFIX = "_quarantine.jsonl"


@dataclass(frozen=True)
class ReportSpec:
    """What a run needs to know about its report, as plain values (safe to pass through XCom)."""

    slug: str
    name: str
    timezone: str
    agents: tuple[str, ...] = ()
    routing_profiles: tuple[str, ...] = ()
    hierarchies: tuple[str, ...] = ()
    prefix: str | None = None
    max_rows: int = 10_000
    lookback_days: int = 31
    formats: tuple[str, ...] = FORMATS
    layout: str | None = None  # None: the environment's default
    partition_time: str | None = None
    # Who asked for an ad hoc run, and when (ISO UTC): the ad hoc list shows them.
    requested_by: str | None = None
    requested_at: str | None = None

    @classmethod
    def from_definition(cls, definition) -> ReportSpec:
        return cls(
            slug=definition.slug,
            name=definition.name,
            timezone=definition.timezone,
            agents=definition.agents,
            routing_profiles=definition.routing_profiles,
            hierarchies=definition.hierarchies,
            prefix=definition.prefix,
            max_rows=definition.max_rows,
            lookback_days=definition.lookback_days,
            formats=definition.formats,
            layout=definition.layout,
            partition_time=definition.partition_time,
        )

    def filters(self):
        from transforms.filters import Filters

        return Filters(self.agents, self.routing_profiles, self.hierarchies)


def report_folder(spec: ReportSpec, output_root: str | None = None) -> str:
    """The delivery folder of a report, below which each date gets its partition."""
    settings = get_settings()
    root = output_root or settings.output_root
    parts = ["connect", settings.instance_alias, "Reports", *(spec.prefix or "").split("/")]
    return storage.join(root, *[part for part in parts if part])


def output_urls(spec: ReportSpec, local_date: str) -> dict[str, str]:
    folder = storage.join(report_folder(spec), f"date={local_date}")
    stem = storage.join(folder, f"{spec.slug}-{local_date}")
    return {
        "csv": f"{stem}.csv",
        "parquet": f"{stem}.parquet",
        "manifest": f"{stem}{MANIFEST_SUFFIX}",
        "quarantine": f"{stem}{QUARANTINE_SUFFIX}",
    }


# -- 1. plan ------------------------------------------------------------------------------------


def plan(spec: ReportSpec, start: datetime, end: datetime) -> dict:
    """The window as exact instants, and the raw UTC days whose condensation it needs."""
    from timecard import engine
    from timecard.timerange import checked_range

    window = checked_range(start, end, spec.timezone)
    request = _request(spec, window)
    session_days, activity_days = engine.needed_days(request)
    return {
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "local_start": window.local_start.isoformat(),
        "local_end": window.local_end.isoformat(),
        "timezone": spec.timezone,
        "local_date": window.local_start.date().isoformat(),
        "days": [
            {"day": day.isoformat(), "with_activity": day in activity_days} for day in session_days
        ],
    }


def _request(spec: ReportSpec, window):
    from timecard import engine

    return engine.ReportRequest(
        get_settings().events_root,
        window,
        filters=spec.filters(),
        lookback_days=spec.lookback_days,
        max_rows=spec.max_rows,
        **_landing_settings(spec),
    )


def _landing_settings(spec: ReportSpec) -> dict:
    """The report's own layout and partition clock, else the environment's."""
    settings = get_settings()
    return {
        "layout": spec.layout or settings.events_layout,
        "partition_time": spec.partition_time or settings.partition_time,
    }


def _planned_window(spec: ReportSpec, window_plan: dict):
    from timecard.timerange import TimeRange

    start, end = window_plan["start"], window_plan["end"]
    return TimeRange(datetime.fromisoformat(start), datetime.fromisoformat(end), spec.timezone)


ADHOC_PREFIX = "adhoc"


def adhoc_output_id(run_id: str) -> str:
    """The short id that addresses an ad hoc run's output: one per run, so a share link keeps
    showing what it showed first, whatever name later runs are given."""
    return hashlib.sha256(f"{ADHOC_PREFIX}/{run_id}".encode()).hexdigest()[:12]


def adhoc_spec_and_window(
    params: dict, now: datetime, run_id: str = "", requested_by: str | None = None
):
    """An ad hoc report's settings and window from the trigger form's parameters, for the run
    `run_id` that `requested_by` triggered at `now`."""
    from timecard import timerange
    from timecard.errors import UsageError

    tz = params.get("timezone") or "UTC"
    if params.get("preset", "custom") == "custom":
        if not (params.get("start") and params.get("end")):
            raise UsageError("A custom range needs both a start and an end.")
        window = timerange.custom_range(params["start"], params["end"], tz)
    else:
        window = timerange.preset_range(params["preset"], tz, now)
    spec = ReportSpec(
        slug=adhoc_output_id(run_id),
        name=(params.get("name") or "").strip() or "Ad hoc report",
        timezone=tz,
        agents=tuple(params.get("agents") or ()),
        routing_profiles=tuple(params.get("routing_profiles") or ()),
        hierarchies=tuple(params.get("hierarchies") or ()),
        prefix=ADHOC_PREFIX,
        max_rows=int(params.get("max_rows") or 10_000),
        lookback_days=int(params.get("lookback_days") or 31),
        requested_by=requested_by,
        requested_at=now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    )
    return spec, window


# -- 2. condense one raw UTC day ------------------------------------------------------------------


def condense(spec: ReportSpec, day: str, with_activity: bool) -> dict:
    """Condense one raw partition into the shared cache (a no-op for parts that are current):
    its LOGIN/LOGOUT events, and for a day around the report window also its activity and
    attributes, from one read."""
    from timecard.condensed import DayCache
    from timecard.engine import landing_for

    settings = get_settings()
    landing = landing_for(settings.events_root, **_landing_settings(spec))
    cache = DayCache(landing, settings.cache_root)
    names = ("sessions", "activity", "attributes") if with_activity else ("sessions",)
    parts = list(cache.parts(date.fromisoformat(day), names).values())
    return {
        "day": day,
        "fingerprint": parts[0].fingerprint,
        "built_now": [part.name for part in parts if part.built_now],
        "counts": parts[-1].counts,
    }


# -- 3. build -------------------------------------------------------------------------------------


def staging_folder(spec: ReportSpec, window_plan: dict, run_id: str) -> str:
    run_key = hashlib.sha256(run_id.encode()).hexdigest()[:16]
    root = get_settings().output_root
    return storage.join(root, "_staging", spec.slug, window_plan["local_date"], run_key)


def build(spec: ReportSpec, window_plan: dict, run_id: str) -> dict:
    """Assemble the report from the condensed days and stage it for validation."""
    from timecard import engine
    from timecard.condensed import DayCache

    request = _request(spec, _planned_window(spec, window_plan))
    result = engine.assemble_report(request, DayCache(request.landing, get_settings().cache_root))
    for warning in result.summary.warnings():
        log.warning("%s", warning)
    folder = staging_folder(spec, window_plan, run_id)
    storage.write_parquet(storage.join(folder, "report.parquet"), result.report)
    storage.write_parquet(storage.join(folder, "sessions.parquet"), _typed(spec, request, result))
    storage.write_parquet(storage.join(folder, "quarantine.parquet"), result.quarantine)
    return {"staging": folder, "summary": result.summary.as_dict()}


def _typed(spec: ReportSpec, request, result):
    from datetime import timedelta

    from transforms.typed import typed_sessions

    window = request.time_range
    return typed_sessions(
        result.sessions,
        tz=spec.timezone,
        filters=spec.filters(),
        slug=spec.slug,
        window_start=window.start,
        window_end=window.end,
        abandoned_after=timedelta(minutes=get_settings().abandoned_after_minutes),
    )


# -- 4. validate ----------------------------------------------------------------------------------


def validate(spec: ReportSpec, staged: dict) -> dict:
    """Enforce the report contract on the staged report, including its row limit."""
    from schemas.contract import enforce
    from schemas.typed import TYPED_SESSIONS
    from timecard import engine

    report = storage.read_parquet(storage.join(staged["staging"], "report.parquet"))
    engine.validate_report(report, spec.max_rows)
    typed = storage.read_parquet(storage.join(staged["staging"], "sessions.parquet"))
    enforce(TYPED_SESSIONS, typed, "typed sessions file")
    return {"rows": report.height}


# -- 5. publish -----------------------------------------------------------------------------------


def publish(
    spec: ReportSpec,
    window_plan: dict,
    staged: dict,
    dag_id: str,
    run_id: str,
    completeness: str | None = None,
) -> dict:
    """Write the data files (CSV, typed Parquet), then the manifest that covers them: a reader
    who sees the manifest sees whole files.

    Files that differ from those published before are a new revision: the manifest counts
    revisions (the first publish is 1) and names the previous file's sha256 (the CSV's, else
    the Parquet file's). `completeness` says why the run did not wait longer
    (timecard.completeness); a republish keeps the original's.
    """
    staging = staged["staging"]
    report = storage.read_parquet(storage.join(staging, "report.parquet"))
    quarantine = storage.read_parquet(storage.join(staging, "quarantine.parquet"))
    urls = output_urls(spec, window_plan["local_date"])
    files = data_files(spec, staged, report)
    previous = read_manifest(urls["manifest"])
    revision = {"revision": 1}
    if previous is not None:
        # A byte-identical rerun keeps the revision; a manifest from before revisions counts as 1.
        revision = {"revision": previous.get("revision", 1)}
        if "previous_sha256" in previous:
            revision["previous_sha256"] = previous["previous_sha256"]
        completeness = completeness or previous.get("completeness")
        if published_sha256s(previous) != sha256s(files):
            revision = {
                "revision": revision["revision"] + 1,
                "previous_sha256": next(iter(published_sha256s(previous).values()), None),
            }
            # The report changed: retract the old manifest first, so that no reader ever pairs
            # it with new files if this publish dies between the writes.
            storage.delete(urls["manifest"])
    for name in FORMATS:
        if name in files:
            storage.write_bytes(urls[name], files[name])
        else:
            storage.delete(urls[name])  # a format turned off leaves no outdated file behind
    if quarantine.height:
        lines = [json.dumps(row, ensure_ascii=False) for row in quarantine.iter_rows(named=True)]
        storage.write_bytes(urls["quarantine"], ("\n".join(lines) + "\n").encode())
    else:
        storage.delete(urls["quarantine"])  # a rerun must not leave an outdated one behind
    manifest = build_manifest(spec, window_plan, staged["summary"], files, report.height)
    manifest |= {"dag_id": dag_id, "run_id": run_id, "quarantine": bool(quarantine.height)}
    manifest |= revision | ({"completeness": completeness} if completeness else {})
    write_manifest(urls["manifest"], manifest)
    storage.delete(staging)
    return {
        **{name: urls[name] for name in files},
        "manifest": urls["manifest"],
        "rows": report.height,
        "revision": manifest["revision"],
    }


def data_files(spec: ReportSpec, staged: dict, report=None) -> dict[str, bytes]:
    """The bytes of each data file a staged report publishes, by format."""
    from transforms.report import to_csv_bytes

    staging = staged["staging"]
    files = {}
    if "csv" in spec.formats:
        if report is None:
            report = storage.read_parquet(storage.join(staging, "report.parquet"))
        files["csv"] = to_csv_bytes(report)
    if "parquet" in spec.formats:
        files["parquet"] = storage.read_bytes(storage.join(staging, "sessions.parquet"))
    return files


def sha256s(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def published_sha256s(manifest: dict) -> dict[str, str]:
    return {name: manifest[name]["sha256"] for name in FORMATS if name in manifest}


def asset_event_extra(published: dict, slug: str, local_date: str) -> dict:
    """What each Asset event of a report tells a warehouse DAG: exactly what to load."""
    return {**published, "report_slug": slug, "local_date": local_date}


def read_manifest(manifest_url: str) -> dict | None:
    try:
        return json.loads(storage.read_bytes(manifest_url))
    except FileNotFoundError:
        return None


def write_manifest(manifest_url: str, manifest: dict) -> None:
    storage.write_bytes(manifest_url, json.dumps(manifest, indent=2, ensure_ascii=False).encode())


def build_manifest(
    spec: ReportSpec, window_plan: dict, summary: dict, files: dict[str, bytes], rows: int
) -> dict:
    """`files`: the bytes of each published data file by format ("csv", "parquet")."""
    return {
        "schema_version": SCHEMA_VERSION,
        "report": {"slug": spec.slug, "name": spec.name},
        "window": {
            "start_utc": _utc_text(window_plan["start"]),
            "end_utc": _utc_text(window_plan["end"]),
            "start_local": window_plan["local_start"],
            "end_local": window_plan["local_end"],
            "timezone": spec.timezone,
        },
        "filters": spec.filters().as_dict(),
        "lookback_days": spec.lookback_days,
        "max_rows": spec.max_rows,
        "rows": rows,
        **{
            name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "rows": rows}
            for name, data in files.items()
        },
        "counts": {
            key: summary[key]
            for key in (
                "events_read",
                "duplicates",
                "quarantined",
                "unknown_event_types",
                "sessions",
            )
        },
        "event_cache_fingerprints": summary["fingerprints"],
        # What the readers understood, and the window's days that had no raw file at all.
        "records_by_format": summary["formats"],
        "records_by_shape": summary["shapes"],
        "empty_days": summary["empty_days"],
        "warnings": [warning for warning in _warnings(summary)],
        **_requested(spec),
    }


def _warnings(summary: dict) -> list[str]:
    from timecard.engine import RunSummary

    return RunSummary(empty_days=summary["empty_days"]).warnings()


def _requested(spec: ReportSpec) -> dict:
    """Who asked for an ad hoc run and when, for the ad hoc list; scheduled runs have nobody."""
    if spec.requested_at is None:
        return {}
    return {"requested": {"by": spec.requested_by, "at": spec.requested_at}}


def _utc_text(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).isoformat().replace("+00:00", "Z")
