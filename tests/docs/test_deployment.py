"""The IAM policy docs/deployment.md gives is the one timecard runs with: a report's whole life on
S3 (condense with the cache on S3, publish, the late-data check that republishes, the clean-up of
leftovers) under that policy, enforced by a real S3 API server, and nothing more.

The policy is read from the page itself, so the page cannot promise less than timecard needs.
The server is moto's, with its IAM enforcement on: requests are signed with an IAM user's keys and
checked against the user's policy, action by action and object by object. (moto refuses every
key of a batch DeleteObjects under a prefix-scoped policy; timecard deletes object by object.)
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.builders import (
    event,
    iam_enforced,
    iam_user_keys,
    s3_client,
    stage_report,
    upload_tree,
    write_ndjson,
)
from timecard import healing, pipeline, publishing, storage

PAGE = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
DAY = "2026-11-02"
WINDOW = (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
SPEC = pipeline.ReportSpec(
    slug="policy", name="Policy", timezone="UTC", prefix="ops", lookback_days=1
)


def documented_policy() -> dict:
    """The IAM policy the deployment page gives (its JSON block with a `Statement`)."""
    blocks = re.findall(r"```json\n(.*?)```", PAGE.read_text(), flags=re.S)
    policies = [json.loads(block) for block in blocks if '"Statement"' in block]
    assert len(policies) == 1, "docs/deployment.md should give exactly one IAM policy"
    return policies[0]


def bucket_names(policy: dict) -> dict[str, str]:
    """events / cache / reports → the bucket the policy names for it."""
    [listing] = [s for s in policy["Statement"] if s["Action"] == "s3:ListBucket"]
    names = [arn.removeprefix("arn:aws:s3:::") for arn in listing["Resource"]]
    return {
        kind: next(name for name in names if kind in name)
        for kind in ("events", "cache", "reports")
    }


def test_a_reports_whole_life_on_s3_needs_no_more_than_the_documented_policy(
    iam_s3_server, tmp_path, monkeypatch
):
    server = iam_s3_server
    policy = documented_policy()
    buckets = bucket_names(policy)
    s3 = s3_client(server)
    for name in buckets.values():
        s3.create_bucket(Bucket=name)
    events_root = tmp_path / "events"
    write_ndjson(
        events_root,
        DAY,
        [
            event("LOGIN", f"{DAY}T08:00:00Z", "a"),
            event("LOGOUT", f"{DAY}T16:00:00Z", "a"),
            event("LOGIN", f"{DAY}T09:00:00Z", "b"),
        ],
    )
    upload_tree(events_root, f"s3://{buckets['events']}/agent-events", server)
    keys = iam_user_keys(server, "timecard", policy)
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("TIMECARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TIMECARD_EVENTS_ROOT", f"s3://{buckets['events']}/agent-events")
    monkeypatch.setenv("TIMECARD_CACHE_ROOT", f"s3://{buckets['cache']}")
    monkeypatch.setenv("TIMECARD_OUTPUT_ROOT", f"s3://{buckets['reports']}")
    # Leftovers of any age are removed: the clean-up's deletes run under the policy too.
    monkeypatch.setenv("TIMECARD_ORPHAN_GRACE_MINUTES", "0")
    as_timecard = boto3.client(
        "s3",
        endpoint_url=server,
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    late = tmp_path / "late"
    write_ndjson(late, DAY, [event("LOGOUT", f"{DAY}T17:00:00Z", "b")], name="late.json")

    with iam_enforced():
        # The enforcement is real: the policy gives no write on the events bucket.
        with pytest.raises(ClientError, match="AccessDenied"):
            as_timecard.put_object(Bucket=buckets["events"], Key="agent-events/x", Body=b"{}")
        first = pipeline.publish(SPEC, *stage_report(SPEC, WINDOW, "run-1"), "dag", "run-1")
        assert first.revision == 1 and first.rows == 2
        urls = publishing.output_urls(SPEC, DAY)
        before = publishing.read_manifest(urls["manifest"])

    # Firehose delivers a late file.
    upload_tree(late, f"s3://{buckets['events']}/agent-events", server)
    with iam_enforced():
        checks = healing.check_report(SPEC, date.fromisoformat(DAY), "timecard_late_data", "c-1")
        assert [(c.local_date, c.status, c.revision) for c in checks] == [
            (DAY, healing.REPUBLISHED, 2)
        ]
        manifest = publishing.read_manifest(urls["manifest"])
        assert manifest.revision == 2 and manifest.previous_sha256 == before.first_sha256()
        assert publishing.public_is_current(SPEC, DAY, manifest)
        csv = storage.read_bytes(urls["csv"]).decode()
        assert "17:00:00" in csv  # b's late logout is in the report

    # Nothing left behind: no staging, no revision object the manifest does not name, no run
    # files of the condense in the cache (each was deleted under the policy).
    reports = s3.list_objects_v2(Bucket=buckets["reports"]).get("Contents", [])
    names = {os.path.basename(item["Key"]) for item in reports}
    assert not [item["Key"] for item in reports if "/_staging/" in f"/{item['Key']}"]
    hidden = {name for name in names if name.startswith("_")}
    assert hidden == set(manifest.objects().values())
    cache = s3.list_objects_v2(Bucket=buckets["cache"]).get("Contents", [])
    assert cache, "the condensed days are kept in the cache bucket"
    assert not [item["Key"] for item in cache if os.path.basename(item["Key"]).startswith("run-")]
