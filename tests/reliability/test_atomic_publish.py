"""Atomic publish: the S3 endpoint dies while the CSV is being uploaded.

Timecard talks to a proxy process (`tests/reliability/s3_proxy.py`) in front of moto's S3 server.
The proxy forwards the CSV's PUT body slowly and is SIGKILLed once the first KiB of it has reached
the server: every connection is cut mid-request, as when an endpoint crashes. The publish step
must fail with a clear message and leave nothing half-published (no CSV and no manifest; on a
republish of a changed report, the earlier CSV untouched and its manifest retracted); after the
proxy restarts on the same port, the retried step (what Airflow's retry runs) publishes the
right CSV and manifest, and no stray objects remain.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from urllib.parse import unquote

import boto3
import pytest

from tests.builders import event, write_ndjson
from tests.conftest import S3_KEY, S3_SECRET
from timecard import engine, pipeline, storage
from timecard.errors import TimecardError
from timecard.timerange import TimeRange

SPEC = pipeline.ReportSpec(
    slug="daily-utc", name="Daily UTC", timezone="UTC", prefix="daily", lookback_days=1
)
WINDOW = (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
DAG_ID = "timecard_daily-utc"
AGENTS = 500  # a CSV of about 100 KB: far more than the KiB that reaches the server


class ProxiedEndpoint:
    """The S3 endpoint timecard uses: a proxy process that can be killed and restarted."""

    def __init__(self, children, upstream_port: int):
        self.children, self.upstream_port = children, upstream_port
        self.port, self.child = 0, None
        self.cut_upload: str | None = None  # the path of the PUT the kill interrupted

    def start(self, *, slow_csv_body: bool) -> None:
        if self.child:
            self.child.kill()
        flags = ["--slow-csv-body"] if slow_csv_body else []
        self.child = self.children(
            "tests.reliability.s3_proxy",
            *("--port", str(self.port), "--upstream-port", str(self.upstream_port), *flags),
        )
        self.port = int(self.child.wait_for("LISTENING ").split()[1])  # the same port on restarts

    def kill_once_a_csv_body_is_in_flight(self) -> threading.Event:
        """SIGKILL the proxy while it forwards a CSV upload; the event is set once it is dead."""
        killed, proxy = threading.Event(), self.child

        def watch() -> None:
            target = proxy.wait_for("CSV BODY IN FLIGHT ").removeprefix("CSV BODY IN FLIGHT ")
            proxy.kill()
            self.cut_upload = unquote(target)
            killed.set()

        threading.Thread(target=watch, daemon=True).start()
        return killed


@pytest.fixture
def endpoint(timecard_home, s3_bucket, s3_server, children, monkeypatch) -> ProxiedEndpoint:
    proxied = ProxiedEndpoint(children, int(s3_server.rsplit(":", 1)[1]))
    proxied.start(slow_csv_body=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxied.port}")
    # botocore's retry budget: with its default of five attempts a dead endpoint takes ~7 s to
    # give up; two attempts show the same behaviour in well under a second.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("TIMECARD_OUTPUT_ROOT", f"{s3_bucket}/out")
    return proxied


@pytest.fixture
def bucket(s3_bucket, s3_server):
    """The bucket seen directly on the S3 server, not through the proxy."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )
    name = s3_bucket.removeprefix("s3://")

    class Bucket:
        def objects(self) -> dict[str, bytes]:
            listed = client.list_objects_v2(Bucket=name).get("Contents", [])
            return {
                item["Key"]: client.get_object(Bucket=name, Key=item["Key"])["Body"].read()
                for item in listed
            }

        def multipart_uploads(self) -> list:
            return client.list_multipart_uploads(Bucket=name).get("Uploads", [])

    return Bucket()


def write_events(events_root, first_agent: int) -> None:
    write_ndjson(
        events_root,
        "2026-11-02",
        [
            record
            for n in range(first_agent, first_agent + AGENTS)
            for record in (
                event("LOGIN", "2026-11-02T08:00:00Z", f"agent-{n:04d}"),
                event("LOGOUT", "2026-11-02T16:30:00Z", f"agent-{n:04d}"),
            )
        ],
        name=f"part-{first_agent}.json",
    )


