"""timecard.airflow_timetable: the schedule in Airflow's types, registered by the plugin under
the path DAG files use and under the plugin's own (older) path, round-tripped the way the
dag-processor and the scheduler do it."""

import json
import textwrap
from datetime import date

import pendulum
import pytest
from airflow import plugins_manager
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
from airflow.timetables.base import DataInterval, TimeRestriction

from timecard import schedule
from timecard.airflow_timetable import LocalMidnightTimetable, data_interval

NEW_PATH = "timecard.airflow_timetable.LocalMidnightTimetable"
OLD_PATH = "timecard_timetable.LocalMidnightTimetable"

DAG_FILE = """
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from timecard.airflow_timetable import LocalMidnightTimetable

with DAG(
    dag_id="timecard_weekly_seoul",
    schedule=LocalMidnightTimetable("Asia/Seoul", weekdays=(0,), window_days=7),
    start_date=pendulum.datetime(2026, 3, 2, tz="Asia/Seoul"),
    catchup=True,
):
    EmptyOperator(task_id="publish")
"""


@pytest.fixture(scope="module", autouse=True)
def registered():
    plugins_manager.ensure_plugins_loaded()
    return plugins_manager.get_timetables_plugins()


def test_the_plugin_registers_both_paths(registered):
    assert registered[NEW_PATH] is LocalMidnightTimetable
    assert issubclass(registered[OLD_PATH], LocalMidnightTimetable)
    assert LocalMidnightTimetable("UTC").type_name == NEW_PATH


def test_a_dag_file_using_this_module_round_trips_through_dag_serialization(tmp_path):
    (tmp_path / "weekly_seoul.py").write_text(textwrap.dedent(DAG_FILE))
    bag = DagBag(dag_folder=tmp_path, safe_mode=False)
    assert bag.import_errors == {}

    serialized = json.loads(json.dumps(DagSerialization.to_dict(bag.dags["timecard_weekly_seoul"])))
    assert serialized["dag"]["timetable"]["__type"] == NEW_PATH
    scheduler_dag = DagSerialization.from_dict(serialized)
    assert isinstance(scheduler_dag.timetable, LocalMidnightTimetable)
    first = scheduler_dag.next_dagrun_info(last_automated_run_info=None)
    assert first.data_interval == data_interval(
        schedule.window_for_run_day(date(2026, 3, 9), "Asia/Seoul", 7)
    )


def test_a_dag_version_serialized_under_the_plugin_path_still_loads(tmp_path, registered):
    (tmp_path / "weekly_seoul.py").write_text(textwrap.dedent(DAG_FILE))
    dag = DagBag(dag_folder=tmp_path, safe_mode=False).dags["timecard_weekly_seoul"]
    serialized = json.loads(json.dumps(DagSerialization.to_dict(dag)))
    serialized["dag"]["timetable"]["__type"] = OLD_PATH

    timetable = DagSerialization.from_dict(serialized).timetable

    assert type(timetable) is registered[OLD_PATH]
    assert timetable.serialize() == {"timezone": "Asia/Seoul", "weekdays": [0], "window_days": 7}


def test_runs_are_the_schedule_windows_as_pendulum_utc_intervals():
    timetable = LocalMidnightTimetable("America/New_York", weekdays=(6,))
    restriction = TimeRestriction(
        earliest=pendulum.datetime(2026, 3, 1, tz="UTC"), latest=None, catchup=True
    )
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)

    expected = schedule.window_for_run_day(date(2026, 3, 8), "America/New_York")
    assert isinstance(info.data_interval, DataInterval)
    assert (info.data_interval.start, info.data_interval.end) == (expected.start, expected.end)
    assert info.data_interval.start.tzinfo == pendulum.UTC
    assert info.run_after == info.data_interval.end
    manual = timetable.infer_manual_data_interval(
        run_after=pendulum.datetime(2026, 3, 10, tz="UTC")
    )
    assert manual == info.data_interval
