"""Backfills: `airflow backfill create` under a real scheduler, and `timecard backfill` in-process.

Both select windows by their local start date, inclusive, and publish one partition per window.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tests.airflow_processes import AirflowProcesses, MetadataDatabase, component_environment
from tests.builders import (
    BACKFILLED_DAYS,
    DAILY_SEOUL,
    deliver_events,
    final_table,
    finished_backfill_runs,
    logins,
    own_postgres_database,
    published_manifests,
    write_definition,
    write_ndjson,
)
from tests.builders import DAILY_SEOUL_DAG_ID as DAG_ID
from tests.builders import DAILY_SEOUL_SLUG as SLUG
from timecard import storage
from timecard.cli import main
from timecard.definitions import parse_definition
from timecard.pipeline import ReportSpec, output_urls, report_folder

SPEC = ReportSpec.from_definition(parse_definition(SLUG, yaml.safe_load(DAILY_SEOUL), SLUG))


# -- airflow backfill create, with a real scheduler, dag-processor and api-server -----------------


@pytest.fixture
def components(timecard_home, reports_dir, s3_roots, tmp_path):
    """Airflow components sharing a private home and a PostgreSQL metadata database of their
    own (SQLite locks up when `backfill create` and the scheduler create runs at once on a busy
    machine); all stopped afterwards.

    Their environment starts from this process's, so the timecard and S3 settings that the
    fixtures above set reach every component and task."""
    with own_postgres_database() as metadata:
        env = component_environment(
            timecard_home,
            {
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
                    f"postgresql+psycopg2://postgres@127.0.0.1:5432/{metadata}"
                ),
                # Only the backfill's runs: unpausing the DAG must not also start today's run.
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                # Two cores: one parsing process leaves the CPU to the tasks.
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            },
        )
        processes = AirflowProcesses(env, tmp_path / "airflow-components")
        yield processes
        processes.stop()


@pytest.mark.slow
def test_airflow_backfill_create_with_real_scheduler(components, reports_dir, s3_roots, s3_server):
    write_definition(reports_dir, SLUG, DAILY_SEOUL)
    # 1, 2 and 3 agents on the three days: each partition's row count names its window.
    for count, day in enumerate(BACKFILLED_DAYS, start=1):
        deliver_events(s3_roots, s3_server, day, logins(day, [f"agent{n}" for n in range(count)]))
    db = MetadataDatabase(components.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])

    with components.logs_on_failure():
        components.run("db", "migrate")
        # Workers need only the execution API; the UI's core API would just cost CPU.
        components.start("api-server", "api-server", "--apps", "execution")
        components.start("dag-processor", "dag-processor")
        components.start("scheduler", "scheduler")
        components.wait_until(
            lambda: db.rows("SELECT 1 FROM serialized_dag WHERE dag_id = :d", d=DAG_ID),
            "the dag-processor to serialize the DAG",
            timeout=120,
        )
        components.wait_until(components.execution_api_is_up, "the api-server", timeout=120)
        components.run("dags", "unpause", DAG_ID)
        components.run(
            *("backfill", "create", "--dag-id", DAG_ID),
            *("--from-date", "2026-11-02T00:00:00+09:00"),
            *("--to-date", "2026-11-04T00:00:00+09:00"),
        )
        runs = components.wait_until(
            lambda: finished_backfill_runs(db, expected=3),
            "the backfill's three runs to finish",
            timeout=300,
        )
        assert set(runs.values()) == {"success"}, runs

        assert report_folder(SPEC) == f"{s3_roots}/out/connect/my-instance/Reports/team/daily"
        manifests = published_manifests()
        assert {manifest["dag_id"] for manifest in manifests} == {DAG_ID}
        assert sorted(manifest["run_id"] for manifest in manifests) == sorted(runs)


# -- timecard backfill: in-process, every window attempted, non-zero exit at the end -------------


@pytest.mark.slow
def test_timecard_backfill_cli_reports_each_window_and_fails_at_the_end(
    reports_dir, timecard_home, capsys
):
    write_definition(reports_dir, SLUG, DAILY_SEOUL + "max_rows: 2\n")
    # Three agents on the middle day exceed the two-row limit; the days around it do not.
    agents_per_day = {"2026-11-02": ["a", "b"], "2026-11-03": ["a", "b", "c"], "2026-11-04": ["a"]}
    for day, agents in agents_per_day.items():
        write_ndjson(timecard_home / "events", day, logins(day, agents))

    exit_code = main(["backfill", SLUG, "--from", "2026-11-02", "--to", "2026-11-04"])

    assert exit_code == 1
    outcomes = final_table(capsys.readouterr().err)
    assert {day: (row["status"], row["rows"]) for day, row in outcomes.items()} == {
        "2026-11-02": ("published", "2"),
        "2026-11-03": ("failed", ""),
        "2026-11-04": ("published", "1"),
    }
    assert outcomes["2026-11-03"]["detail"].startswith("failed at validate_report")
    assert storage.exists(output_urls(SPEC, "2026-11-02")["csv"])
    assert not storage.exists(output_urls(SPEC, "2026-11-03")["csv"])
    assert storage.exists(output_urls(SPEC, "2026-11-04")["csv"])


def failed_tasks(dag_id: str, logical_date: datetime) -> dict[str, int]:
    """task id -> try number of the failed task instances of `dag_id`'s run at `logical_date`."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TaskInstance.task_id, TaskInstance.try_number)
            .join(DagRun, DagRun.run_id == TaskInstance.run_id)
            .where(
                TaskInstance.dag_id == dag_id,
                DagRun.dag_id == dag_id,
                DagRun.logical_date == logical_date,
                TaskInstance.state == "failed",
            )
        ).all()
    return {row.task_id: row.try_number for row in rows}


