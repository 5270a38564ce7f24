"""The example PostgreSQL load DAG, triggered by the report Assets under a real scheduler.

A real scheduler, dag-processor and api-server share one metadata database. The report DAG runs
for two days (`airflow backfill create`); each publish is an asset event, and the scheduler
itself creates the load DAG's asset-triggered runs from them. The rows land in a database of
the test's own on the machine's PostgreSQL, which is dropped at the end.
"""

from __future__ import annotations

import hashlib
from contextlib import closing
from datetime import UTC, datetime

import psycopg2
import pytest

from tests.airflow_processes import AirflowProcesses, MetadataDatabase, component_environment
from tests.builders import DAGS, DAILY_SEOUL, own_postgres_database, write_definition
from tests.publishing import SEOUL, write_day_events
from timecard import storage
from timecard.pipeline import output_urls

REPORT_DAG, LOAD_DAG = "timecard_daily-seoul", "timecard_load_postgres"
DAYS = ("2026-11-02", "2026-11-03")
CHECKED = (
    "username, routing_profile, login_time_utc, logout_time_utc, last_activity_utc, "
    "login_time_local, session_duration_seconds, possibly_abandoned, agent_arn, report_slug"
)


def test_the_load_dag_is_absent_without_a_connection_id(reports_dir, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    write_definition(reports_dir, SEOUL.slug, DAILY_SEOUL)
    monkeypatch.delenv("TIMECARD_POSTGRES_CONN_ID", raising=False)
    assert LOAD_DAG not in DagBag(dag_folder=str(DAGS)).dags
    monkeypatch.setenv("TIMECARD_POSTGRES_CONN_ID", "warehouse")
    dag = DagBag(dag_folder=str(DAGS)).dags[LOAD_DAG]
    assert {asset.name for asset in dag.timetable.asset_condition.objects} == {
        "timecard_daily-seoul"
    }


def checksum(rows) -> str:
    """Over the values as text, instants in UTC: PostgreSQL and Polars name zones differently."""

    def text(value) -> str:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).isoformat()
        return repr(value)

    lines = sorted("|".join(text(value) for value in row) for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def parquet_rows(day: str) -> list[tuple]:
    typed = storage.read_parquet(output_urls(SEOUL, day)["parquet"])
    return typed.select([name.strip() for name in CHECKED.split(",")]).rows()


def table_rows(database: str, day: str) -> list[tuple]:
    # closing(): a psycopg2 connection's own `with` ends a transaction, not the connection.
    with closing(psycopg2.connect(host="127.0.0.1", user="postgres", dbname=database)) as db:
        cursor = db.cursor()
        cursor.execute("SELECT to_regclass('timecard_daily_seoul')")
        if cursor.fetchone()[0] is None:
            return []
        cursor.execute(f"SELECT {CHECKED} FROM timecard_daily_seoul WHERE date = %s", (day,))
        return cursor.fetchall()


@pytest.fixture
def components(timecard_home, reports_dir, postgres_database, tmp_path, monkeypatch):
    monkeypatch.setenv("TIMECARD_POSTGRES_CONN_ID", "timecard_warehouse")
    with own_postgres_database() as metadata:
        processes = AirflowProcesses(
            _environment(timecard_home, postgres_database, metadata),
            tmp_path / "airflow-components",
        )
        yield processes
        processes.stop()


def _environment(timecard_home, warehouse: str, metadata: str) -> dict[str, str]:
    return component_environment(
        timecard_home,
        {
            # PostgreSQL, not SQLite: the scheduler creates runs while `backfill create` does.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
                f"postgresql+psycopg2://postgres@127.0.0.1:5432/{metadata}"
            ),
            # Airflow's own connection mechanism: a connection given as an environment variable.
            "AIRFLOW_CONN_TIMECARD_WAREHOUSE": f"postgres://postgres@127.0.0.1:5432/{warehouse}",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        },
    )


def load_runs(db: MetadataDatabase) -> list:
    return db.rows("SELECT run_id, run_type, state FROM dag_run WHERE dag_id = :d", d=LOAD_DAG)


@pytest.mark.slow
def test_publishes_trigger_idempotent_loads(components, reports_dir, postgres_database):
    write_definition(reports_dir, SEOUL.slug, DAILY_SEOUL)
    events = components.env["TIMECARD_HOME"] + "/events"
    for day in DAYS:
        write_day_events(events, day)
    db = MetadataDatabase(components.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])

    def loaded(expected: dict[str, int]):
        runs = load_runs(db)
        if any(run.state not in ("success", "failed") for run in runs):
            return None
        counts = {day: len(table_rows(postgres_database, day)) for day in expected}
        return runs if counts == expected else None

    with components.logs_on_failure():
        components.run("db", "migrate")
        components.start("api-server", "api-server", "--apps", "execution")
        components.start("dag-processor", "dag-processor")
        components.start("scheduler", "scheduler")
        components.wait_until(
            lambda: len(db.rows("SELECT dag_id FROM serialized_dag")) >= 2,
            "the dag-processor to serialize both DAGs",
            timeout=120,
        )
        components.wait_until(components.execution_api_is_up, "the api-server", timeout=120)
        # The consumer first: an asset event queues runs only for unpaused consumers.
        components.run("dags", "unpause", LOAD_DAG)
        components.run("dags", "unpause", REPORT_DAG)
        components.run(
            *("backfill", "create", "--dag-id", REPORT_DAG),
            *("--from-date", "2026-11-02T00:00:00+09:00", "--to-date", "2026-11-03T00:00:00+09:00"),
        )
        runs = components.wait_until(
            lambda: loaded({day: 4 for day in DAYS}), "both days in PostgreSQL", timeout=300
        )
        assert {run.run_type for run in runs} == {"asset_triggered"}
        assert {run.state for run in runs} == {"success"}
        for day in DAYS:
            rows = table_rows(postgres_database, day)
            assert len(rows) == len(parquet_rows(day)) == 4
            assert checksum(rows) == checksum(parquet_rows(day))

        # A late file changes 2026-11-02; republishing it replaces that day's rows only.
        write_day_events(events, DAYS[0], late_agent="e")
        before = len(runs)
        # Airflow allows one running backfill per DAG: the scheduler closes the first one a
        # little after its last run ends.
        components.wait_until(
            lambda: not db.rows("SELECT id FROM backfill WHERE completed_at IS NULL"),
            "the first backfill to be marked complete",
            timeout=120,
        )
        components.run(
            *("backfill", "create", "--dag-id", REPORT_DAG, "--reprocess-behavior", "completed"),
            *("--from-date", "2026-11-02T00:00:00+09:00", "--to-date", "2026-11-02T00:00:00+09:00"),
        )
        runs = components.wait_until(
            lambda: len(load_runs(db)) > before and loaded({DAYS[0]: 5, DAYS[1]: 4}),
            "the republished day in PostgreSQL",
            timeout=300,
        )
    assert {run.state for run in runs} == {"success"}
    for day, count in zip(DAYS, (5, 4), strict=True):
        rows = table_rows(postgres_database, day)
        assert len(rows) == len(parquet_rows(day)) == count
        assert checksum(rows) == checksum(parquet_rows(day))
    assert "e" in {row[0] for row in table_rows(postgres_database, DAYS[0])}
