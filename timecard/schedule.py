"""A saved report's schedule: runs at 00:00 local time, each covering the previous local days.

A schedule fires at the first instant of each scheduled local day (every day, or only on
`weekdays`, 0 = Monday) and gives that run the window
`[start of the local day window_days days earlier, start of the run day)`.

- Windows follow the local calendar, not a fixed 24 hours: on DST change days a 1-day window is
  23 or 25 hours (23.5 or 24.5 on Lord Howe Island), so consecutive daily windows tile time with
  no gap and no overlap.
- Where DST skips midnight (e.g. America/Havana), a day starts at its first instant that exists;
  where midnight happens twice, at its first occurrence (`timecard.timerange.local_midnight`).

Pure arithmetic on the standard library: every window is a `TimeRange` of aware UTC instants in
the report's zone. The Airflow timetable (`timecard.airflow_timetable`) adapts it to Airflow's
types; the DAG tasks, backfill, the sample job and the UI call it directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from timecard.errors import UsageError
from timecard.limits import DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS, MIN_WINDOW_DAYS
from timecard.timerange import TimeRange, local_midnight, zone

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class MidnightSchedule:
    """Validated schedule arithmetic on local calendar days; every instant it returns is UTC."""

    zone: ZoneInfo
    weekdays: tuple[int, ...] | None  # None: every day
    window_days: int

    @classmethod
    def parse(
        cls,
        timezone: object,
        weekdays: Iterable[int] | None = None,
        window_days: object = DEFAULT_WINDOW_DAYS,
    ) -> MidnightSchedule:
        """The schedule, or a one-paragraph `UsageError` naming the bad argument."""
        if not isinstance(timezone, str):
            raise UsageError(f"The time zone must be an IANA name such as 'UTC', not {timezone!r}.")
        return cls(zone(timezone), checked_weekdays(weekdays), checked_window_days(window_days))

    def day_start(self, day: date) -> datetime:
        return local_midnight(day, self.zone)

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def first_day_starting_at_or_after(self, instant: datetime) -> date:
        day = self.local_date(instant)
        return day if self.day_start(day) == instant else day + ONE_DAY

    def is_run_day(self, day: date) -> bool:
        return self.weekdays is None or day.weekday() in self.weekdays

    def run_day_on_or_after(self, day: date) -> date:
        while not self.is_run_day(day):
            day += ONE_DAY
        return day

    def run_day_on_or_before(self, day: date) -> date:
        while not self.is_run_day(day):
            day -= ONE_DAY
        return day

    def last_run_day_at(self, instant: datetime) -> date:
        """The latest run day whose midnight is at or before `instant`."""
        # The start of `instant`'s own local day is never after `instant`.
        return self.run_day_on_or_before(self.local_date(checked_aware(instant)))

    def window(self, run_day: date) -> TimeRange:
        """The window of the run that fires at the start of local day `run_day`."""
        return TimeRange(
            self.day_start(run_day - timedelta(days=self.window_days)),
            self.day_start(run_day),
            self.zone.key,
        )

    def previous_window(self, at: datetime) -> TimeRange:
        """The window of the latest run at or before `at`: the most recent complete window."""
        return self.window(self.last_run_day_at(at))

    def next_window(
        self,
        last: TimeRange | None,
        earliest: datetime | None,
        latest: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> TimeRange | None:
        """The window of the next scheduled run after the run whose window was `last` (None: no
        run yet), for a schedule that starts at `earliest` and whose windows start no later than
        `latest` (either None: unbounded). Without `catchup`, missed runs are skipped to the
        latest one at `now`. None when nothing anchors the schedule or it has ended."""
        # Each entry is a lower bound on the next run day; the next run is the first run day on
        # or after all of them.
        lower_bounds: list[date] = []
        if last is not None:
            lower_bounds.append(self.local_date(last.end) + ONE_DAY)
            # The new window must also start after the last one did: after a window_days change
            # a run could otherwise reuse a logical date, which Airflow keeps unique per DAG.
            lower_bounds.append(self.local_date(last.start) + timedelta(days=self.window_days + 1))
        if earliest is not None:
            first_day = self.first_day_starting_at_or_after(earliest)
            lower_bounds.append(first_day + timedelta(days=self.window_days))
        if not catchup:
            lower_bounds.append(self.last_run_day_at(now))
        if not lower_bounds:
            return None  # No previous run and no start: nothing anchors the schedule.
        window = self.window(self.run_day_on_or_after(max(lower_bounds)))
        if latest is not None and window.start > latest:
            return None
        return window


def checked_weekdays(weekdays: object) -> tuple[int, ...] | None:
    """Sorted unique weekdays (0 = Monday), None for every day; all seven days are None too."""
    if weekdays is None:
        return None
    values = tuple(weekdays) if isinstance(weekdays, Iterable) else ()
    if not values or not all(type(day) is int and 0 <= day <= 6 for day in values):
        raise UsageError(
            f"Weekdays must be a non-empty list of numbers from 0 (Monday) to 6 (Sunday), "
            f"not {weekdays!r}. Use weekdays=None for a report that runs every day."
        )
    unique = tuple(sorted(set(values)))
    # All seven days is a daily schedule: one spelling keeps summaries and serialization uniform.
    return None if len(unique) == 7 else unique


def checked_window_days(window_days: object) -> int:
    if type(window_days) is not int or not MIN_WINDOW_DAYS <= window_days <= MAX_WINDOW_DAYS:
        raise UsageError(
            f"window_days must be a whole number of days from {MIN_WINDOW_DAYS} to "
            f"{MAX_WINDOW_DAYS}, not {window_days!r}: each run covers that many local calendar "
            "days before it."
        )
    return window_days


def checked_aware(instant: object) -> datetime:
    if not isinstance(instant, datetime) or instant.tzinfo is None:
        raise UsageError(
            f"Expected a date and time with a time zone (for example the run's run_after), "
            f"not {instant!r}."
        )
    return instant


def window_for_run_day(
    run_day: date, timezone: str, window_days: int = DEFAULT_WINDOW_DAYS
) -> TimeRange:
    """The window of a run that fires at the start of local day `run_day`."""
    return MidnightSchedule.parse(timezone, None, window_days).window(run_day)


def previous_window(
    at: datetime,
    timezone: str,
    weekdays: Iterable[int] | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> TimeRange:
    """The window of the latest scheduled run at or before `at`: the most recent complete window.

    Works for any run, including manual runs without a logical date: pass the run's `run_after`.
    """
    return MidnightSchedule.parse(timezone, weekdays, window_days).previous_window(at)
