"""Which windows the late-data check looks at: the schedule's, within the horizon, published or
not; a window with no published report is built, one that fails is logged and tried again."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime

import pytest
import yaml

from tests.builders import event, write_ndjson
from timecard import healing, pipeline, storage
from timecard.definitions import parse_definition

DAILY_SEOUL = "name: Daily Seoul\ntimezone: Asia/Seoul\nschedule: daily\nlookback_days: 1\n"


def definition(text: str = DAILY_SEOUL, slug: str = "daily-seoul"):
    return parse_definition(slug, yaml.safe_load(text), f"{slug}.yaml")


def test_scheduled_windows_come_from_the_schedule_and_wait_for_the_deadline(timecard_home):
    daily = definition()
    # 2026-11-05 00:00 Seoul is 11-04T15:00Z; with the default max_wait of 60 minutes the window
    # of 11-04 is checked from 16:00Z on, not before (its scheduled run may still be waiting).
    windows = healing.scheduled_windows(
        daily, date(2026, 11, 1), datetime(2026, 11, 4, 16, tzinfo=UTC)
    )
    assert [w.local_date for w in windows] == [
        "2026-11-01",
        "2026-11-02",
        "2026-11-03",
        "2026-11-04",
    ]
    assert (windows[0].start, windows[0].end) == (
        datetime(2026, 10, 31, 15, tzinfo=UTC),
        datetime(2026, 11, 1, 15, tzinfo=UTC),
    )
    earlier = datetime(2026, 11, 4, 15, 59, tzinfo=UTC)
    assert (
        healing.scheduled_windows(daily, date(2026, 11, 1), earlier)[-1].local_date == "2026-11-03"
    )
    weekly = definition(
        "name: W\ntimezone: UTC\nschedule: {weekly: [monday]}\nwindow_days: 7\n", "weekly"
    )
    # Runs on Mondays 2026-11-02, -09, -16 cover the 7 days before each.
    found = healing.scheduled_windows(
        weekly, date(2026, 10, 20), datetime(2026, 11, 17, tzinfo=UTC)
    )
    assert [(w.local_date, w.end.date().isoformat()) for w in found] == [
        ("2026-10-26", "2026-11-02"),
        ("2026-11-02", "2026-11-09"),
        ("2026-11-09", "2026-11-16"),
    ]
    assert (
        healing.scheduled_windows(definition("name: Unscheduled\n", "x"), date(2026, 1, 1), earlier)
        == []
    )


def seoul_day(root, day: str, agents: list[str]) -> None:
    write_ndjson(
        root,
        day,
        [
            r
            for a in agents
            for r in (event("LOGIN", f"{day}T01:00:00Z", a), event("LOGOUT", f"{day}T05:00:00Z", a))
        ],
    )


def statuses(checks) -> dict[str, str]:
    return {check.local_date: check.status for check in checks}


def test_a_window_without_a_manifest_is_built_and_a_lost_one_comes_back(timecard_home, monkeypatch):
    """On the main of 2026-12-06 the check listed only windows with a manifest: a window whose
    manifest was lost (or whose publish failed) was never checked again."""
    import timecard.healing as module

    monkeypatch.setattr(module, "datetime", _FrozenDatetime)
    seoul_day(timecard_home / "events", "2026-11-02", ["a", "b"])
    report = definition()
    spec = pipeline.ReportSpec.from_definition(report)

    checks = healing.check_report(
        spec, date(2026, 10, 28), "timecard_late_data", "run-1", definition=report
    )

    # 10-28 .. 11-04 are the windows whose deadline passed; raw files only on UTC day 11-02,
    # which the windows of 11-01 .. 11-04 (Seoul) read as a window or a neighbouring day.
    assert statuses(checks) == {
        "2026-10-28": "no raw events",
        "2026-10-29": "no raw events",
        "2026-10-30": "no raw events",
        "2026-10-31": "no raw events",
        "2026-11-01": "published",
        "2026-11-02": "published",
        "2026-11-03": "published",
        "2026-11-04": "published",
    }
    urls = pipeline.output_urls(spec, "2026-11-02")
    first = storage.read_bytes(urls["csv"])
    assert [c.asset_extra["local_date"] for c in checks if c.asset_extra] == [
        "2026-11-01",
        "2026-11-02",
        "2026-11-03",
        "2026-11-04",
    ]
    assert all(c.rows == 2 for c in checks if c.local_date == "2026-11-02")

    # The manifest of 11-02 disappears (a crashed republish on the main of 2026-12-06):
    # the next check publishes the window again.
    storage.delete(urls["manifest"])
    again = healing.check_report(
        spec, date(2026, 11, 1), "timecard_late_data", "run-2", definition=report
    )
    assert statuses(again) == {
        "2026-11-01": "unchanged",
        "2026-11-02": "published",
        "2026-11-03": "unchanged",
        "2026-11-04": "unchanged",
    }
    assert storage.read_bytes(urls["csv"]) == first and storage.exists(urls["manifest"])


def test_a_window_that_fails_is_logged_cleaned_up_and_tried_again(
    timecard_home, monkeypatch, caplog
):
    import timecard.healing as module

    monkeypatch.setattr(module, "datetime", _FrozenDatetime)
    seoul_day(timecard_home / "events", "2026-11-02", ["a", "b", "c"])
    report = definition(DAILY_SEOUL + "max_rows: 2\n")
    spec = pipeline.ReportSpec.from_definition(report)

    for run_id in ("run-1", "run-2"):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="timecard.healing"):
            checks = healing.check_report(
                spec, date(2026, 11, 2), "timecard_late_data", run_id, definition=report
            )
        [failed] = [c for c in checks if c.local_date == "2026-11-02"]
        assert failed.status == "failed" and "limit" in failed.detail.lower(), failed.detail
        [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert (
            "daily-seoul 2026-11-02 failed (tried again at the next check)" in record.getMessage()
        )
        assert not storage.exists(pipeline.output_urls(spec, "2026-11-02")["manifest"])
        staging = timecard_home / "output" / "_staging"
        assert [p for p in staging.rglob("*") if p.is_file()] == []


def test_a_changed_window_is_republished_an_unchanged_report_only_rechecked(
    timecard_home, monkeypatch
):
    import timecard.healing as module

    monkeypatch.setattr(module, "datetime", _FrozenDatetime)
    events = timecard_home / "events"
    seoul_day(events, "2026-11-02", ["a", "b"])
    report = definition()
    spec = pipeline.ReportSpec.from_definition(report)
    since = date(2026, 11, 2)

    def check(run_id: str) -> healing.WindowCheck:
        checks = healing.check_report(spec, since, "timecard_late_data", run_id, definition=report)
        [found] = [c for c in checks if c.local_date == "2026-11-02"]
        return found

    published = check("run-1")
    assert (published.status, published.rows, published.revision) == ("published", 2, 1)
    urls = pipeline.output_urls(spec, "2026-11-02")
    first_csv = storage.read_bytes(urls["csv"])

    # Nothing changed: nothing is read or rebuilt.
    assert check("run-2").status == "unchanged"

    # A late file that changes no row (activity of an agent with no session): rechecked only.
    write_ndjson(
        events, "2026-11-02", [event("HEART_BEAT", "2026-11-02T04:00:00Z", "zz")], "p-1.json"
    )
    rechecked = check("run-3")
    assert (rechecked.status, rechecked.changed_days, rechecked.published) == (
        "rechecked",
        ["2026-11-02"],
        None,
    )
    manifest = healing.publishing.read_manifest(urls["manifest"])
    assert manifest.revision == 1 and manifest.checked_at == "2026-11-05T12:00:00Z"
    assert storage.read_bytes(urls["csv"]) == first_csv

    # A late session: republished as revision 2, announced with what a publish gives.
    write_ndjson(
        events,
        "2026-11-02",
        [event("LOGIN", "2026-11-02T02:00:00Z", "c"), event("LOGOUT", "2026-11-02T03:00:00Z", "c")],
        "p-2.json",
    )
    republished = check("run-4")
    assert (republished.status, republished.rows, republished.revision) == ("republished", 3, 2)
    assert republished.asset_extra == republished.published.as_extra()
    assert republished.asset_extra["csv"] == urls["csv"]
    assert healing.WindowCheck.from_json(republished.to_json()) == republished
    assert json.loads(republished.to_json())["published"]["revision"] == 2

    # A publish that died between its commit and its public copies: the check finishes it.
    storage.delete(urls["csv"])
    restored = check("run-5")
    assert restored.status == "unchanged" and "restored" in restored.detail
    assert storage.exists(urls["csv"])


class _FrozenDatetime(datetime):
    """`now` at 2026-11-05 12:00 UTC, for the module under test only."""

    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 11, 5, 12, tzinfo=UTC).astimezone(tz)


@pytest.fixture(autouse=True)
def _no_s3(monkeypatch):
    monkeypatch.delenv("TIMECARD_INSTANCE_ALIAS", raising=False)
