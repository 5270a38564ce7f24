"""A real distributed run: `airflow backfill create` on the CeleryExecutor with two workers.

What docker-compose.yaml deploys, as processes on this machine: PostgreSQL as the metadata
database (a fresh database), Redis as the broker (a database and queue of this run's own), an
api-server, a scheduler, a dag-processor and two Celery workers with different host names, on
a real S3 API server holding generated events. Every window's CSV and manifest must be
published, the tasks must have run on both workers, and every process must stop again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import redis
import sqlalchemy
from celery import Celery

from tests.airflow_processes import AirflowProcesses, MetadataDatabase, component_environment
from tests.dags.conftest import DAILY_SEOUL, write_definition
from tests.dags.test_backfill import (
    DAG_ID,
    SLUG,
    deliver_events,
    finished_backfill_runs,
    logins,
    published_manifests,
)

POSTGRES_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
WORKERS = ("worker-a", "worker-b")
# Four windows run at once (the DAG's max_active_runs) and a worker holds at most two tasks at a
# time (--concurrency 2), so neither worker can take all the work.
BACKFILLED_DAYS = [(date(2026, 11, 2) + timedelta(days=n)).isoformat() for n in range(4)]
CLAIM_KEY = "timecard-tests:claimed-by"


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


@pytest.mark.slow
def test_backfill_on_the_celery_executor_runs_on_both_workers(
    cluster, broker, reports_dir, s3_roots, s3_server
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
        tasks = db.rows(
            "SELECT hostname, queue, state FROM task_instance WHERE dag_id = :d", d=DAG_ID
        )
        assert {(task.queue, task.state) for task in tasks} == {(broker.queue, "success")}
        assert {task.hostname for task in tasks} == set(WORKERS)

    # Fails if any process the test started (component, Celery pool child, task) outlives it.
    cluster.stop()
