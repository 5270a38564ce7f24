"""A real distributed run: `airflow backfill create` on the CeleryExecutor with two workers.

What docker-compose.yaml deploys, as processes on this machine: PostgreSQL as the metadata
database (a fresh database), Redis as the broker (a database and queue of this run's own), an
api-server, a scheduler, a dag-processor and two Celery workers with different host names, on
a real S3 API server holding generated events. Every window's CSV and manifest must be
published, the tasks must have run on both workers, and every process must stop again.

Then one more window, whose raw day is large enough to be condensed in shards (the components'
memory budget is lowered, so a few megabytes make a day of several shards): its shards must have
run on both workers, and its CSV must be byte for byte the CLI's (`timecard report`) on the same
input, condensed there in one piece.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import redis
import sqlalchemy
from celery import Celery

from tests.airflow_processes import AirflowProcesses, MetadataDatabase, component_environment
from tests.builders import (
    DAILY_SEOUL,
    BucketView,
    daily_seoul_spec,
    deliver_events,
    event,
    finished_backfill_runs,
    logins,
    published_manifests,
    write_definition,
)
from tests.builders import DAILY_SEOUL_DAG_ID as DAG_ID
from tests.builders import DAILY_SEOUL_SLUG as SLUG
from timecard import condensed, storage
from timecard.cli import main
from timecard.pipeline import output_urls

POSTGRES_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
WORKERS = ("worker-a", "worker-b")
# Four windows run at once (the DAG's max_active_runs) and a worker holds at most two tasks at a
# time (--concurrency 2), so neither worker can take all the work.
BACKFILLED_DAYS = [(date(2026, 11, 2) + timedelta(days=n)).isoformat() for n in range(4)]
CLAIM_KEY = "timecard-tests:claimed-by"
# The components' memory budget (TIMECARD_MEMORY_BUDGET_MB): small enough that a day of a few
# megabytes is condensed in several shards. This process (the CLI below) keeps the default.
BUDGET_MB = 64
# The window after the backfilled ones; its raw UTC day (the same date) is delivered in
# SHARD_FILES files, each more than half a shard's bytes, so each file is a shard of its own.
SHARDED_DAY = "2026-11-06"
SHARD_FILES = 4
SHARDED_AGENTS = 150


def service_missing(what: str, error: Exception) -> pytest.fail.Exception:
    return pytest.fail.Exception(
        f"The CeleryExecutor test needs {what} on this machine (the development machines and CI "
        f"run it; see the README's deployment section). Connecting failed: {error}",
        pytrace=False,
    )


@pytest.fixture
def metadata_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run's Airflow, dropped afterwards."""
    name = f"timecard_celery_{uuid.uuid4().hex[:12]}"
    server = sqlalchemy.create_engine(
        f"{POSTGRES_SERVER}/postgres",
        isolation_level="AUTOCOMMIT",
        poolclass=sqlalchemy.pool.NullPool,
    )
    try:
        with server.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    except sqlalchemy.exc.OperationalError as error:
        raise service_missing(
            "PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth)", error
        ) from error
    yield f"{POSTGRES_SERVER}/{name}"
    with server.connect() as connection:
        # FORCE: a connection the components left behind must not keep the database alive.
        connection.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


@dataclass(frozen=True)
class Broker:
    url: str
    queue: str


@pytest.fixture
def broker() -> Iterator[Broker]:
    """An empty Redis database claimed for this run, and a queue name of its own; flushed after.

    A database of its own keeps Celery's shared keys (unacked messages, control replies) apart
    from any other run on the same server; the claim is atomic, so two runs never share one."""
    run = uuid.uuid4().hex[:12]
    try:
        for number in range(1, 16):
            client = redis.Redis(REDIS_HOST, REDIS_PORT, db=number)
            # The claim expires, so a run killed before its clean-up frees the database.
            if client.dbsize() == 0 and client.set(CLAIM_KEY, run, nx=True, ex=3600):
                break
            client.close()
        else:
            pytest.fail("No empty Redis database (1-15) to claim for the Celery broker.")
    except redis.ConnectionError as error:
        raise service_missing(f"Redis at {REDIS_HOST}:{REDIS_PORT}", error) from error
    yield Broker(f"redis://{REDIS_HOST}:{REDIS_PORT}/{number}", f"timecard-{run}")
    client.flushdb()
    client.close()


