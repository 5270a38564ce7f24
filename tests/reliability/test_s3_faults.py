"""S3 faults while a changed report is republished: each ends in a refusal naming the URL, or in a
retry that succeeds; nothing published is lost. A fault that happens once must be outlasted by
the retries; one that happens every time may end either way (a failed clean-up after the commit
point, for instance, need not fail the publish), but never in a window without its revision.

Timecard talks to S3 through the fault proxy (`tests/reliability/s3_proxy.py`), which answers
chosen requests of the publish (PUTs of the CSV or the manifest, DELETEs, GETs of the staged
files) with 500, 503 Slow Down, a connection reset or a slow answer: every time, or once. After
each publish attempt, the bucket is read directly (not through the proxy) and checked: the
window has a manifest, and its sha256s and row count match the CSV and Parquet beside it. A
clean publish afterwards converges on the new revision, chained to the old one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from tests.builders import s3_client, sessions_of_agents, stage_report, write_ndjson
from tests.reliability.s3_proxy import Fault
from timecard import pipeline
from timecard.storage import StorageError

SPEC = pipeline.ReportSpec(
    slug="daily-utc", name="Daily UTC", timezone="UTC", prefix="daily", lookback_days=1
)
WINDOW = (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
DAG_ID = "timecard_daily-utc"
PUBLISHED = r"^out/connect/.*/date=2026-11-02/daily-utc-2026-11-02"


@pytest.fixture
def proxy(proxy, timecard_home, s3_bucket, monkeypatch):
    """The fault proxy (reliability conftest), with the published reports in the bucket."""
    monkeypatch.setenv("TIMECARD_OUTPUT_ROOT", f"{s3_bucket}/out")
    return proxy


def write_agents(events_root, first: int, count: int) -> None:
    write_ndjson(
        events_root, "2026-11-02", sessions_of_agents(first, count), name=f"part-{first}.json"
    )


def stage(run_id: str) -> tuple[dict, dict]:
    return stage_report(SPEC, WINDOW, run_id)


def published_revision(objects: dict[str, bytes]) -> dict:
    """The window's manifest, once checked against the files beside it (the invariant)."""
    urls = pipeline.output_urls(SPEC, "2026-11-02")
    keys = {name: url.split("/", 3)[3] for name, url in urls.items()}
    assert keys["manifest"] in objects, "the window lost its manifest: it is no longer published"
    manifest = json.loads(objects[keys["manifest"]])
    # The files beside it: the revision objects the manifest names (timecard.publishing).
    folder = keys["manifest"].rsplit("/", 1)[0]
    named = {name: f"{folder}/{manifest[name]['object']}" for name in ("csv", "parquet")}
    csv = objects[named["csv"]]
    assert manifest["csv"]["sha256"] == hashlib.sha256(csv).hexdigest()
    assert manifest["rows"] == csv.count(b"\n") - 1
    parquet = objects[named["parquet"]]
    assert manifest["parquet"]["sha256"] == hashlib.sha256(parquet).hexdigest()
    # The public copy a globbing reader sees is a committed revision: this one, or the one before
    # while its copy failed (the next publish or late-data check completes it).
    committed = {manifest["csv"]["sha256"], manifest.get("previous_sha256")}
    assert hashlib.sha256(objects[keys["csv"]]).hexdigest() in committed
    return manifest


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "every_time"),
    [
        pytest.param(
            Fault("PUT", "500", PUBLISHED + r"\.csv$", times=None),
            True,
            id="csv-put-500",
        ),
        pytest.param(
            Fault("PUT", "reset", PUBLISHED + r"_manifest\.json$", times=None),
            True,
            id="manifest-put-reset",
        ),
        pytest.param(Fault("DELETE", "500", r"^out/", times=None), True, id="delete-500"),
        pytest.param(Fault("GET", "503", r"^out/_staging/", times=None), True, id="staged-get-503"),
        pytest.param(Fault("PUT", "503", PUBLISHED + r"\.csv$"), False, id="csv-put-503-once"),
        pytest.param(
            Fault("PUT", "reset", PUBLISHED + r"_manifest\.json$"), False, id="manifest-reset-once"
        ),
        pytest.param(Fault("PUT", "slow", PUBLISHED + r"\.csv$"), False, id="csv-put-slow"),
    ],
)
def test_a_fault_during_a_republish_is_refused_by_url_or_retried_and_loses_nothing(
    proxy, bucket, timecard_home, fault, every_time
):
    events = timecard_home / "events"
    write_agents(events, 0, 20)
    pipeline.publish(SPEC, *stage("run-1"), DAG_ID, "run-1")
    first = published_revision(bucket.objects())
    write_agents(events, 100, 5)  # late data: the republish changes the report
    window_plan, staged = stage("run-2")
    proxy.inject(fault)

    try:
        pipeline.publish(SPEC, window_plan, staged, DAG_ID, "run-2")
    except StorageError as failure:
        # A fault the client's retries outlast must not end in a refusal.
        assert every_time, f"a single {fault.action} was not retried: {failure}"
        message = str(failure)
        assert "\n" not in message
        bucket_name = pipeline.get_settings().output_root.removeprefix("s3://").split("/")[0]
        assert f"s3://{bucket_name}/" in message
        assert any(f"s3://{bucket_name}/{hit.key}" in message for hit in proxy.injected)
        assert (
            published_revision(bucket.objects()) == first
        )  # the old revision, whole and unchanged
        proxy.clear()
        pipeline.publish(SPEC, window_plan, staged, DAG_ID, "run-2")  # the retry converges

    assert proxy.injected, "the fault never happened"
    assert {hit.kind for hit in proxy.injected} == {fault.kind}
    after = published_revision(bucket.objects())
    assert after["run_id"] == "run-2" and after["rows"] == 25
    assert after["revision"] == 2
    assert after["previous_sha256"] == first["csv"]["sha256"]


def test_the_proxy_process_hits_exactly_the_nth_matching_request(s3_bucket, s3_server, children):
    """The proxy as a process, its rules given on the command line: `nth` counts only the
    requests of the rule's kind whose key matches."""
    from botocore.client import Config
    from botocore.exceptions import ClientError

    proxy = children(
        "tests.reliability.s3_proxy",
        *("--port", "0", "--upstream-port", s3_server.rsplit(":", 1)[1]),
        *("--fault", r"GET 500 ^x/ nth=2 times=1", "--fault", "HEAD 403 ^x/b times=all"),
    )
    port = int(proxy.wait_for("LISTENING ").split()[1])
    client = s3_client(f"http://127.0.0.1:{port}", config=Config(retries={"total_max_attempts": 1}))
    name = s3_bucket.removeprefix("s3://")
    client.put_object(Bucket=name, Key="x/a", Body=b"a")
    client.put_object(Bucket=name, Key="y/a", Body=b"y")

    assert client.get_object(Bucket=name, Key="x/a")["Body"].read() == b"a"  # 1st GET of x/
    assert client.get_object(Bucket=name, Key="y/a")["Body"].read() == b"y"  # not x/: not counted
    with pytest.raises(ClientError, match="InternalError"):
        client.get_object(Bucket=name, Key="x/a")  # the 2nd
    assert proxy.wait_for("FAULT ") == f"FAULT GET 500 GET /{name}/x/a"
    assert client.get_object(Bucket=name, Key="x/a")["Body"].read() == b"a"  # the 3rd: forwarded
    assert client.head_object(Bucket=name, Key="x/a")["ContentLength"] == 1
    with pytest.raises(ClientError, match="403"):
        client.head_object(Bucket=name, Key="x/b")
