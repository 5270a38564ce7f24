"""Heal published windows: republish a window whose raw inputs changed after it was published.

Every manifest records the fingerprint (files, sizes, ETags) of each raw UTC day its report
read. The late-data check lists those days again (listings only, no event data) for the
recently published windows, and rebuilds only a window whose listings changed:

- the CSV comes out byte-identical: the manifest gets the new fingerprints and a `checked_at`
  time, and nothing is announced;
- the CSV changed: the usual atomic publish (`timecard.pipeline.publish`) writes it, with
  `revision` one higher and `previous_sha256`, and the caller announces a new Asset event.

Every republish is logged with the raw days that changed. The hourly DAG `timecard_late_data`
runs the check for every scheduled report; `timecard republish SLUG --since DATE` for one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from timecard import pipeline, storage
from timecard.errors import TimecardError
from timecard.settings import get_settings

log = logging.getLogger(__name__)

UNCHANGED = "unchanged"  # no raw day changed: nothing read
RECHECKED = "rechecked"  # raw days changed, the CSV did not: manifest checked_at updated
REPUBLISHED = "republished"
FAILED = "failed"


@dataclass
class WindowCheck:
    slug: str
    local_date: str
    status: str = UNCHANGED
    changed_days: list[str] = field(default_factory=list)
    rows: int | None = None
    revision: int | None = None
    detail: str = ""
    # For a republished window: what its Asset event carries (as after a normal publish).
    asset_extra: dict | None = None


class Listings:
    """Current fingerprints of raw days, each listed once per check, shared by all reports."""

    def __init__(self) -> None:
        self._fingerprints: dict[tuple, str] = {}

    def fingerprint(self, landing, day: date) -> str:
        from timecard import ingest

        key = (landing, day)
        if key not in self._fingerprints:
            files = ingest.partition_files(landing, day)
            self._fingerprints[key] = ingest.fingerprint(landing, files)
        return self._fingerprints[key]


def published_dates(spec: pipeline.ReportSpec, since: date) -> list[str]:
    """Local dates, from `since` on, that have a published manifest of this report."""
    folder = pipeline.report_folder(spec)
    dates = []
    for name, is_folder in storage.list_names(folder):
        if not (is_folder and name.startswith("date=")):
            continue
        try:
            local_date = date.fromisoformat(name.removeprefix("date="))
        except ValueError:
            continue  # not one of ours
        manifest_url = pipeline.output_urls(spec, local_date.isoformat())["manifest"]
        if local_date >= since and storage.exists(manifest_url):
            dates.append(local_date.isoformat())
    return dates


def changed_days(spec: pipeline.ReportSpec, manifest: dict, listings: Listings) -> list[str]:
    """The raw days whose listing no longer matches the fingerprint the manifest recorded."""
    from timecard.engine import landing_for

    landing = landing_for(get_settings().events_root, **pipeline._landing_settings(spec))
    return [
        day
        for day, recorded in sorted(manifest["event_cache_fingerprints"].items())
        if listings.fingerprint(landing, date.fromisoformat(day)) != recorded
    ]


def check_window(
    spec: pipeline.ReportSpec,
    local_date: str,
    listings: Listings,
    dag_id: str,
    run_id: str,
    now: datetime,
) -> WindowCheck:
    """Check one published window; rebuild and republish it if its raw days changed."""
    urls = pipeline.output_urls(spec, local_date)
    manifest = pipeline.read_manifest(urls["manifest"])
    check = WindowCheck(spec.slug, local_date)
    if manifest is None:  # retracted by a publish in progress: that run writes it again
        check.detail = "no manifest now"
        return check
    check.rows, check.revision = manifest["rows"], manifest.get("revision", 1)
    check.changed_days = changed_days(spec, manifest, listings)
    if not check.changed_days:
        return check
    try:
        _rebuild(spec, manifest, check, dag_id, run_id, now)
    except TimecardError as error:
        check.status, check.detail = FAILED, str(error)
        log.error("late-data check of %s %s failed: %s", spec.slug, local_date, error)
    return check


def _rebuild(spec, manifest: dict, check: WindowCheck, dag_id, run_id, now: datetime) -> None:
    window = manifest["window"]
    start = datetime.fromisoformat(window["start_utc"])
    end = datetime.fromisoformat(window["end_utc"])
    window_plan = pipeline.plan(spec, start, end)
    staged = pipeline.build(spec, window_plan, run_id)
    pipeline.validate(spec, staged)
    days = ", ".join(check.changed_days)
    before = pipeline.published_sha256s(manifest)
    after = pipeline.sha256s(pipeline.data_files(spec, staged))
    if after == before:
        # Same report: record what was checked and when; nothing to announce.
        manifest["event_cache_fingerprints"] = staged["summary"]["fingerprints"]
        manifest["checked_at"] = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
        pipeline.write_manifest(pipeline.output_urls(spec, check.local_date)["manifest"], manifest)
        storage.delete(staged["staging"])
        check.status, check.detail = RECHECKED, f"raw days changed ({days}); report unchanged"
        log.info("late data for %s %s: %s", spec.slug, check.local_date, check.detail)
        return
    published = pipeline.publish(spec, window_plan, staged, dag_id, run_id)
    check.status, check.rows, check.revision = REPUBLISHED, published["rows"], published["revision"]
    check.asset_extra = pipeline.asset_event_extra(published, spec.slug, check.local_date)
    check.detail = f"revision {published['revision']}; raw days changed: {days}"
    log.warning(
        "republished %s %s as revision %d (%d rows, sha256 %s, previously %s): raw days "
        "changed: %s",
        spec.slug,
        check.local_date,
        published["revision"],
        published["rows"],
        next(iter(after.values())),
        next(iter(before.values()), None),
        days,
    )


def check_report(
    spec: pipeline.ReportSpec,
    since: date,
    dag_id: str,
    run_id: str,
    listings: Listings | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[WindowCheck]:
    """Check every published window of one report whose local date is `since` or later."""
    listings = listings or Listings()
    dates = published_dates(spec, since)
    checks = []
    for number, local_date in enumerate(dates, start=1):
        if progress:
            progress(number - 1, len(dates), local_date)
        checks.append(check_window(spec, local_date, listings, dag_id, run_id, datetime.now(UTC)))
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
            spec = pipeline.ReportSpec.from_definition(definition)
            checks += check_report(spec, since, dag_id, run_id, listings)
    return checks
