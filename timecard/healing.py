"""Heal published windows: republish a window whose raw inputs changed after it was published,
and publish a scheduled window that has no published report.

Which windows: every window of the report's schedule whose local start date lies within the
horizon and whose completeness deadline (window end + max_wait) has passed, not only the
windows that happen to have a manifest; plus any window within the horizon that does have one
(published under an earlier schedule). A window whose scheduled publish failed, or whose
manifest is gone, is therefore found again at every check until it is published:

- no manifest, no raw file anywhere around the window: nothing can be built
  (`no raw events`, logged, not a failure: the scheduled run refused it already);
- no manifest otherwise: the window is built and published as its scheduled run would have,
  and announced like any publish;
- a build or publish that fails is logged as an error with its reason, in the task log of that
  check, and tried again at the next one.

Every manifest records the fingerprint (files, sizes, ETags) of each raw UTC day its report
read. The late-data check lists those days again (listings only, no event data) for the
published windows, and rebuilds only a window whose listings changed:

- the CSV comes out byte-identical: the manifest gets the new fingerprints and a `checked_at`
  time, and nothing is announced;
- the CSV changed: the usual publish (`timecard.pipeline.publish`, committed by its manifest
  write: `timecard.publishing`) writes it, with `revision` one higher and `previous_sha256`,
  and the caller announces a new Asset event.

Every republish is logged with the raw days that changed. The hourly DAG `timecard_late_data`
runs the check for every scheduled report; `timecard republish SLUG --since DATE` for one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from timecard import pipeline, publishing, storage
from timecard.errors import TimecardError
from timecard.publishing import Published
from timecard.settings import get_settings
from timecard.spec import ReportSpec, StagedReport

if TYPE_CHECKING:
    from timecard.definitions import ReportDefinition
    from timecard.landing import Landing

log = logging.getLogger(__name__)

UNCHANGED = "unchanged"  # no raw day changed: nothing read
RECHECKED = "rechecked"  # raw days changed, the CSV did not: manifest checked_at updated
REPUBLISHED = "republished"
PUBLISHED = "published"  # a scheduled window that had no manifest, built and published now
NO_RAW_EVENTS = "no raw events"  # a scheduled window with no manifest and nothing to build from
FAILED = "failed"


@dataclass
class WindowCheck:
    """What the check of one window found and did."""

    slug: str
    local_date: str
    status: str = UNCHANGED
    changed_days: list[str] = field(default_factory=list)
    rows: int | None = None
    revision: int | None = None
    detail: str = ""
    # For a (re)published window: what the publish gave, which its Asset event carries.
    published: Published | None = None

    @property
    def asset_extra(self) -> dict | None:
        """What the window's Asset event carries (as after a normal publish), or None."""
        return self.published.as_extra() if self.published else None

    def to_json(self) -> str:
        """As JSON text (the late-data task's XCom lists them)."""
        data = asdict(self) | {"published": self.asset_extra}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> WindowCheck:
        data = json.loads(text)
        published = data.pop("published")
        return cls(**data, published=Published.from_extra(published) if published else None)


class Listings:
    """Current fingerprints of raw days, each listed once per check, shared by all reports."""

    def __init__(self) -> None:
        self._fingerprints: dict[tuple, str] = {}
        self._has_files: dict[tuple, bool] = {}

    def fingerprint(self, landing: Landing, day: date) -> str:
        from timecard import ingest

        key = (landing, day)
        if key not in self._fingerprints:
            files = ingest.partition_files(landing, day)
            self._fingerprints[key] = ingest.fingerprint(landing, files)
            self._has_files[key] = bool(files)
        return self._fingerprints[key]

    def has_files(self, landing: Landing, day: date) -> bool:
        self.fingerprint(landing, day)
        return self._has_files[(landing, day)]


@dataclass(frozen=True)
class ScheduledWindow:
    """One window of a report's schedule: its local start date and its UTC instants."""

    local_date: str
    start: datetime
    end: datetime