@pytest.fixture
def cluster(timecard_home, reports_dir, s3_roots, metadata_database, broker, tmp_path):
    """The components' shared environment on the CeleryExecutor; every process stopped after."""
    env = component_environment(
        timecard_home,
        {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_database,
            "AIRFLOW__CELERY__BROKER_URL": broker.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata_database}",
            # Tasks go to this run's queue, and only this run's workers listen to it.
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": broker.queue,
            # Only the backfill's runs: unpausing the DAG must not also start today's run.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            # Two cores: one parsing process leaves the CPU to the tasks.
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "TIMECARD_MEMORY_BUDGET_MB": str(BUDGET_MB),
        },
    )
    processes = AirflowProcesses(env, tmp_path / "airflow-components")
    yield processes
    processes.stop()


def answering_workers(broker_url: str) -> set[str]:
    """The Celery workers that answer a ping on the broker (what the compose health check asks)."""
    app = Celery(broker=broker_url)
    try:
        return {name for reply in app.control.ping(timeout=1.0) for name in reply}
    finally:
        app.close()


def sharded_day_files(day: str, file_bytes: int) -> list[list[dict]]:
    """SHARD_FILES files of one UTC day, each of more than `file_bytes` of NDJSON: a session per
    agent, 10:00-14:00 in Seoul, its LOGIN and LOGOUT in different files, one agent's session
    left open; heartbeats fill each file. One LOGIN is delivered twice (the same EventId, in
    two files): the shards' combine must find that copy as a one-piece condense does."""
    files: list[list[dict]] = [[] for _ in range(SHARD_FILES)]
    for number in range(SHARDED_AGENTS):
        agent = f"agent{number:03d}"
        files[number % SHARD_FILES].append(event("LOGIN", f"{day}T01:00:00Z", agent))
        if number:  # agent000 never logs out: its Last activity is its last heartbeat
            logout = event("LOGOUT", f"{day}T05:00:00Z", agent)
            files[(number + 1) % SHARD_FILES].append(logout)
    files[-1].append(files[0][0])
    for index, records in enumerate(files):
        size = sum(len(json.dumps(record)) + 1 for record in records)
        beat = 0
        while size <= file_bytes:
            agent = f"agent{(beat * SHARD_FILES + index) % SHARDED_AGENTS:03d}"
            minute = 60 + (beat * 7 + index) % 240
            stamp = f"{day}T{minute // 60:02d}:{minute % 60:02d}:{index * 10 + 1:02d}Z"
            records.append(event("HEART_BEAT", stamp, agent))
            size += len(json.dumps(records[-1])) + 1
            beat += 1
    return files


def deliver_files(bucket_url: str, endpoint: str, day: str, files: list[list[dict]]) -> None:
    """Put one raw day's files into the bucket, as Firehose delivers them (NDJSON objects)."""
    bucket = BucketView(endpoint, bucket_url)
    for index, records in enumerate(files):
        bucket.put_records(f"events/date={day}/part-{index}.json", records)


