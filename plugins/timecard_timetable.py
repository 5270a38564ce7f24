"""Airflow plugin: registers the saved reports' timetable (code in `timecard.airflow_timetable`,
arithmetic in `timecard.schedule`).

Airflow deserializes a custom timetable only if a plugin registered a class under the import path
the serialized DAG names. Two paths are registered:

- `timecard.airflow_timetable.LocalMidnightTimetable`, which DAG files use;
- `timecard_timetable.LocalMidnightTimetable` (this module, as Airflow loads it from the plugins
  folder), the name DAG versions serialized before the timetable left this file still carry.

No module imports this one: it is the plugin, not a library.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from timecard import airflow_timetable

# The helpers as this module offered them, for DAG files written against it.
previous_window = airflow_timetable.previous_window
window_for_run_day = airflow_timetable.window_for_run_day


class LocalMidnightTimetable(airflow_timetable.LocalMidnightTimetable):
    """The same timetable under this module's name (see the module docstring)."""


class TimecardTimetablePlugin(AirflowPlugin):
    name = "timecard_timetable"
    timetables = [airflow_timetable.LocalMidnightTimetable, LocalMidnightTimetable]
