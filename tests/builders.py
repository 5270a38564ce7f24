"""Shared test helpers: hand-built agent events for small, readable test cases, and what
several test packages set up alike (the S3 test server's client, report definitions and DAG
parsing, PostgreSQL databases of their own).

Test modules import helpers from here (or from a helper module beside them), never from
another test module or a conftest: pytest imports those itself, and a second import under
another name would run their set-up twice. tests/test_tree.py checks it.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from schemas.columns import REPORT_HEADER

if TYPE_CHECKING:
    from tests.airflow_processes import MetadataDatabase

_ids = count(1)
INSTANCE = "arn:aws:connect:us-east-1:123456789012:instance/inst-1"


def arn(agent: str) -> str:
    return f"{INSTANCE}/agent/{agent}"


def event(
    event_type: str,
    timestamp: str,
    agent: str = "a1",
    *,
    username: str | None = None,
    first_name: str = "Min-jun",
    last_name: str = "Kim",
    routing_profile: str | None = "Sales Inbound",
    hierarchy: tuple[str, ...] | None = ("Americas", "Sales"),
    event_id: str | None = None,
) -> dict:
    """One agent event record, shaped like the Connect agent event stream JSON."""
    groups = None
    if hierarchy is not None:
        groups = {
            f"Level{i}": ({"ARN": f"arn:h{i}", "Name": name} if name is not None else None)
            for i, name in enumerate(hierarchy, start=1)
        }
    return {
        "AWSAccountId": "123456789012",
        "AgentARN": arn(agent),
        "EventId": event_id or f"e{next(_ids):06d}",
        "EventTimestamp": timestamp,
        "EventType": event_type,
        "InstanceARN": INSTANCE,
        "Version": "2019-05-25",
        "CurrentAgentSnapshot": {
            "AgentStatus": {"Name": "Available", "Type": "ROUTABLE"},
            "Configuration": {
                "Username": username or agent,
                "FirstName": first_name,
                "LastName": last_name,
                "RoutingProfile": (
                    {"ARN": "arn:rp", "Name": routing_profile} if routing_profile else None
                ),
                "AgentHierarchyGroups": groups,
            },
        },
    }


def partition_dir(root: str, day: str, layout: str = "date") -> str:
    y, m, d = day.split("-")
    folder = {
        "date": f"date={day}",
        "ymd": f"year={y}/month={m}/day={d}",
        "firehose": f"{y}/{m}/{d}/13",
    }[layout]
    path = os.path.join(root, folder)
    os.makedirs(path, exist_ok=True)
    return path


def write_ndjson(root, day, records, name="part-0.json", layout="date", compress=False) -> str:
    path = os.path.join(partition_dir(str(root), day, layout), name)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    with open(path, "wb") as handle:
        handle.write(gzip.compress(data, mtime=0) if compress else data)
    return path


def write_parquet(root, day, records, name="part-0.parquet", layout="date") -> str:
    path = os.path.join(partition_dir(str(root), day, layout), name)
    buffer = io.BytesIO()
    pl.DataFrame(records).write_parquet(buffer)
    with open(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return path


def report_rows(count: int, username: str = "agent") -> pl.DataFrame:
    """`count` identical report rows that keep the report contract (all but its row limit)."""
    row: dict[str, object] = {name: None for name in REPORT_HEADER}
    row |= {
        "Username": username,
        "Login time": "2026-11-02T17:15:00+09:00",
        "Logout time": "2026-11-02T18:15:00+09:00",
        "Session duration": "1:00:00",
        "Session duration (seconds)": 3600,
        "Agent ARN": "arn:aws:connect:x",
    }
    schema = {
        name: pl.Int64 if name == "Session duration (seconds)" else pl.String
        for name in REPORT_HEADER
    }
    return pl.DataFrame([row] * count, schema=schema)


# The top-level keys of a Connect agent event record, in the order the stream writes them.
STREAM_KEYS = [
    "AWSAccountId",
    "AgentARN",
    "CurrentAgentSnapshot",
    "EventId",
    "EventTimestamp",
    "EventType",
    "InstanceARN",
    "PreviousAgentSnapshot",
    "Version",
]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def lowercase_keys(value):
    """A record as a Glue/OpenX round trip leaves it: every name lower-cased."""
    if isinstance(value, dict):
        return {key.lower(): lowercase_keys(child) for key, child in value.items()}
    if isinstance(value, list):
        return [lowercase_keys(child) for child in value]
    return value


def read_day(root, day: date, candidates_only: bool = False) -> pl.DataFrame:
    """The records of one partition read file by file, flattened and checked, with the
    attributes of LOGIN/LOGOUT records (null on the others), in file and row order."""
    from timecard import ingest

    files = ingest.partition_files(str(root), day)
    reads = [ingest.read_file(file, day, candidates_only) for file in files]
    checked = pl.concat([read.checked for read in reads]).collect()
    attributes = pl.concat([read.session_attributes for read in reads]).collect()
    return checked.join(attributes, on=["source_file", "source_row"], how="left").sort(
        "source_file", "source_row"
    )


def stage_report(spec, window: tuple[datetime, datetime], run_id: str):
    """Plan, condense, build and validate a report, as its DAG does before it publishes: the
    window plan and the staged report that `pipeline.publish` takes."""
    from timecard import pipeline

    window_plan = pipeline.plan(spec, *window)
    for day in window_plan.days:
        pipeline.condense(spec, day)
    staged = pipeline.build(spec, window_plan, run_id)
    pipeline.validate(spec, staged)
    return window_plan, staged


def session_table(rows: list[dict]) -> pl.DataFrame:
    """A session table (schemas/sessions.py's columns) from rows naming only what a test needs:
    instants as ISO text or datetimes, every other column null."""
    from schemas.columns import SESSION_COLUMNS, TIMESTAMP

    def value(name: str, given):
        if isinstance(given, str) and SESSION_COLUMNS[name] == TIMESTAMP:
            return utc(given)
        return given

    return pl.DataFrame(
        [{name: value(name, row.get(name)) for name in SESSION_COLUMNS} for row in rows],
        schema=SESSION_COLUMNS,
    )


# -- the S3 test server (moto's, on loopback; tests/conftest.py starts it) ------------------------

S3_KEY, S3_SECRET = "testing-key", "testing-secret-do-not-log"


def s3_client(endpoint: str, service: str = "s3", **options):
    """A plain boto3 client of the test server (or a proxy in front of it): what another system
    delivering or reading objects uses, not timecard's own storage layer. `service="iam"` for
    the server's IAM API."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
        **options,
    )


