"""timecard.schedule: local-midnight windows as TimeRanges, with no Airflow involved."""

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from timecard.errors import UsageError
from timecard.schedule import MidnightSchedule, previous_window, window_for_run_day
from timecard.timerange import TimeRange

MONDAY, WEDNESDAY = 0, 2
HOUR = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def midnight(day: date, tz: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def test_importing_the_schedule_loads_no_airflow_and_no_pendulum():
    probe = (
        "import sys, timecard.schedule; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'pendulum')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


@pytest.mark.parametrize(
    ("tz", "covered_day", "hours"),
    [
        ("America/New_York", date(2026, 3, 7), 24),
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
        ("Australia/Lord_Howe", date(2026, 4, 5), 24.5),
        ("Asia/Seoul", date(2026, 11, 1), 24),
    ],
)
def test_a_window_is_the_local_calendar_days_before_the_run_day(tz, covered_day, hours):
    window = window_for_run_day(covered_day + timedelta(days=1), tz)

    assert isinstance(window, TimeRange)
    assert window == TimeRange(
        midnight(covered_day, tz), midnight(covered_day + timedelta(days=1), tz), tz
    )
    assert window.end - window.start == timedelta(hours=hours)
    assert window.start.utcoffset() == timedelta(0)
    assert window.local_start.date() == covered_day


def test_a_skipped_midnight_starts_the_day_when_the_clocks_jump():
    # Cuba springs forward at 00:00 -> 01:00: 2026-03-08 starts at 01:00 CDT (05:00 UTC).
    window = window_for_run_day(date(2026, 3, 9), "America/Havana")
    assert (window.start, window.end) == (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4))
    assert window.local_start.hour == 1


def test_a_seven_day_window_covers_the_previous_week_across_dst():
    window = window_for_run_day(date(2026, 3, 9), "America/New_York", 7)
    assert (window.start, window.end) == (utc(2026, 3, 2, 5), utc(2026, 3, 9, 4))
    assert window.end - window.start == 7 * 24 * HOUR - HOUR


def test_previous_window_is_the_latest_scheduled_run_at_or_before_the_instant():
    ny = "America/New_York"
    thursday = datetime(2026, 3, 12, 15, tzinfo=ZoneInfo(ny))
    assert previous_window(thursday, ny, (WEDNESDAY,)) == TimeRange(
        midnight(date(2026, 3, 10), ny), midnight(date(2026, 3, 11), ny), ny
    )
    wednesday = midnight(date(2026, 3, 11), ny)
    assert previous_window(wednesday, ny, (WEDNESDAY,)).end == wednesday
    just_before = wednesday - timedelta(seconds=1)
    assert previous_window(just_before, ny, (WEDNESDAY,)).end == midnight(date(2026, 3, 4), ny)


def test_weekly_windows_step_from_run_day_to_run_day():
    schedule = MidnightSchedule.parse("Asia/Seoul", (MONDAY,), 7)
    first = schedule.next_window(None, utc(2026, 3, 1, 15), None, catchup=True, now=utc(2027, 1, 1))
    second = schedule.next_window(
        first, utc(2026, 3, 1, 15), None, catchup=True, now=utc(2027, 1, 1)
    )

    assert first == window_for_run_day(date(2026, 3, 9), "Asia/Seoul", 7)
    assert second == window_for_run_day(date(2026, 3, 16), "Asia/Seoul", 7)
    assert second.start == first.end  # no gap, no overlap


def test_next_window_stops_after_latest_and_needs_an_anchor():
    schedule = MidnightSchedule.parse("UTC")
    assert schedule.next_window(None, None, None, catchup=True, now=utc(2026, 3, 9)) is None
    first = schedule.next_window(
        None, utc(2026, 3, 1), utc(2026, 3, 1), catchup=True, now=utc(2026, 3, 9)
    )
    assert first == TimeRange(utc(2026, 3, 1), utc(2026, 3, 2), "UTC")
    assert (
        schedule.next_window(first, utc(2026, 3, 1), utc(2026, 3, 1), True, utc(2026, 3, 9)) is None
    )


def test_without_catchup_missed_runs_are_skipped_to_the_latest():
    schedule = MidnightSchedule.parse("UTC")
    long_ago = window_for_run_day(date(2025, 1, 6), "UTC")
    window = schedule.next_window(long_ago, None, None, catchup=False, now=utc(2026, 3, 9, 12))
    assert window == TimeRange(utc(2026, 3, 8), utc(2026, 3, 9), "UTC")


def test_a_longer_window_never_reuses_the_last_window_start():
    last = window_for_run_day(date(2026, 3, 10), "UTC")
    window = MidnightSchedule.parse("UTC", None, 7).next_window(
        last, utc(2026, 1, 1), None, catchup=True, now=utc(2027, 1, 1)
    )
    assert window.start > last.start
    assert window == TimeRange(utc(2026, 3, 10), utc(2026, 3, 17), "UTC")


def test_all_seven_weekdays_are_a_daily_schedule():
    assert MidnightSchedule.parse("UTC", range(7)).weekdays is None
    assert MidnightSchedule.parse("UTC", (3, 0, 3)).weekdays == (0, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Mars/Base",), "Unknown time zone"),
        ((["UTC"],), "must be an IANA name"),
        (("UTC", (7,)), "0 \\(Monday\\) to 6 \\(Sunday\\)"),
        (("UTC", ()), "non-empty"),
        (("UTC", None, 0), "from 1 to 7"),
        (("UTC", None, 8), "from 1 to 7"),
        (("UTC", None, True), "from 1 to 7"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(args, message):
    with pytest.raises(UsageError, match=message) as refused:
        MidnightSchedule.parse(*args)
    assert "\n" not in str(refused.value)


def test_a_naive_instant_is_refused():
    with pytest.raises(UsageError, match="with a time zone"):
        previous_window(datetime(2026, 11, 2, 12), "UTC")
