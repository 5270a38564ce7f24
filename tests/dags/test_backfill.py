"""Backfills: `airflow backfill create` under a real scheduler, and `timecard backfill` in-process.

Both select windows by their local start date, inclusive, and publish one partition per window.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import boto3
import pytest
import yaml

from tests.airflow_processes import AirflowProcesses, MetadataDatabase, component_environment
from tests.builders import event, write_ndjson
from tests.conftest import S3_KEY, S3_SECRET, own_postgres_database
from tests.dags.conftest import DAILY_SEOUL, write_definition
from timecard import storage
from timecard.cli import main
from timecard.definitions import parse_definition
from timecard.pipeline import ReportSpec, output_urls, report_folder

SLUG = "daily-seoul"
DAG_ID = f"timecard_{SLUG}"
SPEC = ReportSpec.from_definition(parse_definition(SLUG, yaml.safe_load(DAILY_SEOUL), SLUG))
BACKFILLED_DAYS = ["2026-11-02", "2026-11-03", "2026-11-04"]


def logins(local_day: str, agents: list[str]) -> list[dict]:
    """One session per agent, 10:00-14:00 in Seoul on `local_day` (the same UTC day)."""
    return [
        record
        for agent in agents
        for record in (
            event("LOGIN", f"{local_day}T01:00:00Z", agent),
            event("LOGOUT", f"{local_day}T05:00:00Z", agent),
        )
    ]


def seoul_window(local_day: str) -> dict:
    start = date.fromisoformat(local_day)
    return {
        "start_utc": f"{start - timedelta(days=1)}T15:00:00Z",
        "end_utc": f"{start}T15:00:00Z",
        "start_local": f"{start}T00:00:00+09:00",
        "end_local": f"{start + timedelta(days=1)}T00:00:00+09:00",
        "timezone": "Asia/Seoul",
    }


# -- airflow backfill create, with a real scheduler, dag-processor and api-server -----------------


@pytest.fixture
def s3_roots(timecard_home, s3_bucket, monkeypatch) -> str:
    """Events, cache and output in the bucket, for this process and the components it starts
    (set after `timecard_home`, which clears them)."""
    for setting, folder in (("EVENTS", "events"), ("CACHE", "cache"), ("OUTPUT", "out")):
        monkeypatch.setenv(f"TIMECARD_{setting}_ROOT", f"{s3_bucket}/{folder}")
    return s3_bucket


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


def deliver_events(bucket_url: str, endpoint: str, day: str, records: list[dict]) -> None:
    """Put raw events into the bucket with plain boto3, as Firehose would deliver them."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )
    body = "".join(json.dumps(record) + "\n" for record in records).encode()
    client.put_object(
        Bucket=bucket_url.removeprefix("s3://"), Key=f"events/date={day}/part-0.json", Body=body
    )


def finished_backfill_runs(db: MetadataDatabase, expected: int) -> dict[str, str] | None:
    """The backfill's runs and their states, once all `expected` of them have finished."""
    rows = db.rows(
        "SELECT run_id, state FROM dag_run WHERE dag_id = :dag_id AND run_type = 'backfill'",
        dag_id=DAG_ID,
    )
    runs = {row.run_id: row.state for row in rows}
    finished = all(state in ("success", "failed") for state in runs.values())
    return runs if len(runs) == expected and finished else None


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


def published_manifests(days: list[str] = BACKFILLED_DAYS) -> list[dict]:
    """The manifests of the backfilled windows (`days`, each with one more agent than the day
    before), once each partition is checked: exactly its CSV, typed Parquet and manifest, the
    right window, and a row count and sha256 that match the files."""
    folder = report_folder(SPEC)
    assert [file.url.removeprefix(folder + "/") for file in storage.list_files(folder)] == [
        f"date={day}/{SLUG}-{day}{suffix}"
        for day in days
        for suffix in (".csv", ".parquet", "_manifest.json")
    ]
    manifests = []
    for count, day in enumerate(days, start=1):
        urls = output_urls(SPEC, day)
        csv = storage.read_bytes(urls["csv"])
        manifest = json.loads(storage.read_bytes(urls["manifest"]))
        assert manifest["window"] == seoul_window(day)
        assert manifest["rows"] == count == len(csv.decode().splitlines()) - 1
        assert manifest["csv"]["sha256"] == hashlib.sha256(csv).hexdigest()
        parquet = storage.read_bytes(urls["parquet"])
        assert manifest["parquet"]["sha256"] == hashlib.sha256(parquet).hexdigest()
        manifests.append(manifest)
    return manifests


# -- timecard backfill: in-process, every window attempted, non-zero exit at the end -------------


def final_table(stderr: str) -> dict[str, dict[str, str]]:
    """The command's closing table, by window: its columns cut at the header's positions."""
    header, *lines = stderr[stderr.rindex("window (local start)") :].splitlines()
    names = ["status", "rows", "detail"]
    starts = [header.index(name) for name in names]
    ends = [*starts[1:], None]
    return {
        line[: starts[0]].strip(): {
            name: line[start:end].strip()
            for name, start, end in zip(names, starts, ends, strict=True)
        }
        for line in lines
    }


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
