"""The ad hoc DAG: two tasks (plan and condense, then build, validate and publish), real runs
with dag.test(), and refusals that fail the run at once and publish nothing."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from timecard import storage
from timecard.dag_tasks import ADHOC_PLAN_TASK, stored_text
from timecard.pipeline import ReportSpec, adhoc_output_id, output_urls
from timecard.spec import CondensedWindow, WindowPlan

DAGS = Path(__file__).resolve().parents[2] / "dags"
RUN_AFTER = datetime(2026, 11, 2, 15, tzinfo=UTC)
BILLING_IN_SEOUL = {
    "name": "Seoul billing",
    "preset": "custom",
    "start": "2026-11-02T00:00:00",
    "end": "2026-11-03T00:00:00",
    "timezone": "Asia/Seoul",
    "routing_profiles": ["Billing"],
    "lookback_days": 1,
}


def adhoc_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "timecard_adhoc.py"))
    assert bag.import_errors == {}
    return bag.dags["timecard_adhoc"]


def run_adhoc(conf: dict):
    return adhoc_dag().test(logical_date=None, run_after=RUN_AFTER, run_conf=conf)


def states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def xcom(run, key: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(
                run_id=run.run_id, dag_ids="timecard_adhoc", task_ids=ADHOC_PLAN_TASK, key=key
            )
        ).first()
        return stored_text(XComModel.deserialize_value(row))


def adhoc_urls(run) -> dict[str, str]:
    spec = ReportSpec(slug=adhoc_output_id(run.run_id), name="", timezone="", prefix="adhoc")
    return output_urls(spec, "2026-11-02")


def test_the_adhoc_dag_is_two_tasks_so_a_generate_click_waits_for_two_task_starts(reports_dir):
    dag = adhoc_dag()
    assert [task.task_id for task in dag.topological_sort()] == [
        "plan_and_condense",
        "build_and_publish",
    ]
    assert all(task.doc_md for task in dag.tasks)
    [outlet] = dag.get_task("build_and_publish").outlets
    assert (outlet.name, outlet.uri) == ("timecard_adhoc", "x-timecard://reports/adhoc")


@pytest.mark.slow
def test_a_run_publishes_and_a_second_run_condenses_nothing(reports_dir, small_events, airflow_db):
    first = run_adhoc(BILLING_IN_SEOUL)
    assert first.state == "success"
    assert CondensedWindow.from_json(xcom(first, "condensed")).parts_built_now > 0
    csv = storage.read_bytes(adhoc_urls(first)["csv"]).decode()
    assert [line.split(",")[0] for line in csv.splitlines()[1:]] == ["b", "c"]

    second = run_adhoc(BILLING_IN_SEOUL)
    assert second.state == "success"
    condensed = CondensedWindow.from_json(xcom(second, "condensed"))
    assert condensed.parts_built_now == 0  # warm: every needed day was only listed
    # Every raw day of the plan: the lookback, the window and a neighbouring day on each side.
    assert condensed.days == len(WindowPlan.from_json(xcom(second, "plan")).days) == 5
    # Each run keeps its own output, with the same rows.
    assert adhoc_urls(second)["csv"] != adhoc_urls(first)["csv"]
    assert storage.read_bytes(adhoc_urls(second)["csv"]).decode() == csv


@pytest.mark.slow
def test_a_window_with_no_raw_file_fails_at_planning_and_publishes_nothing(
    reports_dir, small_events, timecard_home, airflow_db
):
    run = run_adhoc(BILLING_IN_SEOUL | {"start": "2026-06-01T00:00", "end": "2026-06-02T00:00"})
    assert run.state == "failed"
    assert states(run) == {
        "plan_and_condense": "failed",
        "build_and_publish": "upstream_failed",
    }
    assert not storage.list_files(str(timecard_home / "output"))


@pytest.mark.slow
def test_over_the_row_limit_the_run_fails_publishes_nothing_and_leaves_no_staging(
    reports_dir, small_events, timecard_home, airflow_db
):
    run = run_adhoc(BILLING_IN_SEOUL | {"max_rows": 1})
    assert run.state == "failed"
    assert states(run) == {"plan_and_condense": "success", "build_and_publish": "failed"}
    assert not storage.list_files(str(timecard_home / "output"))
