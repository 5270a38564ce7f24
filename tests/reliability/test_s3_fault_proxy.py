"""A republish through an S3 endpoint that answers 500, 503 or resets the connection, by request
kind and key (the fault mode of `tests/reliability/s3_proxy.py`, between timecard and the moto
server).

Every fault ends in one of three outcomes, and nothing published is lost:

- a retry that succeeds (a fault once): revision 2 is published;
- a clear refusal (a fault that persists before the commit): a one-line StorageError naming the
  s3:// URL, with revision 1 still published whole; once the endpoint heals, a rerun publishes
  revision 2;
- published, with a warning (a fault that persists after the commit, in the public copies or
  the clean-up): revision 2 is published, and the next late-data check completes the copies.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

import pytest

from tests.builders import event, stage_report, write_ndjson
from tests.reliability.s3_proxy import Fault
from timecard import healing, pipeline, publishing, storage

SPEC = pipeline.ReportSpec(slug="proxied", name="Proxied", timezone="UTC", lookback_days=1)
DAY = "2026-11-02"
WINDOW = (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
RETRIED, REFUSED, PUBLISHED = "retried", "refused", "published"
LIST, GET, PUT, DELETE = "LIST", "GET", "PUT", "DELETE"
ERROR_500, ERROR_503, RESET = "500", "503", "reset"
COPY = PUT  # a copy is a PUT naming its source (x-amz-copy-source); only copies write public names
CASES = {
    "PUT of the CSV object answers 500 once": (PUT, r"/_proxied-.*\.csv$", ERROR_500, 1, RETRIED),
    "PUT of the manifest is reset once": (PUT, r"_manifest\.json$", RESET, 1, RETRIED),
    "PUT of the CSV object answers 503 always": (
        PUT,
        r"/_proxied-.*\.csv$",
        ERROR_503,
        None,
        REFUSED,
    ),
    "PUT of the manifest answers 500 always": (PUT, r"_manifest\.json$", ERROR_500, None, REFUSED),
    "GET of the manifest answers 503 always": (GET, r"_manifest\.json$", ERROR_503, None, REFUSED),
    "COPY to the public CSV answers 500 always": (
        COPY,
        r"/proxied-[^/]*\.csv$",
        ERROR_500,
        None,
        PUBLISHED,
    ),
    "DELETE of revision objects answers 500 always": (
        DELETE,
        r"/_proxied-",
        ERROR_500,
        None,
        PUBLISHED,
    ),
    "LIST answers 503 always": (LIST, r"", ERROR_503, None, PUBLISHED),
}


def write_events(root, late: bool = False) -> None:
    if late:
        write_ndjson(root, DAY, [event("LOGIN", f"{DAY}T10:00:00Z", "c")], name="late.json")
    else:
        write_ndjson(
            root,
            DAY,
            [event("LOGIN", f"{DAY}T08:00:00Z", "a"), event("LOGOUT", f"{DAY}T16:00:00Z", "a")],
        )


def stage(run_id: str) -> tuple[dict, dict]:
    return stage_report(SPEC, WINDOW, run_id)


def committed() -> tuple[publishing.Manifest, bytes, bytes]:
    """The committed manifest, its CSV object's bytes and the public CSV's bytes."""
    urls = publishing.output_urls(SPEC, DAY)
    manifest = publishing.read_manifest(urls["manifest"])
    return (
        manifest,
        publishing.read_committed(urls["manifest"], manifest, "csv"),
        storage.read_bytes(urls["csv"]),
    )


@pytest.fixture
def proxy(proxy, timecard_home, s3_bucket, monkeypatch):
    """The fault proxy (reliability conftest), with the published reports in the bucket."""
    monkeypatch.setenv("TIMECARD_OUTPUT_ROOT", f"{s3_bucket}/out")
    return proxy


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_a_republish_through_a_faulty_endpoint_retries_refuses_or_publishes(
    proxy, timecard_home, case
):
    kind, key, answer, times, outcome = CASES[case]
    events = timecard_home / "events"
    write_events(events)
    pipeline.publish(SPEC, *stage("run-1"), "timecard_proxied", "run-1")
    first, first_csv, _ = committed()
    write_events(events, late=True)
    window_plan, staged = stage("run-2")
    new_csv = pipeline.data_files(SPEC, staged)["csv"]

    proxy.inject(Fault(kind, answer, key, times=times))
    if outcome == REFUSED:
        with pytest.raises(storage.StorageError) as refusal:
            pipeline.publish(SPEC, window_plan, staged, "timecard_proxied", "run-2")
        message = str(refusal.value)
        assert "s3://" in message and "\n" not in message, message
    else:
        published = pipeline.publish(SPEC, window_plan, staged, "timecard_proxied", "run-2")
        assert published.revision == 2
    assert proxy.injected, "the fault was never answered"
    proxy.clear()  # the endpoint heals

    manifest, csv_object, public_csv = committed()
    if outcome == REFUSED:  # nothing published was lost: revision 1, whole
        assert (manifest.revision, csv_object) == (1, first_csv)
        assert public_csv == first_csv
        pipeline.publish(SPEC, window_plan, staged, "timecard_proxied", "run-2")  # the retry
    elif outcome == PUBLISHED:
        assert manifest.revision == 2 and csv_object == new_csv
        healing.check_report(SPEC, date.fromisoformat(DAY), "timecard_late_data", "check")
    manifest, csv_object, public_csv = committed()
    assert manifest.revision == 2 and manifest.previous_sha256 == first.first_sha256()
    assert csv_object == public_csv == new_csv
    assert manifest.files["csv"].sha256 == hashlib.sha256(new_csv).hexdigest()
    assert json.loads(storage.read_bytes(publishing.output_urls(SPEC, DAY)["manifest"]))["rows"]