def stage(run_id: str) -> tuple[dict, dict]:
    """Plan, condense, build and validate, as the DAG does before it publishes."""
    window_plan = pipeline.plan(SPEC, *WINDOW)
    for day in window_plan["days"]:
        pipeline.condense(SPEC, **day)
    staged = pipeline.build(SPEC, window_plan, run_id)
    pipeline.validate(SPEC, staged)
    return window_plan, staged


def expected_csv(events_root, tmp_path) -> bytes:
    """The same report built in-process on the local files, without S3 or the pipeline steps."""
    request = engine.ReportRequest(str(events_root), TimeRange(*WINDOW, "UTC"), lookback_days=1)
    return engine.build_report(request, str(tmp_path / "reference-cache")).csv_bytes()


def published(objects: dict[str, bytes]) -> dict[str, bytes]:
    return {key: data for key, data in objects.items() if key.startswith("out/connect/")}


@pytest.mark.slow
@pytest.mark.parametrize("earlier_good_file", [False, True], ids=["first-publish", "republish"])
def test_an_endpoint_killed_mid_upload_leaves_nothing_partial_and_the_retry_publishes(
    endpoint, bucket, timecard_home, tmp_path, earlier_good_file
):
    events_root = timecard_home / "events"
    urls = pipeline.output_urls(SPEC, "2026-11-02")
    bucket_name, csv_key = urls["csv"].removeprefix("s3://").split("/", 1)
    manifest_key = urls["manifest"].removeprefix(f"s3://{bucket_name}/")
    parquet_key = urls["parquet"].removeprefix(f"s3://{bucket_name}/")
    write_events(events_root, first_agent=0)
    before: dict[str, bytes] = {}
    if earlier_good_file:
        pipeline.publish(SPEC, *stage("run-1"), DAG_ID, "run-1")
        before = published(bucket.objects())
        assert sorted(before) == [csv_key, parquet_key, manifest_key]
        write_events(events_root, first_agent=AGENTS)  # late data: the rerun changes the report
    window_plan, staged = stage("run-2")
    endpoint.start(slow_csv_body=True)
    killed = endpoint.kill_once_a_csv_body_is_in_flight()

    with pytest.raises(TimecardError) as failure:
        pipeline.publish(SPEC, window_plan, staged, DAG_ID, "run-2")

    assert killed.wait(timeout=10)
    assert endpoint.cut_upload == f"/{bucket_name}/{csv_key}"
    message = str(failure.value)
    assert urls["csv"] in message and "\n" not in message
    during = bucket.objects()
    # A changed report retracts the earlier manifest before uploading its CSV: what is left is
    # the earlier CSV, untouched, and no manifest that could be paired with the wrong CSV.
    assert published(during) == {key: v for key, v in before.items() if key != manifest_key}
    staged_keys = sorted(key for key in during if not key.startswith("out/connect/"))
    assert staged_keys and all(key.startswith("out/_staging/daily-utc/") for key in staged_keys)
    assert bucket.multipart_uploads() == []

    endpoint.start(slow_csv_body=False)
    pipeline.publish(SPEC, window_plan, staged, DAG_ID, "run-2")

    after = bucket.objects()
    assert sorted(after) == [csv_key, parquet_key, manifest_key]
    csv = after[csv_key]
    assert csv == expected_csv(events_root, tmp_path)
    assert csv.count(b"\n") == 1 + AGENTS * (2 if earlier_good_file else 1)
    manifest = json.loads(after[manifest_key])
    assert manifest["csv"]["sha256"] == hashlib.sha256(csv).hexdigest()
    assert manifest["run_id"] == "run-2"
    assert bucket.multipart_uploads() == []
    assert storage.list_files(f"{pipeline.get_settings().output_root}/_staging") == []
