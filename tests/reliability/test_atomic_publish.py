"""Atomic publish: the S3 endpoint dies while the CSV is being uploaded.

Timecard talks to a proxy process (`tests/reliability/s3_proxy.py`) in front of moto's S3 server.
The proxy forwards the CSV's PUT body slowly and is SIGKILLed once the first KiB of it has reached
the server: every connection is cut mid-request, as when an endpoint crashes. The publish step
must fail with a clear message and leave nothing half-published: on a first publish no manifest
and no public file; on a republish of a changed report the earlier revision still published,
whole (its manifest, CSV and Parquet untouched: a failed publish never retracts it). After the
proxy restarts on the same port, the retried step (what Airflow's retry runs) publishes the right
CSV and manifest, and no stray objects remain.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest

from tests.builders import sessions_of_agents, stage_report, write_ndjson
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


def write_events(events_root, first_agent: int) -> None:
    records = sessions_of_agents(first_agent, AGENTS, width=4)
    write_ndjson(events_root, "2026-11-02", records, name=f"part-{first_agent}.json")


def stage(run_id: str) -> tuple[dict, dict]:
    return stage_report(SPEC, WINDOW, run_id)


def expected_csv(events_root, tmp_path) -> bytes:
    """The same report built in-process on the local files, without S3 or the pipeline steps."""
    request = engine.ReportRequest(str(events_root), TimeRange(*WINDOW, "UTC"), lookback_days=1)
    return engine.build_report(request, str(tmp_path / "reference-cache")).csv_bytes()


def published(objects: dict[str, bytes]) -> dict[str, bytes]:
    return {key: data for key, data in objects.items() if key.startswith("out/connect/")}


def public(objects: dict[str, bytes]) -> dict[str, bytes]:
    """What readers see: the manifest and the public copies, not the `_` revision objects."""
    return {key: v for key, v in published(objects).items() if "/_" not in key}


def revision_objects(objects: dict[str, bytes], manifest_key: str) -> list[str]:
    """The keys of the revision objects the manifest names (in csv, parquet order)."""
    manifest = json.loads(objects[manifest_key])
    folder = manifest_key.rsplit("/", 1)[0]
    return [f"{folder}/{manifest[name]['object']}" for name in ("csv", "parquet")]


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
        assert sorted(public(before)) == [csv_key, parquet_key, manifest_key]
        assert sorted(before) == sorted(
            [csv_key, parquet_key, manifest_key, *revision_objects(before, manifest_key)]
        )
        write_events(events_root, first_agent=AGENTS)  # late data: the rerun changes the report
    window_plan, staged = stage("run-2")
    endpoint.start(slow_csv_body=True)
    killed = endpoint.kill_once_a_csv_body_is_in_flight()

    with pytest.raises(TimecardError) as failure:
        pipeline.publish(SPEC, window_plan, staged, DAG_ID, "run-2")

    assert killed.wait(timeout=10)
    # The upload cut is the new revision's own CSV object, hidden beside the public names.
    folder = csv_key.rsplit("/", 1)[0]
    assert endpoint.cut_upload.startswith(f"/{bucket_name}/{folder}/_daily-utc-2026-11-02.")
    assert endpoint.cut_upload.endswith(".csv")
    message = str(failure.value)
    assert f"s3:/{endpoint.cut_upload}" in message and "\n" not in message
    during = bucket.objects()
    # The earlier revision stays published, whole: its manifest, its revision objects and the
    # public copies are untouched (a first publish leaves nothing a reader could see).
    assert public(during) == public(before)
    assert {key: v for key, v in published(during).items() if key in before} == before
    staged_keys = sorted(key for key in during if not key.startswith("out/connect/"))
    assert staged_keys and all(key.startswith("out/_staging/daily-utc/") for key in staged_keys)
    assert bucket.multipart_uploads() == []

    endpoint.start(slow_csv_body=False)
    pipeline.publish(SPEC, window_plan, staged, DAG_ID, "run-2")

    after = bucket.objects()
    assert sorted(public(after)) == [csv_key, parquet_key, manifest_key]
    # Only the committed revision's objects remain (the earlier revision's are removed).
    assert sorted(published(after)) == sorted(
        [csv_key, parquet_key, manifest_key, *revision_objects(after, manifest_key)]
    )
    csv = after[csv_key]
    assert csv == expected_csv(events_root, tmp_path)
    assert csv.count(b"\n") == 1 + AGENTS * (2 if earlier_good_file else 1)
    manifest = json.loads(after[manifest_key])
    assert manifest["csv"]["sha256"] == hashlib.sha256(csv).hexdigest()
    assert manifest["run_id"] == "run-2"
    assert bucket.multipart_uploads() == []
    assert storage.list_files(f"{pipeline.get_settings().output_root}/_staging") == []