def scheduled_windows(
    definition: ReportDefinition, since: date, now: datetime
) -> list[ScheduledWindow]:
    """The report's scheduled windows whose local start date is `since` or later and whose
    completeness deadline (end + max_wait) has passed at `now`, oldest first.

    The arithmetic of the report's timetable (`timecard.schedule`): a run at the first
    instant of each scheduled local day covers the `window_days` local days before it."""
    from datetime import timedelta

    from timecard.schedule import MidnightSchedule

    if not definition.is_scheduled:
        return []
    schedule = MidnightSchedule.parse(
        definition.timezone, definition.weekdays, definition.window_days
    )
    settings = get_settings()
    max_wait = definition.max_wait_minutes
    deadline = timedelta(minutes=settings.max_wait_minutes if max_wait is None else max_wait)
    windows = []
    local_start = since
    while True:
        run_day = local_start + timedelta(days=definition.window_days)
        window = schedule.window(run_day)
        if window.end + deadline > now:
            break
        if schedule.is_run_day(run_day):
            windows.append(ScheduledWindow(local_start.isoformat(), window.start, window.end))
        local_start += timedelta(days=1)
    return windows


def published_dates(spec: ReportSpec, since: date) -> list[str]:
    """Local dates, from `since` on, that have a published manifest of this report."""
    return publishing.published_dates(spec, since)


def changed_days(spec: ReportSpec, manifest: publishing.Manifest, listings: Listings) -> list[str]:
    """The raw days whose listing no longer matches the fingerprint the manifest recorded."""
    landing = spec.landing()
    return [
        day
        for day, recorded in sorted(manifest.event_cache_fingerprints.items())
        if listings.fingerprint(landing, date.fromisoformat(day)) != recorded
    ]


def check_window(
    spec: ReportSpec,
    local_date: str,
    listings: Listings,
    dag_id: str,
    run_id: str,
    now: datetime,
    scheduled: ScheduledWindow | None = None,
) -> WindowCheck:
    """Check one window; rebuild and republish it if its raw days changed. A window of the
    schedule (`scheduled`) that has no manifest is built and published."""
    urls = publishing.output_urls(spec, local_date)
    manifest = publishing.read_manifest(urls["manifest"])
    check = WindowCheck(spec.slug, local_date)
    if manifest is None:
        if scheduled is None:  # not published (a publish never retracts a manifest)
            check.detail = "no manifest now"
            return check
        _publish_missing(spec, scheduled, check, listings, dag_id, run_id)
        return check
    check.rows, check.revision = manifest.rows, manifest.revision
    check.changed_days = changed_days(spec, manifest, listings)
    if not check.changed_days:
        try:
            if not publishing.public_is_current(spec, local_date, manifest):
                # A publish died between its commit and its public copies: finish its work.
                publishing.sync_public(spec, local_date)
                check.detail = "public copies restored from the committed revision"
            publishing.collect_garbage(spec, local_date, exclusive=False)  # killed runs' leftovers
        except TimecardError as error:  # housekeeping only: the next check tries again
            log.warning("late-data check of %s %s: %s", spec.slug, local_date, error)
        return check
    try:
        _rebuild(spec, manifest, check, dag_id, run_id, now)
    except TimecardError as error:
        _failed(spec, check, run_id, error)
    return check


def _failed(spec: ReportSpec, check: WindowCheck, run_id: str, error: Exception) -> None:
    """Record and log a window that could not be built or published, and remove what this check
    staged for it: the next check tries the window again."""
    check.status, check.detail = FAILED, str(error)
    log.error(
        "late-data check of %s %s failed (tried again at the next check): %s",
        spec.slug,
        check.local_date,
        error,
    )
    storage.delete(publishing.staging_folder(spec.slug, check.local_date, run_id))


def _publish_missing(
    spec: ReportSpec,
    window: ScheduledWindow,
    check: WindowCheck,
    listings: Listings,
    dag_id: str,
    run_id: str,
) -> None:
    """Build and publish a scheduled window that has no published report, as its scheduled run
    would have; a window with no raw file around it has nothing to build from."""
    from timecard import completeness, engine

    landing = spec.landing()
    around = engine.partition_days(window.start, window.end, landing.neighbour_days)
    if not any(listings.has_files(landing, day) for day in around):
        check.status = NO_RAW_EVENTS
        check.detail = f"no manifest and no raw event file from {around[0]} to {around[-1]} UTC"
        log.info("late-data check of %s %s: %s", spec.slug, check.local_date, check.detail)
        return
    try:
        window_plan = pipeline.plan(spec, window.start, window.end)
        staged = pipeline.build(spec, window_plan, run_id)
        pipeline.validate(spec, staged)
        published = pipeline.publish(
            spec, window_plan, staged, dag_id, run_id, completeness.ELAPSED
        )
    except TimecardError as error:
        _failed(spec, check, run_id, error)
        return
    check.status, check.rows, check.revision = PUBLISHED, published.rows, published.revision
    check.published = published
    check.detail = "had no published report (a failed or lost publish): published now"
    log.warning(
        "published %s %s (%d rows, revision %d): the window had no published report",
        spec.slug,
        check.local_date,
        published.rows,
        published.revision,
    )