@pytest.mark.slow
def test_backfill_on_the_celery_executor_runs_on_both_workers(
    cluster, broker, reports_dir, s3_roots, s3_server, tmp_path
):
    write_definition(reports_dir, SLUG, DAILY_SEOUL)
    # 1, 2, 3 and 4 agents on the four days: each partition's row count names its window.
    for count, day in enumerate(BACKFILLED_DAYS, start=1):
        deliver_events(s3_roots, s3_server, day, logins(day, [f"agent{n}" for n in range(count)]))
    db = MetadataDatabase(cluster.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])

    with cluster.logs_on_failure():
        cluster.run("db", "migrate", timeout=300)
        # Workers need only the execution API; the UI's core API would just cost CPU.
        cluster.start("api-server", "api-server", "--apps", "execution")
        cluster.start("dag-processor", "dag-processor")
        cluster.start("scheduler", "scheduler")
        for worker in WORKERS:
            cluster.start(
                worker,
                *("celery", "worker", "--celery-hostname", worker),
                *("--queues", broker.queue, "--concurrency", "2"),
                # Each worker its own pid file, as on a machine of its own.
                *("--pid", str(cluster.log_dir / f"{worker}.pid")),
                hostname=worker,
            )
        cluster.wait_until(
            lambda: db.rows("SELECT 1 FROM serialized_dag WHERE dag_id = :d", d=DAG_ID),
            "the dag-processor to serialize the DAG",
            timeout=180,
        )
        cluster.wait_until(cluster.execution_api_is_up, "the api-server", timeout=120)
        cluster.wait_until(
            lambda: answering_workers(broker.url) == {f"celery@{worker}" for worker in WORKERS},
            "both Celery workers to answer on the broker",
            timeout=180,
        )
        cluster.run("dags", "unpause", DAG_ID)
        cluster.run(
            *("backfill", "create", "--dag-id", DAG_ID),
            *("--from-date", f"{BACKFILLED_DAYS[0]}T00:00:00+09:00"),
            *("--to-date", f"{BACKFILLED_DAYS[-1]}T00:00:00+09:00"),
        )
        runs = cluster.wait_until(
            lambda: finished_backfill_runs(db, expected=len(BACKFILLED_DAYS)),
            "the backfill's runs to finish",
            timeout=420,
        )
        assert set(runs.values()) == {"success"}, runs

        # Every window published: its CSV, then its manifest, from one of the backfill's runs.
        manifests = published_manifests(BACKFILLED_DAYS)
        assert all(manifest["run_id"] in runs for manifest in manifests)

        # Every task went through this run's Celery queue, and both workers ran some of them.
        # No day of these small windows has more than one shard: the combine step of each run
        # maps over nothing, so Airflow skips it without a worker.
        tasks = db.rows(
            "SELECT task_id, hostname, queue, state FROM task_instance WHERE dag_id = :d",
            d=DAG_ID,
        )
        ran = [task for task in tasks if task.task_id != "combine_day"]
        assert {(task.queue, task.state) for task in ran} == {(broker.queue, "success")}
        assert {task.hostname for task in ran} == set(WORKERS)
        assert {task.state for task in tasks if task.task_id == "combine_day"} == {"skipped"}

        # One more window, alone on the cluster: its raw day is condensed in shards, which
        # both workers take at once (each holds at most two tasks: --concurrency 2, and the
        # CeleryExecutor's prefetch multiplier of 1).
        # Airflow allows one running backfill per DAG: the scheduler completes the first one a
        # loop after its last run finishes.
        cluster.wait_until(
            lambda: (
                not db.rows(
                    "SELECT 1 FROM backfill WHERE dag_id = :d AND completed_at IS NULL", d=DAG_ID
                )
            ),
            "the first backfill to complete",
            timeout=120,
        )
        shard_bytes = condensed.run_bytes(BUDGET_MB)
        deliver_files(
            s3_roots, s3_server, SHARDED_DAY, sharded_day_files(SHARDED_DAY, shard_bytes // 2)
        )
        cluster.run(
            *("backfill", "create", "--dag-id", DAG_ID),
            *("--from-date", f"{SHARDED_DAY}T00:00:00+09:00"),
            *("--to-date", f"{SHARDED_DAY}T00:00:00+09:00"),
        )
        all_runs = cluster.wait_until(
            lambda: finished_backfill_runs(db, expected=len(BACKFILLED_DAYS) + 1),
            "the sharded window's run to finish",
            timeout=300,
        )
        [sharded_run] = set(all_runs) - set(runs)
        assert all_runs[sharded_run] == "success", all_runs

        shards = db.rows(
            "SELECT hostname, rendered_map_index, state FROM task_instance "
            "WHERE dag_id = :d AND run_id = :r AND task_id = 'condense_shard'",
            d=DAG_ID,
            r=sharded_run,
        )
        day_shards = [shard for shard in shards if shard.rendered_map_index.startswith(SHARDED_DAY)]
        assert sorted(shard.rendered_map_index for shard in day_shards) == [
            f"{SHARDED_DAY} {index}/{SHARD_FILES}" for index in range(1, SHARD_FILES + 1)
        ]
        assert {shard.state for shard in shards} == {"success"}
        # The day was shared: both workers condensed some of its shards.
        assert {shard.hostname for shard in day_shards} == set(WORKERS)
        combined = db.rows(
            "SELECT rendered_map_index, state FROM task_instance "
            "WHERE dag_id = :d AND run_id = :r AND task_id = 'combine_day'",
            d=DAG_ID,
            r=sharded_run,
        )
        assert [(row.rendered_map_index, row.state) for row in combined] == [
            (SHARDED_DAY, "success")
        ]

        # The same CSV as the CLI's on the same raw files, condensed there in one piece (this
        # process has the default budget) into a cache of its own.
        cli_csv = tmp_path / "cli.csv"
        next_day = (date.fromisoformat(SHARDED_DAY) + timedelta(days=1)).isoformat()
        assert (
            main(
                [
                    *("report", "--events", storage.join(s3_roots, "events")),
                    *("--start", f"{SHARDED_DAY}T00:00:00", "--end", f"{next_day}T00:00:00"),
                    *("--tz", "Asia/Seoul", "--lookback-days", "1"),
                    *("--cache", str(tmp_path / "cli-cache"), "--out", str(cli_csv)),
                ]
            )
            == 0
        )
        published_csv = storage.read_bytes(output_urls(daily_seoul_spec(), SHARDED_DAY)["csv"])
        assert published_csv == cli_csv.read_bytes()
        assert len(published_csv.decode().splitlines()) == 1 + SHARDED_AGENTS

    # Fails if any process the test started (component, Celery pool child, task) outlives it.
    cluster.stop()
