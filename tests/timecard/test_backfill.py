"""timecard/backfill.py, directly: which windows a backfill selects, why none, the closing table
and the exit code. Real backfills (`dag.test()` per window, `airflow backfill create` under a
scheduler) are in tests/dags/test_backfill.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import yaml

from tests.builders import DAILY_SEOUL, final_table
from timecard.backfill import WindowOutcome, exit_code, format_table, scheduled_windows
from timecard.definitions import parse_definition
from timecard.errors import UsageError

LATER = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def timetable_plugin():
    """backfill.py imports the window arithmetic from the timetable plugin by bare name, which
    works once Airflow has loaded its plugins, as every Airflow process does."""
    from airflow import plugins_manager

    plugins_manager.ensure_plugins_loaded()


def definition(body: str, slug: str = "daily-seoul"):
    return parse_definition(slug, yaml.safe_load(body), slug)


def test_a_daily_report_has_one_window_per_local_day_selected_by_its_start():
    windows = scheduled_windows(
        definition(DAILY_SEOUL), date(2026, 11, 2), date(2026, 11, 4), LATER
    )
    assert [(w.local_date, w.start, w.end, w.status) for w in windows] == [
        (
            f"2026-11-0{day}",
            datetime(2026, 11, day - 1, 15, tzinfo=UTC),  # 00:00 in Seoul
            datetime(2026, 11, day, 15, tzinfo=UTC),
            "pending",
        )
        for day in (2, 3, 4)
    ]


def test_a_window_that_has_not_ended_is_skipped_with_its_reason():
    now = datetime(2026, 11, 3, 16, tzinfo=UTC)  # 01:00 on 11-04 in Seoul: 11-04 not over yet
    windows = scheduled_windows(definition(DAILY_SEOUL), date(2026, 11, 3), date(2026, 11, 4), now)
    assert [(w.local_date, w.status, w.detail) for w in windows] == [
        ("2026-11-03", "pending", ""),
        ("2026-11-04", "skipped", "window has not ended yet"),
    ]


def test_a_weekly_report_selects_only_the_days_that_start_a_window():
    weekly = definition("name: W\ntimezone: UTC\nschedule: {weekly: [mon]}\n", "weekly")
    windows = scheduled_windows(weekly, date(2026, 11, 1), date(2026, 11, 30), LATER)
    starts = [w.local_date for w in windows]
    assert starts and len(starts) < 30
    assert all((w.end - w.start).days == weekly.window_days for w in windows)


@pytest.mark.parametrize(
    ("body", "first", "last", "problem"),
    [
        ("name: Only by hand\n", date(2026, 11, 2), date(2026, 11, 3), "has no schedule"),
        (DAILY_SEOUL, date(2026, 11, 3), date(2026, 11, 2), "--to (2026-11-02) is before --from"),
    ],
)
def test_a_backfill_that_cannot_work_is_refused_with_what_to_do(body, first, last, problem):
    with pytest.raises(UsageError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        scheduled_windows(definition(body), first, last, LATER)


def test_a_range_without_a_window_names_the_nearest_ones():
    weekly = definition("name: W\ntimezone: UTC\nschedule: {weekly: [mon]}\n", "weekly")
    starts = {
        w.local_date
        for w in scheduled_windows(weekly, date(2026, 11, 1), date(2026, 11, 30), LATER)
    }
    empty_day = next(date(2026, 11, d) for d in range(2, 29) if f"2026-11-{d:02d}" not in starts)
    with pytest.raises(UsageError) as refusal:
        scheduled_windows(weekly, empty_day, empty_day, LATER)
    message = str(refusal.value)
    assert f"No scheduled window of 'weekly' starts between {empty_day} and {empty_day}" in message
    assert "(before)" in message and "(after)" in message


def test_the_closing_table_reads_back_by_window_and_failures_set_the_exit_code():
    windows = [
        WindowOutcome("2026-11-02", LATER, LATER, "published", 1234, ""),
        WindowOutcome("2026-11-03", LATER, LATER, "failed", None, "no raw event files"),
        WindowOutcome("2026-11-04", LATER, LATER, "skipped", None, "window has not ended yet"),
    ]
    table = format_table(windows)
    assert table.splitlines()[0].split() == [
        "window",
        "(local",
        "start)",
        "status",
        "rows",
        "detail",
    ]
    assert final_table(table) == {
        "2026-11-02": {"status": "published", "rows": "1,234", "detail": ""},
        "2026-11-03": {"status": "failed", "rows": "", "detail": "no raw event files"},
        "2026-11-04": {"status": "skipped", "rows": "", "detail": "window has not ended yet"},
    }
    assert exit_code(windows) == 1
    assert exit_code([windows[0], windows[2]]) == 0