def _rebuild(
    spec: ReportSpec,
    manifest: publishing.Manifest,
    check: WindowCheck,
    dag_id: str,
    run_id: str,
    now: datetime,
) -> None:
    start = datetime.fromisoformat(manifest.window.start_utc)
    end = datetime.fromisoformat(manifest.window.end_utc)
    window_plan = pipeline.plan(spec, start, end)
    staged = pipeline.build(spec, window_plan, run_id)
    pipeline.validate(spec, staged)
    days = ", ".join(check.changed_days)
    before = manifest.sha256s()
    after = publishing.sha256s(pipeline.data_files(spec, staged))
    if after == before:
        # Same report: record what was checked and when; nothing to announce.
        if not _record_check(spec, check.local_date, staged, now):
            check.detail = "a newer revision was published meanwhile"
            pipeline.discard_staged(staged)
            return
        pipeline.discard_staged(staged)
        check.status, check.detail = RECHECKED, f"raw days changed ({days}); report unchanged"
        log.info("late data for %s %s: %s", spec.slug, check.local_date, check.detail)
        return
    published = pipeline.publish(spec, window_plan, staged, dag_id, run_id)
    check.status, check.rows, check.revision = REPUBLISHED, published.rows, published.revision
    check.published = published
    check.detail = f"revision {published.revision}; raw days changed: {days}"
    log.warning(
        "republished %s %s as revision %d (%d rows, sha256 %s, previously %s): raw days "
        "changed: %s",
        spec.slug,
        check.local_date,
        published.revision,
        published.rows,
        next(iter(after.values())),
        next(iter(before.values()), None),
        days,
    )


def _record_check(spec: ReportSpec, local_date: str, staged: StagedReport, now: datetime) -> bool:
    """Record the new fingerprints and `checked_at` in the manifest, only if it is still the
    revision this check compared with (a conditional write); False if it changed meanwhile."""
    url = publishing.output_urls(spec, local_date)["manifest"]
    with storage.exclusive(url):
        current, version = publishing.read_manifest_versioned(url)
        after = publishing.sha256s(pipeline.data_files(spec, staged))
        if current is None or current.sha256s() != after:
            return False
        recorded = replace(
            current,
            event_cache_fingerprints=staged.summary.fingerprints,
            checked_at=publishing.utc_text(now),
            inputs_listed_at=staged.listed_at or current.inputs_listed_at,
        )
        try:
            publishing.commit(url, recorded, version)
        except storage.WriteConflict:
            return False
    return True


def check_report(
    spec: ReportSpec,
    since: date,
    dag_id: str,
    run_id: str,
    listings: Listings | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    definition: ReportDefinition | None = None,
) -> list[WindowCheck]:
    """Check every window of one report whose local date is `since` or later: each window of
    its schedule (`definition`, whose deadline has passed) and each published one."""
    listings = listings or Listings()
    now = datetime.now(UTC)
    scheduled = {
        window.local_date: window
        for window in (scheduled_windows(definition, since, now) if definition else [])
    }
    dates = sorted(set(published_dates(spec, since)) | set(scheduled))
    checks = []
    for number, local_date in enumerate(dates, start=1):
        if progress:
            progress(number - 1, len(dates), local_date)
        checks.append(
            check_window(spec, local_date, listings, dag_id, run_id, now, scheduled.get(local_date))
        )
    if progress:
        progress(len(dates), len(dates), "")
    return checks


def check_scheduled_reports(horizon_days: int, dag_id: str, run_id: str) -> list[WindowCheck]:
    """The late-data check of every scheduled report over the last `horizon_days` days."""
    from datetime import timedelta

    from timecard.definitions import load_all

    since = datetime.now(UTC).date() - timedelta(days=horizon_days)
    definitions, _ = load_all(get_settings().reports_dir)
    listings = Listings()
    checks = []
    for definition in definitions:
        if definition.is_scheduled:
            spec = ReportSpec.from_definition(definition)
            checks += check_report(spec, since, dag_id, run_id, listings, definition=definition)
    return checks