def upload_tree(local_root, bucket_url: str, endpoint: str) -> int:
    """Copy a local folder below `bucket_url` (s3://bucket/prefix) with plain boto3, as another
    system (Firehose) would deliver it; returns how many files."""
    client = s3_client(endpoint)
    bucket, _, prefix = bucket_url.removeprefix("s3://").partition("/")
    uploaded = 0
    for folder, _, names in os.walk(local_root):
        for name in sorted(names):
            path = os.path.join(folder, name)
            key = f"{prefix}/{os.path.relpath(path, local_root)}".lstrip("/")
            client.upload_file(path, bucket, key)
            uploaded += 1
    return uploaded


def iam_user_keys(endpoint: str, name: str, policy: dict) -> dict[str, str]:
    """An IAM user of the test server with `policy` as its only policy: its access key id and
    secret, as the AWS_* variables timecard reads."""
    iam = s3_client(endpoint, service="iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }


def iam_enforced():
    """While in this block, moto's servers check every request against its user's policies."""
    from moto.core.authorization import enable_iam_authentication

    return enable_iam_authentication()


class BucketView:
    """A bucket read on the S3 server directly (never through a fault proxy)."""

    def __init__(self, endpoint: str, bucket_url: str):
        self.client = s3_client(endpoint)
        self.name = bucket_url.removeprefix("s3://")

    def objects(self) -> dict[str, bytes]:
        listed = self.client.list_objects_v2(Bucket=self.name).get("Contents", [])
        return {
            item["Key"]: self.client.get_object(Bucket=self.name, Key=item["Key"])["Body"].read()
            for item in listed
        }

    def multipart_uploads(self) -> list:
        return self.client.list_multipart_uploads(Bucket=self.name).get("Uploads", [])

    def put_records(self, key: str, records: list[dict]) -> None:
        """Raw events as one NDJSON object, as Firehose would deliver them."""
        body = "".join(json.dumps(record) + "\n" for record in records).encode()
        self.client.put_object(Bucket=self.name, Key=key, Body=body)


def sessions_of_agents(first: int, count: int, width: int = 3) -> list[dict]:
    """One closed session (08:00-16:30 UTC on 2026-11-02) for each of `count` agents
    agent-NNN numbered from `first`."""
    return [
        record
        for n in range(first, first + count)
        for record in (
            event("LOGIN", "2026-11-02T08:00:00Z", f"agent-{n:0{width}d}"),
            event("LOGOUT", "2026-11-02T16:30:00Z", f"agent-{n:0{width}d}"),
        )
    ]


# -- PostgreSQL on the machine (127.0.0.1:5432, user postgres) ------------------------------------


@contextmanager
def own_postgres_database() -> Iterator[str]:
    """A database of its own on the machine's PostgreSQL, dropped at the end. Yields its name."""
    import psycopg2

    name = f"timecard_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            # FORCE: a connection a test or a component left open must not keep it alive.
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# -- saved reports and their DAGs -----------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS = REPO_ROOT / "dags"
# The run at 00:00 Seoul on 2026-11-03 covers 2026-11-02 in Seoul: [11-01T15:00Z, 11-02T15:00Z).
RUN_DAY_MIDNIGHT = datetime(2026, 11, 2, 15, tzinfo=UTC)

DAILY_SEOUL = """
name: Daily Seoul
timezone: Asia/Seoul
schedule: daily
prefix: team/daily
lookback_days: 1
"""


def write_definition(folder, slug: str, body: str) -> None:
    (folder / f"{slug}.yaml").write_text(body)


def parse_dags():
    """The DAG folder parsed as the dag-processor parses it."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def published(slug_yaml: str, slug: str, local_date: str) -> dict[str, str]:
    """The output URLs of a saved report's day."""
    import yaml

    from timecard.definitions import parse_definition
    from timecard.pipeline import ReportSpec, output_urls

    definition = parse_definition(slug, yaml.safe_load(slug_yaml), slug)
    return output_urls(ReportSpec.from_definition(definition), local_date)


def final_table(stderr: str) -> dict[str, dict[str, str]]:
    """The closing table of `timecard backfill` or `republish`, by window: its columns cut at
    the header's positions."""
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


# -- the UI tests' report home (tests/ui/conftest.py builds it from real DAG runs) ---------------

REPORT_DATE = "2026-11-02"
DAILY_ROWS = 37
PASSWORDS = {"admin": "admin-password", "viewer": "viewer-password", "editor": "editor-password"}
ADHOC_CONF = {
    "name": "Seoul check",
    "preset": "custom",
    "start": "2026-11-02T00:00:00",
    "end": "2026-11-03T00:00:00",
    "timezone": "Asia/Seoul",
    "routing_profiles": ["Billing"],
}


# -- backfills of daily-seoul (tests/dags/test_backfill.py, tests/deploy/test_celery.py) ----------

DAILY_SEOUL_SLUG = "daily-seoul"
DAILY_SEOUL_DAG_ID = f"timecard_{DAILY_SEOUL_SLUG}"
BACKFILLED_DAYS = ["2026-11-02", "2026-11-03", "2026-11-04"]


def daily_seoul_spec():
    import yaml

    from timecard.definitions import parse_definition
    from timecard.pipeline import ReportSpec

    slug = DAILY_SEOUL_SLUG
    return ReportSpec.from_definition(parse_definition(slug, yaml.safe_load(DAILY_SEOUL), slug))


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


def deliver_events(bucket_url: str, endpoint: str, day: str, records: list[dict]) -> None:
    """Put raw events into the bucket with plain boto3, as Firehose would deliver them."""
    BucketView(endpoint, bucket_url).put_records(f"events/date={day}/part-0.json", records)


def finished_backfill_runs(db: MetadataDatabase, expected: int) -> dict[str, str] | None:
    """The backfill's runs and their states, once all `expected` of them have finished."""
    rows = db.rows(
        "SELECT run_id, state FROM dag_run WHERE dag_id = :dag_id AND run_type = 'backfill'",
        dag_id=DAILY_SEOUL_DAG_ID,
    )
    runs = {row.run_id: row.state for row in rows}
    finished = all(state in ("success", "failed") for state in runs.values())
    return runs if len(runs) == expected and finished else None


def published_manifests(days: list[str] = BACKFILLED_DAYS) -> list[dict]:
    """The manifests of the backfilled windows (`days`, each with one more agent than the day
    before), once each partition is checked: exactly its CSV, typed Parquet and manifest, the
    right window, and a row count and sha256 that match the files."""
    import hashlib

    from timecard import storage
    from timecard.pipeline import output_urls, report_folder

    spec = daily_seoul_spec()
    folder = report_folder(spec)
    # What readers see: not the hidden revision objects (`_...`) and lock files (`.`).
    visible = [
        file.url.removeprefix(folder + "/")
        for file in storage.list_files(folder)
        if not file.url.rsplit("/", 1)[1].startswith(("_", "."))
    ]
    assert visible == [
        f"date={day}/{DAILY_SEOUL_SLUG}-{day}{suffix}"
        for day in days
        for suffix in (".csv", ".parquet", "_manifest.json")
    ]
    manifests = []
    for agents, day in enumerate(days, start=1):
        urls = output_urls(spec, day)
        csv = storage.read_bytes(urls["csv"])
        manifest = json.loads(storage.read_bytes(urls["manifest"]))
        assert manifest["window"] == seoul_window(day)
        assert manifest["rows"] == agents == len(csv.decode().splitlines()) - 1
        assert manifest["csv"]["sha256"] == hashlib.sha256(csv).hexdigest()
        parquet = storage.read_bytes(urls["parquet"])
        assert manifest["parquet"]["sha256"] == hashlib.sha256(parquet).hexdigest()
        manifests.append(manifest)
    return manifests


# -- the command line -----------------------------------------------------------------------------

WINDOW = ["--start", "2026-11-02T00:00:00", "--end", "2026-11-03T00:00:00"]


def run(*args: str) -> int:
    """`timecard ARGS` in this process; its exit code."""
    from timecard.cli import main

    return main(list(args))


def assert_one_paragraph_refusal(stderr: str) -> str:
    """The whole of stderr is one `timecard: error:` line: no traceback, no blank line."""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("timecard: error: ")
    return lines[0]


def readable_diff(expected_csv: str, actual_csv: str) -> str:
    """A unified diff of two report CSVs' rows, one `column=value` list per row."""
    import csv
    import difflib

    def lines(text: str) -> list[str]:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        return [" | ".join(f"{k}={v!r}" for k, v in row.items() if v) for row in rows]

    return "\n".join(
        difflib.unified_diff(
            lines(expected_csv), lines(actual_csv), "reference", "timecard", lineterm=""
        )
    )
