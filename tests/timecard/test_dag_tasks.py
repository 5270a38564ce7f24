"""The tasks: each turns its XCom text into typed objects, calls one step and returns the result
as text, called directly here; a deterministic refusal fails its task at once, with its reason;
the environment's failures (StorageError) and anything else keep their retries. Proven directly
and on a real report DAG run (`dag.test()`)."""

from __future__ import annotations

import dataclasses
import inspect
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import yaml
from airflow.sdk.exceptions import AirflowFailException

from tests.builders import (
    DAILY_SEOUL,
    RUN_DAY_MIDNIGHT,
    event,
    parse_dags,
    write_definition,
    write_ndjson,
)
from timecard import dag_tasks, pipeline, storage
from timecard.dag_tasks import REFUSAL_XCOM_KEY, refusals_are_final, refusals_fail_at_once
from timecard.definitions import parse_definition
from timecard.errors import NoRawEventsError, RowLimitExceeded, UsageError
from timecard.publishing import Published, output_urls
from timecard.spec import (
    ReportSpec,
    ShardTask,
    StagedReport,
    ValidatedReport,
    WindowPlan,
)
from timecard.storage import StorageError


@pytest.mark.parametrize("refusal", [UsageError, NoRawEventsError, RowLimitExceeded])
def test_a_refusal_fails_the_task_without_retries_and_keeps_its_message(refusal):
    expected = pytest.raises(AirflowFailException, match="over its limit")
    with expected as failure, refusals_fail_at_once():
        raise refusal("The report has 12 rows, over its limit of 10.")
    assert isinstance(failure.value.__cause__, refusal)


def test_other_failures_keep_the_task_retries():
    with pytest.raises(OSError, match="connection reset"), refusals_fail_at_once():
        raise OSError("connection reset")


def test_a_storage_error_is_left_to_the_tasks_retries():
    @refusals_are_final
    def read_events():
        raise StorageError("Could not list s3://bucket/events: S3 answered with a server error.")

    with pytest.raises(StorageError, match="s3://bucket/events"):
        read_events()


def test_a_task_that_succeeds_returns_its_value_and_keeps_its_signature():
    @refusals_are_final
    def plan(spec: dict, run_id=None) -> dict:
        return {"spec": spec, "run_id": run_id}

    assert plan({"slug": "x"}, run_id="r") == {"spec": {"slug": "x"}, "run_id": "r"}
    assert list(inspect.signature(plan).parameters) == ["spec", "run_id"]


def test_a_refusal_becomes_a_failure_airflow_does_not_retry():
    @refusals_are_final
    def build():
        raise NoRawEventsError("No raw event file exists for any day of the window.")

    with pytest.raises(AirflowFailException, match="^No raw event file exists") as failure:
        build()
    assert isinstance(failure.value.__cause__, NoRawEventsError)


@pytest.mark.slow
def test_an_unreadable_raw_file_fails_its_task_once_with_the_reason_as_xcom(
    timecard_home, tmp_path, monkeypatch, airflow_db
):
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    reports = tmp_path / "reports"
    reports.mkdir()
    monkeypatch.setenv("TIMECARD_REPORTS_DIR", str(reports))
    write_definition(reports, "daily-seoul", DAILY_SEOUL)
    events = timecard_home / "events"
    write_ndjson(events, "2026-11-02", [event("LOGIN", "2026-11-02T01:00:00Z", "a")])
    damaged = events / "date=2026-11-02" / "part-9.json.gz"
    damaged.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"not deflate data")

    run = parse_dags().dags["timecard_daily-seoul"].test(logical_date=RUN_DAY_MIDNIGHT)

    assert run.state == "failed"
    with create_session() as session:
        failed = session.execute(
            select(TaskInstance.task_id, TaskInstance.try_number, TaskInstance.map_index).where(
                TaskInstance.run_id == run.run_id, TaskInstance.state == "failed"
            )
        ).all()
        reasons = [
            XComModel.deserialize_value(row)
            for row in session.scalars(
                XComModel.get_many(run_id=run.run_id, key=REFUSAL_XCOM_KEY, dag_ids=run.dag_id)
            )
        ]
    # condense_shard is mapped over the shards of the raw days: the one holding the damaged file
    # failed, on its first try, although the report's tasks have two retries.
    assert [(row.task_id, row.try_number) for row in failed] == [("condense_shard", 1)]
    assert len(reasons) == 1
    assert reasons[0].startswith(f"The raw event file {damaged} is a damaged gzip file")


# -- the tasks' logic, called directly: XCom text in, one step, XCom text out ---------------------

SEOUL_DAY = (datetime(2026, 11, 1, 15, tzinfo=UTC), datetime(2026, 11, 2, 15, tzinfo=UTC))


def seoul_spec() -> ReportSpec:
    return ReportSpec(
        "daily-seoul", "Daily Seoul", "Asia/Seoul", prefix="team/daily", lookback_days=1
    )


@pytest.fixture
def seoul_events(timecard_home):
    write_ndjson(
        timecard_home / "events",
        "2026-11-02",
        [
            event("LOGIN", "2026-11-02T01:00:00Z", "a"),
            event("LOGOUT", "2026-11-02T03:00:00Z", "a"),
            event("LOGIN", "2026-11-02T02:00:00Z", "b"),
        ],
    )
    return timecard_home / "events"


class Outlets(dict):
    """What a task's `outlet_events` gives per Asset: an event whose `extra` the task sets."""

    def __missing__(self, asset):
        self[asset] = SimpleNamespace(extra=None)
        return self[asset]


