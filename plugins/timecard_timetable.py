"""Airflow timetable for saved reports: run at 00:00 local time, report the previous local days.

`LocalMidnightTimetable(timezone, weekdays=None, window_days=1)` fires at the first instant of
each scheduled local day (every day, or only on `weekdays`, 0 = Monday) and gives that run the
data interval `[start of the local day window_days days earlier, start of the run day)`.

- Windows follow the local calendar, not a fixed 24 hours: on DST change days a 1-day window
  is 23 or 25 hours (23.5 or 24.5 on Lord Howe Island), so consecutive daily windows tile time
  with no gap and no overlap. Amazon Connect's scheduled reports say "the last 24 hours"
  instead, which double-counts or drops an hour around each DST change.
- Where DST skips midnight (e.g. America/Havana), a day starts at its first instant that
  exists; where midnight happens twice, at its first occurrence (`timecard.timerange`).
- Airflow derives a run's `logical_date` from `data_interval.start` (`DagRunInfo.logical_date`),
  so the logical date is the start of the window, i.e. the report's partition date, while
  `run_after` is the local midnight that starts the run day. `start_date`/`end_date` and
  `airflow backfill create --from-date/--to-date` therefore select runs by window start,
  the contract documented for `SerializedDAG.iter_dagrun_infos_between`.

Airflow loads this file from its plugins folder as the module `timecard_timetable`; DAG files
must import the class from that module so the serialized DAG names the registered class.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable

from timecard.definitions import MAX_WINDOW_DAYS, WEEKDAY_NAMES
from timecard.errors import UsageError
from timecard.timerange import local_midnight, zone

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class _MidnightSchedule:
    """Validated schedule arithmetic on local calendar days; every instant it returns is UTC."""

    zone: ZoneInfo
    weekdays: tuple[int, ...] | None  # None: every day
    window_days: int

    @classmethod
    def parse(
        cls, timezone: str, weekdays: Iterable[int] | None, window_days: int
    ) -> _MidnightSchedule:
        if not isinstance(timezone, str):
            raise UsageError(f"The time zone must be an IANA name such as 'UTC', not {timezone!r}.")
        return cls(zone(timezone), _checked_weekdays(weekdays), _checked_window(window_days))

    def day_start(self, day: date) -> pendulum.DateTime:
        return pendulum.instance(local_midnight(day, self.zone).astimezone(pendulum.UTC))

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
        return self.run_day_on_or_before(self.local_date(instant))

    def window(self, run_day: date) -> DataInterval:
        return DataInterval(
            start=self.day_start(run_day - timedelta(days=self.window_days)),
            end=self.day_start(run_day),
        )

    def run_info(self, run_day: date) -> DagRunInfo:
        window = self.window(run_day)
        return DagRunInfo(run_after=window.end, data_interval=window)


def _checked_weekdays(weekdays: Iterable[int] | None) -> tuple[int, ...] | None:
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


def _checked_window(window_days: int) -> int:
    if type(window_days) is not int or not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise UsageError(
            f"window_days must be a whole number of days from 1 to {MAX_WINDOW_DAYS}, "
            f"not {window_days!r}: each run covers that many local calendar days before it."
        )
    return window_days


def _checked_aware(instant: datetime) -> datetime:
    if not isinstance(instant, datetime) or instant.tzinfo is None:
        raise UsageError(
            f"Expected a date and time with a time zone (for example the run's run_after), "
            f"not {instant!r}."
        )
    return instant


def window_for_run_day(run_day: date, timezone: str, window_days: int = 1) -> DataInterval:
    """The data window of a run that fires at the start of local day `run_day`, in UTC."""
    return _MidnightSchedule.parse(timezone, None, window_days).window(run_day)


def previous_window(
    at: datetime,
    timezone: str,
    weekdays: Iterable[int] | None = None,
    window_days: int = 1,
) -> DataInterval:
    """The window of the latest scheduled run at or before `at`: the most recent complete window.

    Works for any run, including manual runs without a logical date: pass the run's `run_after`.
    """
    schedule = _MidnightSchedule.parse(timezone, weekdays, window_days)
    return schedule.window(schedule.last_run_day_at(_checked_aware(at)))


class LocalMidnightTimetable(Timetable):
    """Run at 00:00 local time on every day or on chosen weekdays; cover the previous local days."""

    def __init__(
        self,
        timezone: str,
        weekdays: Iterable[int] | None = None,
        window_days: int = 1,
    ) -> None:
        self._schedule = _MidnightSchedule.parse(timezone, weekdays, window_days)
        self.description = self._describe()

    @property
    def summary(self) -> str:
        schedule = self._schedule
        if schedule.weekdays is None:
            days = "daily"
        elif len(schedule.weekdays) == 1:
            days = f"weekly on {_short_name(schedule.weekdays[0])}"
        else:
            days = ", ".join(_short_name(day) for day in schedule.weekdays)
        text = f"{days} at 00:00 {schedule.zone.key}"
        if schedule.window_days > 1:
            text += f" ({schedule.window_days}-day window)"
        return text

    def _describe(self) -> str:
        schedule = self._schedule
        if schedule.weekdays is None:
            days = "every day"
        else:
            days = "on " + ", ".join(WEEKDAY_NAMES[day].capitalize() for day in schedule.weekdays)
        covered = (
            "the previous local calendar day"
            if schedule.window_days == 1
            else f"the previous {schedule.window_days} local calendar days"
        )
        return f"At 00:00 {schedule.zone.key} {days}; each run covers {covered}."

    def serialize(self) -> dict[str, Any]:
        schedule = self._schedule
        return {
            "timezone": schedule.zone.key,
            "weekdays": None if schedule.weekdays is None else list(schedule.weekdays),
            "window_days": schedule.window_days,
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> LocalMidnightTimetable:
        return cls(data["timezone"], data["weekdays"], data["window_days"])

    def infer_manual_data_interval(self, *, run_after: pendulum.DateTime) -> DataInterval:
        # As if the schedule had fired at the latest scheduled midnight at or before run_after.
        schedule = self._schedule
        return schedule.window(schedule.last_run_day_at(run_after))

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        schedule = self._schedule
        # Each entry is a lower bound on the next run day; the next run is the first run day
        # on or after all of them.
        lower_bounds: list[date] = []
        if last_automated_data_interval is not None:
            last = last_automated_data_interval
            lower_bounds.append(schedule.local_date(last.end) + ONE_DAY)
            # The new window must also start after the last one did: after a window_days change
            # a run could otherwise reuse a logical date, which Airflow keeps unique per DAG.
            lower_bounds.append(
                schedule.local_date(last.start) + timedelta(days=schedule.window_days + 1)
            )
        if restriction.earliest is not None:
            first_day = schedule.first_day_starting_at_or_after(restriction.earliest)
            lower_bounds.append(first_day + timedelta(days=schedule.window_days))
        if not restriction.catchup:
            lower_bounds.append(schedule.last_run_day_at(pendulum.now("UTC")))
        if not lower_bounds:
            return None  # No previous run and no start_date: nothing anchors the schedule.
        info = schedule.run_info(schedule.run_day_on_or_after(max(lower_bounds)))
        if restriction.latest is not None and info.logical_date > restriction.latest:
            return None
        return info


def _short_name(weekday: int) -> str:
    return WEEKDAY_NAMES[weekday][:3].capitalize()


class TimecardTimetablePlugin(AirflowPlugin):
    name = "timecard_timetable"
    timetables = [LocalMidnightTimetable]
