"""The three publishing failures of issue 18, each reproduced as it was reported.

- A republish that fails at its CSV write (S3 answering 500) must leave the window published,
  and the next late-data check must heal it (it used to delete the manifest first: the window
  vanished from the UI and the loaders and was never checked again).
- A republish killed at its CSV write, then run again, must continue the revision chain
  (it used to restart at revision 1 without `previous_sha256`).
- Two publishes of one window, the second landing between the first one's CSV and its manifest,
  must end with a manifest whose sha256 and rows match the files beside it.

These tests use only what a reader uses (the public URLs, the manifest JSON), so they run the
same against the code before `timecard.publishing`, where all three fail.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, date, datetime

import pytest

from tests.builders import event, stage_report, write_ndjson
from tests.reliability import faults
from timecard import healing, pipeline, storage

SPEC = pipeline.ReportSpec(slug="kept", name="Kept", timezone="UTC", lookback_days=1)
DAY = "2026-11-02"
WINDOW = (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))


def write_events(root, late: bool = False) -> None:
    if late:
        records = [
            event("LOGOUT", f"{DAY}T17:00:00Z", "b"),
            event("LOGIN", f"{DAY}T10:00:00Z", "c"),
        ]
        write_ndjson(root, DAY, records, name="late.json")
        return
    records = [
        event("LOGIN", f"{DAY}T08:00:00Z", "a"),
        event("LOGOUT", f"{DAY}T16:00:00Z", "a"),
        event("LOGIN", f"{DAY}T09:00:00Z", "b"),
    ]
    write_ndjson(root, DAY, records)


def stage(run_id: str) -> tuple[dict, dict]:
    return stage_report(SPEC, WINDOW, run_id)


def manifest_of() -> dict | None:
    try:
        return json.loads(storage.read_bytes(pipeline.output_urls(SPEC, DAY)["manifest"]))
    except FileNotFoundError:
        return None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def published_once(timecard_home):
    """Revision 1 published; then a late file lands. Returns revision 1's manifest."""
    write_events(timecard_home / "events")
    pipeline.publish(SPEC, *stage("run-1"), "timecard_kept", "run-1")
    first = manifest_of()
    assert first["revision"] == 1
    write_events(timecard_home / "events", late=True)
    return first


def test_a_republish_failing_at_its_csv_write_keeps_the_window_published_and_healable(
    published_once, monkeypatch
):
    window_plan, staged = stage("run-2")
    write_bytes = storage.write_bytes

    def s3_answers_500_to_the_csv(url, data):
        if "/connect/" in url and url.endswith(".csv"):
            raise storage.StorageError(f"Could not write {url}: 500 Internal Server Error.")
        return write_bytes(url, data)

    monkeypatch.setattr(storage, "write_bytes", s3_answers_500_to_the_csv)
    with pytest.raises(storage.StorageError):
        pipeline.publish(SPEC, window_plan, staged, "timecard_kept", "run-2")
    monkeypatch.setattr(storage, "write_bytes", write_bytes)

    # Still published: the earlier revision, whole, as the UI and the loaders find it.
    kept = manifest_of()
    assert kept is not None, "the failed republish retracted the published report"
    assert kept["csv"]["sha256"] == published_once["csv"]["sha256"]
    csv = storage.read_bytes(pipeline.output_urls(SPEC, DAY)["csv"])
    assert sha256(csv) == kept["csv"]["sha256"]

    # And the next late-data check comes back to it and heals it.
    checks = healing.check_report(SPEC, date.fromisoformat(DAY), "timecard_late_data", "check-1")
    assert [(check.local_date, check.status) for check in checks] == [(DAY, healing.REPUBLISHED)]
    healed = manifest_of()
    assert healed["revision"] == 2
    assert healed["previous_sha256"] == published_once["csv"]["sha256"]


def test_a_republish_killed_at_its_csv_write_then_rerun_continues_the_revision_chain(
    published_once,
):
    window_plan, staged = stage("run-2")
    env = dict(os.environ)

    code, _ = faults.run(
        env,
        faults.publish_action,
        SPEC,
        window_plan,
        staged,
        "run-2",
        kind=faults.CRASH,
        trigger=faults.AtCsvWrite(),
    )
    assert code == faults.CRASH_EXIT  # killed exactly at the CSV write

    pipeline.publish(SPEC, window_plan, staged, "timecard_kept", "run-2")  # Airflow's retry
    after = manifest_of()
    assert after["revision"] == 2
    assert after["previous_sha256"] == published_once["csv"]["sha256"]


def test_two_publishes_of_one_window_landing_between_csv_and_manifest_stay_consistent(
    timecard_home,
):
    write_events(timecard_home / "events")
    older = stage("run-older")
    write_events(timecard_home / "events", late=True)
    newer = stage("run-newer")
    newer_csv = sha256(pipeline.data_files(SPEC, newer[1])["csv"])
    env = dict(os.environ)

    # The first publisher stops right after writing its CSV; the second publishes meanwhile.
    first = faults.Child(
        env,
        faults.publish_action,
        (SPEC, *older, "run-older"),
        kind=faults.HANG,
        trigger=faults.AfterCsvWrite(),
    )
    assert first.message()[0] == "paused"
    second = faults.Child(
        env, faults.publish_action, (SPEC, *newer, "run-newer"), kind=faults.PAUSE_AT_LOCK
    )
    word = second.message()
    if word[0] == "at-lock":  # the second waits for the first's lock: let the first finish
        first.go()
        assert first.message()[0] == "done"
        second.go()
        word = second.message()
    assert word[0] == "done", word
    if first.process.is_alive():
        first.go()
        assert first.message()[0] == "done"
    assert first.join() == 0 and second.join() == 0

    manifest = manifest_of()
    urls = pipeline.output_urls(SPEC, DAY)
    csv, parquet = storage.read_bytes(urls["csv"]), storage.read_bytes(urls["parquet"])
    assert manifest["csv"]["sha256"] == sha256(csv), "the manifest does not match the CSV"
    assert manifest["parquet"]["sha256"] == sha256(parquet)
    assert manifest["rows"] == csv.count(b"\n") - 1
    assert sha256(csv) == newer_csv  # the report of the newer inputs is what stays published