def test_a_scheduled_run_passes_every_step_its_json_and_publishes(seoul_events):
    from airflow.sdk import DAG

    spec = seoul_spec()
    text = spec.to_json()
    plan_text = dag_tasks.plan_scheduled_window.function(
        text, list(range(7)), 1, data_interval_start=SEOUL_DAY[0], data_interval_end=SEOUL_DAY[1]
    )
    plan = WindowPlan.from_json(plan_text)
    assert plan == pipeline.plan(spec, *SEOUL_DAY) and plan.local_date == "2026-11-02"

    # Small days: one shard each, finished by its own task (nothing left to combine).
    shards = dag_tasks.plan_shards.function(text, plan_text)
    assert [ShardTask.from_json(shard).shard.day for shard in shards] == [
        day.day for day in plan.days
    ]
    assert [dag_tasks.condense_shard.function(text, shard) for shard in shards] == [None] * 5
    assert dag_tasks.plan_shards.function(text, plan_text) == []

    staged_text = dag_tasks.build_report.function(text, plan_text, run_id="run-1")
    staged = StagedReport.from_json(staged_text)
    assert staged.summary.rows == 2 and staged.summary.parts_built_now == 0  # condensed above
    validated = dag_tasks.validate_report.function(text, staged_text)
    assert ValidatedReport.from_json(validated) == ValidatedReport(2)

    asset = dag_tasks.report_asset(spec.slug)
    outlets = Outlets()
    published_text = dag_tasks.publish_task(asset).function(
        text,
        plan_text,
        staged_text,
        validated,
        "elapsed",
        dag=DAG("timecard_daily-seoul", schedule=None),
        run_id="run-1",
        outlet_events=outlets,
    )
    published = Published.from_json(published_text)
    assert published.rows == 2 and published.revision == 1
    assert published.csv == output_urls(spec, "2026-11-02")["csv"]
    assert outlets[asset].extra == published.as_extra()
    assert storage.exists(published.manifest)


def test_a_manual_run_without_a_data_interval_plans_the_latest_complete_window(timecard_home):
    run = SimpleNamespace(run_after=datetime(2026, 11, 3, 1, tzinfo=UTC))  # 10:00 in Seoul
    plan = WindowPlan.from_json(
        dag_tasks.plan_scheduled_window.function(seoul_spec().to_json(), [0], 1, dag_run=run)
    )
    # 2026-11-03 is a Tuesday: the latest Monday-only run covered Sunday 2026-11-01 in Seoul.
    assert plan.local_date == "2026-11-01"
    assert (plan.start, plan.end) == (
        datetime(2026, 10, 31, 15, tzinfo=UTC),
        datetime(2026, 11, 1, 15, tzinfo=UTC),
    )


def test_a_refused_step_fails_its_task_without_retries(seoul_events):
    spec = dataclasses.replace(seoul_spec(), max_rows=1)
    plan_text = pipeline.plan(spec, *SEOUL_DAY).to_json()
    staged_text = dag_tasks.build_report.function(spec.to_json(), plan_text, run_id="run-1")
    with pytest.raises(AirflowFailException, match="over its limit of 1") as failure:
        dag_tasks.validate_report.function(spec.to_json(), staged_text)
    assert isinstance(failure.value.__cause__, RowLimitExceeded)


def test_the_dag_files_tasks_get_the_specs_json_and_the_schedule_as_numbers(timecard_home):
    from airflow.sdk import DAG

    definition = parse_definition(
        "weekly",
        yaml.safe_load(
            "name: W\ntimezone: Asia/Seoul\nschedule: {weekly: [mon, thu]}\nwindow_days: 3\n"
            "completeness: {settle_minutes: 5, max_wait_minutes: 30}\n"
        ),
        "weekly.yaml",
    )
    spec = ReportSpec.from_definition(definition)
    assert dag_tasks.gate_settings(definition) == (5, 30)
    with DAG("timecard_weekly", schedule=None) as dag:
        dag_tasks.scheduled_report_run(definition, spec, dag_tasks.report_asset("weekly"))
    gate = dag.get_task("wait_for_events")
    assert list(gate.op_args) == [spec.to_json(), [0, 3], 3, 5, 30]
    assert list(dag.get_task(dag_tasks.PLAN_TASK).op_args) == [spec.to_json(), [0, 3], 3]
    assert dag.get_task("build_report").op_args[0] == spec.to_json()
    for mapped in ("condense_shard", "combine_day"):
        assert dag.get_task(mapped).partial_kwargs["op_kwargs"]["spec"] == spec.to_json()
    assert list(dag.get_task("plan_shards").op_args)[0] == spec.to_json()


def test_the_environment_gate_applies_without_a_reports_own(timecard_home, monkeypatch):
    monkeypatch.setenv("TIMECARD_SETTLE_MINUTES", "7")
    monkeypatch.setenv("TIMECARD_MAX_WAIT_MINUTES", "45")
    definition = parse_definition(
        "daily", yaml.safe_load("name: D\nschedule: daily\n"), "daily.yaml"
    )
    assert dag_tasks.gate_settings(definition) == (7, 45)


def test_an_xcom_read_from_the_database_is_the_text_the_task_returned():
    text = seoul_spec().to_json()
    assert dag_tasks.stored_text(text) == text
    # XComModel.deserialize_value decodes a text that is JSON once more.
    assert dag_tasks.stored_text(json.loads(text)) == text


def test_a_reports_asset_is_named_by_its_slug_only():
    asset = dag_tasks.report_asset("daily-seoul")
    assert (asset.name, asset.uri) == ("timecard_daily-seoul", "x-timecard://reports/daily-seoul")
