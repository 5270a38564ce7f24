"""The steps of a scheduled or ad hoc report run: plan, condense, build, validate, publish.

Each step is idempotent and takes and returns the typed objects of `timecard.spec` (which the
Airflow tasks pass on through XCom as JSON text):
plan → plan the shards → condense each shard (mapped) → combine each day of several shards
(mapped) → build (stage the report) → validate → publish.
An ad hoc run takes the same steps in two tasks: plan and condense every needed day
(`condense_window`) → build, validate and publish.

The published layout, the manifest and the publish protocol are `timecard.publishing`'s.
Staged reports wait under `{output_root}/_staging/`, outside the `connect/` tree that
warehouses load, and are removed once published.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from timecard import publishing, storage

# Compatibility only: tests import these names from here, where they used to live (the ad hoc
# form is `timecard.adhoc`'s, output addressing `timecard.publishing`'s, the spec
# `timecard.spec`'s). The library imports them from their own modules.
from timecard.adhoc import from_form as adhoc_spec_and_window  # noqa: F401
from timecard.errors import TimecardError
from timecard.publishing import (  # noqa: F401  (ADHOC_PREFIX ... report_folder: compatibility)
    ADHOC_PREFIX,
    Published,
    adhoc_output_id,
    output_urls,
    report_folder,
)
from timecard.settings import get_settings
from timecard.spec import (
    CondensedDay,
    CondensedWindow,
    DayToCombine,
    PlannedDay,
    ReportSpec,
    ShardTask,
    StagedReport,
    ValidatedReport,
    WindowPlan,
)

if TYPE_CHECKING:
    import polars as pl

    from timecard.condensed import DayCache
    from timecard.engine import ReportRequest, ReportResult

log = logging.getLogger(__name__)


# -- 1. plan ------------------------------------------------------------------------------------


def plan(spec: ReportSpec, start: datetime, end: datetime) -> WindowPlan:
    """The window as exact instants, and the raw UTC days whose condensation it needs."""
    from timecard import engine
    from timecard.timerange import checked_range

    window = checked_range(start, end, spec.timezone)
    session_days, activity_days = engine.needed_days(spec.request(window))
    return WindowPlan(
        window.start,
        window.end,
        spec.timezone,
        tuple(PlannedDay(day, day in activity_days) for day in session_days),
    )


# -- 2. condense ----------------------------------------------------------------------------------


def condense(spec: ReportSpec, day: PlannedDay) -> CondensedDay:
    """Condense one raw partition into the shared cache (a no-op for parts that are current):
    its LOGIN/LOGOUT events, and for a day around the report window also its activity and
    attributes, from one read."""
    from timecard.condensed import DayCache

    cache = DayCache(spec.landing(), get_settings().cache_root)
    names = ("sessions", "activity", "attributes") if day.with_activity else ("sessions",)
    counted = "activity" if day.with_activity else "sessions"
    parts = cache.parts(day.day, names)
    return CondensedDay(
        day=day.day,
        fingerprint=parts["sessions"].fingerprint,
        built_now=tuple(name for name, part in parts.items() if part.built_now),
        # What the raw files held, as a run summary counts it: every record of a day around
        # the window (its activity read), the LOGIN/LOGOUT candidates of a lookback day.
        counts=parts[counted].counts,
    )


# -- 2'. condense in shards: the mapped tasks of a scheduled run ---------------------------------
#
# plan_shards (one task) → condense_shard (mapped: one task per shard of every raw day that needs
# condensing) → combine_day (mapped: one task per day of several shards) → build. A day of one
# shard, most days, is finished by its own shard task: one task per day, as before sharding.

# Raw days listed at once while planning: a listing is a wait on the store, not work.
LISTING_THREADS = 8


def _day_cache(spec: ReportSpec) -> DayCache:
    from timecard.condensed import DayCache

    return DayCache(spec.landing(), get_settings().cache_root)


def plan_shards(spec: ReportSpec, window_plan: WindowPlan) -> tuple[ShardTask, ...]:
    """The condense work of a run, one `ShardTask` per shard: for each raw day of the plan
    whose needed parts are not all condensed for its current files (names, sizes, ETags), the
    day's shards, sized by the memory budget (`condensed.plan_shards`,
    TIMECARD_MEMORY_BUDGET_MB). A day whose parts are current needs no task, so a nightly
    report with a 31-day lookback condenses only the days that changed. A day with no raw file
    is one shard with nothing to read (its parts are empty). Only listings, and the footer of a
    large Parquet file, are read here."""
    from timecard import condensed

    cache = _day_cache(spec)

    def day_tasks(planned: PlannedDay) -> tuple[ShardTask, ...]:
        names = condensed.PARTS if planned.with_activity else ("sessions",)
        _, fingerprint = cache.listing(planned.day)
        stored = cache.stored(planned.day, names, fingerprint)
        missing = tuple(name for name in names if stored[name] is None)
        if not missing:
            return ()
        shards = condensed.plan_shards(cache, planned.day)
        several = shards if len(shards) > 1 else ()
        return tuple(
            ShardTask(shard, missing, several if shard.index == 0 else ()) for shard in shards
        )

    with ThreadPoolExecutor(max_workers=LISTING_THREADS) as pool:
        by_day = list(pool.map(day_tasks, window_plan.days))
    tasks = tuple(task for day in by_day for task in day)
    log.info(
        "%d raw day(s) needed, %d to condense, in %d shard(s)",
        len(by_day),
        sum(1 for day in by_day if day),
        len(tasks),
    )
    return tasks


def condense_shard(spec: ReportSpec, task: ShardTask) -> DayToCombine | None:
    """Condense one shard into its run files (`condensed.condense_shard`: idempotent, and safe
    to run twice at once); nothing is read when the day's parts are condensed already (a
    backfill's runs plan the same days).

    A day of one shard is combined into its parts at once, by this task. Of a day of several
    shards, the first returns the day to combine and the others None: Airflow maps the combine
    step over the results that are not None, so only a day of several shards gets a combine
    task."""
    from timecard import condensed

    cache = _day_cache(spec)
    shard = task.shard
    stored = cache.stored(shard.day, task.parts, shard.fingerprint).values()
    if all(part is not None for part in stored):
        # Another run planned the same day and has condensed it since: nothing to read.
        log.info("shard %s: the day's parts are condensed already", task.name)
    else:
        result = condensed.condense_shard(cache, shard, task.parts)
        log.info("condensed shard %s (%d file(s)): %s", task.name, len(shard.files), task.parts)
        if shard.count == 1:
            condensed.combine_shards(cache, shard.day, [result])
    if shard.count == 1:
        return None
    if task.day_shards:
        return DayToCombine(shard.day, task.parts, task.day_shards)
    return None


def combine_day(spec: ReportSpec, day: DayToCombine) -> CondensedDay:
    """Combine the runs of every shard of a day into its parts (`condensed.combine_shards`):
    byte for byte the parts one task condensing the whole day writes. Each shard's result is
    read back from its runs' markers (`condensed.condense_shard` reads no raw file for a shard
    whose runs are stored). Parts another run combined first are taken as they are."""
    from timecard import condensed

    cache = _day_cache(spec)
    fingerprint = day.shards[0].fingerprint
    stored = cache.stored(day.day, day.parts, fingerprint)
    parts = {name: part for name, part in stored.items() if part is not None}
    if len(parts) < len(day.parts):
        results = [condensed.condense_shard(cache, shard, day.parts) for shard in day.shards]
        parts = condensed.combine_shards(cache, day.day, results)
    # What the raw files held, as `condense` reports it: every record when the activity was
    # condensed, else the LOGIN/LOGOUT candidates.
    counted = next((parts[name] for name in ("activity", "sessions") if name in parts), None)
    return CondensedDay(
        day=day.day,
        fingerprint=fingerprint,
        built_now=tuple(name for name, part in parts.items() if part.built_now),
        counts=counted.counts if counted else {},
    )


def condense_window(spec: ReportSpec, window_plan: WindowPlan) -> CondensedWindow:
    """Condense every raw day the planned window needs, in this process (what is current is
    only listed); refuse a window that has no raw file at all (`NoRawEventsError`)."""
    from timecard import engine
    from timecard.condensed import DayCache

    request = spec.request(window_plan.window)
    cache = DayCache(request.landing, get_settings().cache_root)
    empty_days = engine.check_raw_files(request, cache)
    session_parts, activity_parts = engine.condense_days(request, cache)
    log.info(
        "%d raw day(s) needed, %d part(s) condensed now, %d day(s) with no raw file",
        len(session_parts),
        cache.parts_built,
        len(empty_days),
    )
    return CondensedWindow(
        days=len(session_parts),
        activity_days=len(activity_parts),
        parts_built_now=cache.parts_built,
        empty_days=tuple(day.isoformat() for day in empty_days),
    )


# -- 3. build -------------------------------------------------------------------------------------


def build(spec: ReportSpec, window_plan: WindowPlan, run_id: str) -> StagedReport:
    """Assemble the report from the condensed days and stage it for validation."""
    from timecard import engine
    from timecard.condensed import DayCache

    request = spec.request(window_plan.window)
    # When this build began listing its raw inputs: of two builds of one window, the one that
    # listed later may replace the other's revision, never the reverse (timecard.publishing).
    listed_at = publishing.utc_text(datetime.now(UTC))
    result = engine.assemble_report(request, DayCache(request.landing, get_settings().cache_root))
    for warning in result.summary.warnings():
        log.warning("%s", warning)
    folder = publishing.staging_folder(spec.slug, window_plan.local_date, run_id)
    storage.write_parquet(storage.join(folder, "report.parquet"), result.report)
    storage.write_parquet(storage.join(folder, "sessions.parquet"), _typed(spec, request, result))
    storage.write_parquet(storage.join(folder, "quarantine.parquet"), result.quarantine)
    return StagedReport(folder, result.summary, listed_at)


def discard_staged(staged: StagedReport) -> None:
    """Remove a staged report that will not be published (it was refused)."""
    storage.delete(staged.staging)


def _typed(spec: ReportSpec, request: ReportRequest, result: ReportResult) -> pl.DataFrame:
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


def validate(spec: ReportSpec, staged: StagedReport) -> ValidatedReport:
    """Enforce the report contract on the staged report, including its row limit."""
    from schemas.typed import TYPED_SESSIONS
    from timecard import engine
    from timecard.contracts import enforce

    report = storage.read_parquet(storage.join(staged.staging, "report.parquet"))
    engine.validate_report(report, spec.max_rows)
    typed = storage.read_parquet(storage.join(staged.staging, "sessions.parquet"))
    enforce(TYPED_SESSIONS, typed, "typed sessions file")
    return ValidatedReport(report.height)


# -- 5. publish -----------------------------------------------------------------------------------


def publish(
    spec: ReportSpec,
    window_plan: WindowPlan,
    staged: StagedReport,
    dag_id: str,
    run_id: str,
    completeness: str | None = None,
) -> Published:
    """Publish the staged report as a new revision of its report-day (`timecard.publishing`:
    the manifest write is the commit point; a failed or killed publish leaves the previous
    revision published, whole).

    Files that differ from those published before are a new revision: the manifest counts
    revisions (the first publish is 1) and names the previous file's sha256 (the CSV's, else
    the Parquet file's). `completeness` says why the run did not wait longer
    (timecard.completeness); a republish keeps the original's.
    """
    local_date = window_plan.local_date
    try:
        report = storage.read_parquet(storage.join(staged.staging, "report.parquet"))
        quarantine = storage.read_parquet(storage.join(staged.staging, "quarantine.parquet"))
        data = data_files(spec, staged, report)
    except FileNotFoundError:
        # A retry of a publish that committed and then died cleaning up: it is published.
        manifest = publishing.read_manifest(publishing.output_urls(spec, local_date)["manifest"])
        if manifest is None or manifest.run_id != run_id:
            raise
        publishing.tidy(spec, local_date)
        return Published.of(spec, local_date, manifest)
    if quarantine.height:
        lines = [json.dumps(row, ensure_ascii=False) for row in quarantine.iter_rows(named=True)]
        data[publishing.QUARANTINE] = ("\n".join(lines) + "\n").encode()

    def make_manifest(current, files, quarantine_file):
        revision = publishing.next_revision(
            current, {name: file.sha256 for name, file in files.items()}
        )
        return replace(
            build_manifest(spec, window_plan, staged, files, report.height),
            dag_id=dag_id,
            run_id=run_id,
            quarantine_file=quarantine_file,
            completeness=completeness or (current.completeness if current else None),
            **revision,
        )

    outcome = publishing.publish(
        spec, local_date, publishing.Revision(data, make_manifest), report.height
    )
    try:
        storage.delete(staged.staging)
    except TimecardError as error:  # published all the same; a later publish removes it
        log.warning("published, but could not remove the staged report: %s", error)
    return Published.of(spec, local_date, outcome.manifest)


def data_files(
    spec: ReportSpec, staged: StagedReport, report: pl.DataFrame | None = None
) -> dict[str, bytes]:
    """The bytes of each data file a staged report publishes, by format."""
    from transforms.report import to_csv_bytes

    files = {}
    if "csv" in spec.formats:
        if report is None:
            report = storage.read_parquet(storage.join(staged.staging, "report.parquet"))
        files["csv"] = to_csv_bytes(report)
    if "parquet" in spec.formats:
        files["parquet"] = storage.read_bytes(storage.join(staged.staging, "sessions.parquet"))
    return files


def build_manifest(
    spec: ReportSpec,
    window_plan: WindowPlan,
    staged: StagedReport,
    files: dict[str, publishing.DataFile],
    rows: int,
) -> publishing.Manifest:
    """The manifest of a staged report whose data files are `files` (by format)."""
    summary = staged.summary
    requested = None
    if spec.requested_at is not None:  # who asked for an ad hoc run; scheduled runs: nobody
        requested = publishing.Requested(spec.requested_by, spec.requested_at)
    return publishing.Manifest(
        report=publishing.ReportName(spec.slug, spec.name),
        window=publishing.Window(
            start_utc=publishing.utc_text(window_plan.start),
            end_utc=publishing.utc_text(window_plan.end),
            start_local=window_plan.local_start.isoformat(),
            end_local=window_plan.local_end.isoformat(),
            timezone=spec.timezone,
        ),
        filters={key: tuple(values) for key, values in spec.filters().as_dict().items()},
        lookback_days=spec.lookback_days,
        max_rows=spec.max_rows,
        rows=rows,
        files=files,
        counts={
            "events_read": summary.events_read,
            "duplicates": summary.duplicates,
            "quarantined": summary.quarantined,
            "unknown_event_types": summary.unknown_event_types,
            "sessions": summary.sessions,
        },
        event_cache_fingerprints=summary.fingerprints,
        # What the readers understood, and the window's days that had no raw file at all.
        records_by_format=summary.formats,
        records_by_shape=summary.shapes,
        empty_days=tuple(summary.empty_days),
        # An empty report's filter values that matched no session of the window (with the
        # closest values it holds), so a reader is told why there are no rows.
        unmatched_filters=summary.unmatched_filters,
        warnings=tuple(summary.warnings()),
        requested=requested,
        inputs_listed_at=staged.listed_at,
    )
