"""Shared fixtures: Airflow on a throwaway home, a real S3 API server on loopback, and an
isolated timecard home."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from tests.builders import S3_KEY, S3_SECRET, own_postgres_database, s3_client
from timecard.airflow_env import airflow_environment

# Airflow reads its configuration once, when first imported: set it before any test imports it.
_TEST_HOME = tempfile.mkdtemp(prefix="timecard-tests-")
atexit.register(shutil.rmtree, _TEST_HOME, ignore_errors=True)
os.environ.update(airflow_environment(home=_TEST_HOME))


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated Airflow metadata database (SQLite) for real DAG runs."""
    from timecard.airflow_env import migrate_database

    migrate_database()
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


@pytest.fixture(scope="session")
def s3_server():
    """A real S3 API (moto's server) on 127.0.0.1, reached over HTTP like any S3 endpoint."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def iam_s3_server():
    """An S3 (and IAM) API server of this test's own, for tests of what a policy allows. moto
    checks requests against their IAM user's policies only inside `builders.iam_enforced()`: the
    switch is moto's, for its whole process, so it is never left on."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_server, monkeypatch) -> str:
    """A fresh bucket, with the environment pointing timecard at the server. Returns s3://bucket."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    name = f"tc-{uuid.uuid4().hex[:12]}"
    s3_client(s3_server).create_bucket(Bucket=name)
    return f"s3://{name}"


@pytest.fixture
def timecard_home(tmp_path, monkeypatch):
    """Point every timecard root at a temporary folder."""
    monkeypatch.setenv("TIMECARD_HOME", str(tmp_path / "home"))
    for name in ("EVENTS_ROOT", "OUTPUT_ROOT", "CACHE_ROOT"):
        monkeypatch.delenv(f"TIMECARD_{name}", raising=False)
    return tmp_path / "home"


@pytest.fixture
def s3_roots(timecard_home, s3_bucket, monkeypatch) -> str:
    """Events, cache and output in the bucket, for this process and the components it starts
    (set after `timecard_home`, which clears them)."""
    for setting, folder in (("EVENTS", "events"), ("CACHE", "cache"), ("OUTPUT", "out")):
        monkeypatch.setenv(f"TIMECARD_{setting}_ROOT", f"{s3_bucket}/{folder}")
    return s3_bucket


@pytest.fixture
def reports_dir(tmp_path, monkeypatch, timecard_home):
    """An empty saved-reports folder, as `TIMECARD_REPORTS_DIR`."""
    folder = tmp_path / "reports"
    folder.mkdir()
    monkeypatch.setenv("TIMECARD_REPORTS_DIR", str(folder))
    return folder


@pytest.fixture
def postgres_database() -> Iterator[str]:
    with own_postgres_database() as name:
        yield name