@pytest.mark.slow
def test_a_window_without_raw_files_fails_once_and_shows_its_reason_without_a_traceback(
    reports_dir, timecard_home, capsys
):
    write_definition(reports_dir, SLUG, DAILY_SEOUL)
    # The window of 2026-11-05 (Seoul) reads the UTC days 2026-11-04 to 2026-11-06 with their
    # neighbours: nothing landed there. The windows around it reach 2026-11-02 or 2026-11-07.
    for day in ("2026-11-02", "2026-11-07"):
        write_ndjson(timecard_home / "events", day, logins(day, ["a"]))

    exit_code = main(["backfill", SLUG, "--from", "2026-11-04", "--to", "2026-11-06"])

    err = capsys.readouterr().err
    assert exit_code == 1
    assert "Traceback" not in err
    outcomes = final_table(err)
    assert {day: row["status"] for day, row in outcomes.items()} == {
        "2026-11-04": "published",
        "2026-11-05": "failed",
        "2026-11-06": "published",
    }
    detail = outcomes["2026-11-05"]["detail"]
    assert detail.startswith("failed at build_report: No raw event file")
    assert "(log above)" not in detail and "\n" not in detail
    # The terminal shows the progress lines and the table, nothing of Airflow's.
    assert len(err.splitlines()) == 3 + 1 + 1 + 3, err
    # The refused window's run (recorded as its scheduled run: dated at the window's start): its
    # build_report ran once, although the report's tasks have two retries.
    refused_run = datetime(2026, 11, 4, 15, tzinfo=UTC)
    assert failed_tasks(DAG_ID, refused_run) == {"build_report": 1}
    log = timecard_home / "logs" / "backfill" / SLUG / "2026-11-05.log"
    assert "No raw event file" in log.read_text()  # Airflow's own account is kept


# -- runs of other windows ---------------------------------------------------------------------


