"""The Airflow timetable of saved reports: `timecard.schedule` in Airflow's types.

`LocalMidnightTimetable(timezone, weekdays=None, window_days=1)` fires at the first instant of
each scheduled local day and gives that run the data interval of `timecard.schedule` (the
previous `window_days` local calendar days; DST and skipped midnights are handled there).

- Airflow derives a run's `logical_date` from `data_interval.start` (`DagRunInfo.logical_date`),
  so the logical date is the start of the window, i.e. the report's partition date, while
  `run_after` is the local midnight that starts the run day. `start_date`/`end_date` and
  `airflow backfill create --from-date/--to-date` therefore select runs by window start,
  the contract documented for `SerializedDAG.iter_dagrun_infos_between`.
- Airflow serializes a DAG's timetable by the class's import path and deserializes it only if a
  plugin registered a class under that path (`airflow.serialization.helpers.
  find_registered_custom_timetable`). `plugins/timecard_timetable.py` registers this class, and
  a subclass under the plugin module's own name, which DAGs serialized before this module
  existed (`timecard_timetable.LocalMidnightTimetable`) still name. DAG files import the class
  from here; no module imports the plugin.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable

from timecard.definitions import WEEKDAY_NAMES
from timecard.limits import DEFAULT_WINDOW_DAYS
from timecard.schedule import MidnightSchedule
from timecard.timerange import TimeRange


def data_interval(window: TimeRange) -> DataInterval:
    """A schedule window as Airflow's data interval (pendulum instants in UTC)."""
    return DataInterval(start=_utc(window.start), end=_utc(window.end))


def window_for_run_day(
    run_day: date, timezone: str, window_days: int = DEFAULT_WINDOW_DAYS
) -> DataInterval:
    """`timecard.schedule.window_for_run_day` as Airflow's data interval."""
    return data_interval(MidnightSchedule.parse(timezone, None, window_days).window(run_day))


def previous_window(
    at: datetime,
    timezone: str,
    weekdays: Iterable[int] | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> DataInterval:
    """`timecard.schedule.previous_window` as Airflow's data interval."""
    return data_interval(
        MidnightSchedule.parse(timezone, weekdays, window_days).previous_window(at)
    )


class LocalMidnightTimetable(Timetable):
    """Run at 00:00 local time on every day or on chosen weekdays; cover the previous local days."""

    def __init__(
        self,
        timezone: str,
        weekdays: Iterable[int] | None = None,
        window_days: int = DEFAULT_WINDOW_DAYS,
    ) -> None:
        self._schedule = MidnightSchedule.parse(timezone, weekdays, window_days)
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
        return data_interval(self._schedule.previous_window(run_after))

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        last = last_automated_data_interval
        window = self._schedule.next_window(
            last=None if last is None else TimeRange(last.start, last.end, "UTC"),
            earliest=restriction.earliest,
            latest=restriction.latest,
            catchup=restriction.catchup,
            now=pendulum.now("UTC"),
        )
        if window is None:
            return None
        interval = data_interval(window)
        return DagRunInfo(run_after=interval.end, data_interval=interval)


def _utc(instant: datetime) -> pendulum.DateTime:
    return pendulum.instance(instant.astimezone(pendulum.UTC))


def _short_name(weekday: int) -> str:
    return WEEKDAY_NAMES[weekday][:3].capitalize()