def runs_and_task_instances(db: MetadataDatabase) -> tuple[dict[str, tuple], list[tuple]]:
    """Every run of the DAG (run id -> its whole row) and every task instance's whole row."""
    runs = db.rows("SELECT * FROM dag_run WHERE dag_id = :d ORDER BY run_id", d=DAG_ID)
    tis = db.rows(
        "SELECT * FROM task_instance WHERE dag_id = :d ORDER BY run_id, task_id", d=DAG_ID
    )
    return {run.run_id: tuple(run) for run in runs}, [tuple(ti) for ti in tis]


@pytest.mark.slow
def test_timecard_backfill_leaves_the_next_windows_run_alone_and_records_its_own(
    components, reports_dir, s3_roots, s3_server
):
    """The run of the window after the backfilled one, dated at that window's start (the
    backfilled window's end), as `airflow backfill create` or the scheduler records it. On the
    main of 2026-12-06 `timecard backfill` ran `dag.test()` at that very logical date, which
    cleared and deleted that run, and left a manual run blocking the scheduler's."""
    import subprocess
    import sys

    write_definition(reports_dir, SLUG, DAILY_SEOUL)
    day, next_day = "2026-11-02", "2026-11-03"
    for each in (day, next_day):
        deliver_events(s3_roots, s3_server, each, logins(each, ["a", "b"]))
    db = MetadataDatabase(components.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with components.logs_on_failure():
        components.run("db", "migrate")
        components.run("dags", "reserialize")
        components.run(
            *("backfill", "create", "--dag-id", DAG_ID),
            *(
                "--from-date",
                f"{next_day}T00:00:00+09:00",
                "--to-date",
                f"{next_day}T00:00:00+09:00",
            ),
        )
    runs_before, tis_before = runs_and_task_instances(db)
    [other] = db.rows(
        "SELECT run_id, run_type, logical_date FROM dag_run WHERE dag_id = :d", d=DAG_ID
    )
    assert other.run_type == "backfill"
    assert other.logical_date == datetime(2026, 11, 2, 15, tzinfo=UTC)  # the backfilled one's end
    assert tis_before  # the run's task instances, waiting for a scheduler

    done = subprocess.run(
        [sys.executable, "-m", "timecard.cli", "backfill", SLUG, "--from", day, "--to", day],
        env=components.env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert done.returncode == 0, done.stderr
    assert final_table(done.stderr)[day]["status"] == "published"
    runs_after, tis_after = runs_and_task_instances(db)
    assert other.run_id in runs_after, "the next window's run was deleted"
    assert runs_after[other.run_id] == runs_before[other.run_id]  # the whole row, unchanged
    assert [ti for ti in tis_after if other.run_id in ti] == tis_before
    own = db.rows(
        "SELECT run_type, logical_date, data_interval_start, data_interval_end, state"
        " FROM dag_run WHERE dag_id = :d AND run_id != :other",
        d=DAG_ID,
        other=other.run_id,
    )
    window = datetime(2026, 11, 1, 15, tzinfo=UTC), datetime(2026, 11, 2, 15, tzinfo=UTC)
    # Exactly one run of the backfilled window: its scheduled run, so the scheduler neither runs
    # the window again nor finds its logical date taken when it dates the next window's run.
    assert [tuple(row) for row in own] == [("scheduled", window[0], *window, "success")]


# -- a setting changed between runs ---------------------------------------------------------


def staging_leftovers(output_root) -> list[str]:
    staging = output_root / "_staging"
    return sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("setting", "values"),
    [
        ("TIMECARD_INSTANCE_ALIAS", ("first-alias", "second-alias")),
        ("TIMECARD_OUTPUT_ROOT", ("output", "moved-output")),
    ],
)
def test_a_setting_changed_between_backfills_publishes_and_strands_nothing(
    reports_dir, timecard_home, tmp_path, setting, values
):
    """`timecard backfill` as a user runs it (one process per command, one metadata database).
    On the main of 2026-12-06 the second backfill after an alias change failed at
    publish_report with AirflowInactiveAssetInInletOrOutletException (the Asset's URI held the
    alias; Airflow keeps one active Asset per name) and left its staged report under
    `_staging/`."""
    import subprocess
    import sys

    from tests.airflow_processes import airflow_environment

    write_definition(reports_dir, SLUG, DAILY_SEOUL)
    day = "2026-11-02"
    write_ndjson(timecard_home / "events", day, logins(day, ["a", "b"]))
    base = {
        **os.environ,
        **airflow_environment(str(tmp_path / "airflow-home")),
        "TIMECARD_HOME": str(timecard_home),
        "TIMECARD_REPORTS_DIR": str(reports_dir),
        "TIMECARD_OUTPUT_ROOT": str(timecard_home / "output"),
    }
    base.pop("TIMECARD_INSTANCE_ALIAS", None)
    for value in values:
        env = {**base, setting: str(timecard_home / value) if "ROOT" in setting else value}
        done = subprocess.run(
            [sys.executable, "-m", "timecard.cli", "backfill", SLUG, "--from", day, "--to", day],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert final_table(done.stderr)[day]["status"] == "published"
        assert "InactiveAsset" not in done.stderr
        output_root = Path(env["TIMECARD_OUTPUT_ROOT"])
        alias = env.get("TIMECARD_INSTANCE_ALIAS", "my-instance")
        folder = output_root / "connect" / alias / "Reports" / "team" / "daily" / f"date={day}"
        assert json.loads((folder / f"{SLUG}-{day}_manifest.json").read_bytes())["rows"] == 2
        assert staging_leftovers(output_root) == []


@pytest.mark.slow
def test_backfill_after_an_upgrade_retires_the_asset_whose_uri_held_the_alias(
    reports_dir, timecard_home, tmp_path
):
    """A metadata database from before the Asset URI stopped holding the alias: the report's
    active Asset has the old URI. With no scheduler to orphan it, publish_report failed."""
    import subprocess
    import sys

    import sqlalchemy

    from tests.airflow_processes import airflow_environment

    write_definition(reports_dir, SLUG, DAILY_SEOUL)
    day = "2026-11-02"
    write_ndjson(timecard_home / "events", day, logins(day, ["a"]))
    env = {
        **os.environ,
        **airflow_environment(str(tmp_path / "airflow-home")),
        "TIMECARD_HOME": str(timecard_home),
        "TIMECARD_REPORTS_DIR": str(reports_dir),
    }
    command = [sys.executable, "-m", "timecard.cli", "backfill", SLUG, "--from", day, "--to", day]

    def backfill() -> str:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stderr

    backfill()
    engine = sqlalchemy.create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    old_uri = f"x-timecard://my-instance/reports/{SLUG}"
    with engine.begin() as connection:  # as the earlier version left it
        connection.execute(
            sqlalchemy.text("UPDATE asset_active SET uri = :old WHERE name = :name"),
            {"old": old_uri, "name": f"timecard_{SLUG}"},
        )
    stderr = backfill()
    assert final_table(stderr)[day]["status"] == "published"
    with engine.connect() as connection:
        active = connection.execute(
            sqlalchemy.text("SELECT uri FROM asset_active WHERE name = :name"),
            {"name": f"timecard_{SLUG}"},
        ).all()
    engine.dispose()
    assert [uri for (uri,) in active] == [f"x-timecard://reports/{SLUG}"]
    assert staging_leftovers(timecard_home / "output") == []


@pytest.mark.slow
def test_a_failed_backfill_window_leaves_nothing_staged(reports_dir, timecard_home, capsys):
    write_definition(reports_dir, SLUG, DAILY_SEOUL + "max_rows: 1\n")
    day = "2026-11-02"
    write_ndjson(timecard_home / "events", day, logins(day, ["a", "b"]))
    assert main(["backfill", SLUG, "--from", day, "--to", day]) == 1
    assert final_table(capsys.readouterr().err)[day]["status"] == "failed"
    assert staging_leftovers(timecard_home / "output") == []
