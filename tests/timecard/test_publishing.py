"""The typed manifest and the revision rules of `timecard.publishing` (the publish protocol
under crashes and races: tests/reliability/test_publish_faults.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

from tests.builders import event, write_ndjson
from tests.publishing import SEOUL, publish_day
from timecard import publishing, storage

DAY = "2026-11-02"


def test_a_published_manifest_reads_back_as_the_same_json(timecard_home):
    write_ndjson(timecard_home / "events", DAY, [event("LOGIN", f"{DAY}T01:00:00Z", "a")])
    publish_day(SEOUL, DAY)
    url = publishing.output_urls(SEOUL, DAY)["manifest"]
    raw = json.loads(storage.read_bytes(url))
    manifest = publishing.read_manifest(url)
    assert manifest.to_json() == raw
    assert manifest.report.slug == SEOUL.slug and manifest.window.timezone == "Asia/Seoul"
    assert manifest.revision == 1 and manifest.previous_sha256 is None
    assert set(manifest.files) == {"csv", "parquet"}
    csv = publishing.read_committed(url, manifest, "csv")
    assert (
        publishing.DataFile.of(csv, manifest.rows, manifest.files["csv"].object)
        == (manifest.files["csv"])
    )
    assert publishing.published_dates(SEOUL, date.fromisoformat(DAY)) == [DAY]


def test_a_manifest_from_before_revision_objects_reads_its_public_files():
    old = {
        "report": {"slug": "r", "name": "R"},
        "window": {
            "start_utc": "2026-11-02T00:00:00Z",
            "end_utc": "2026-11-03T00:00:00Z",
            "start_local": "2026-11-02T00:00:00+00:00",
            "end_local": "2026-11-03T00:00:00+00:00",
            "timezone": "UTC",
        },
        "rows": 2,
        "csv": {"sha256": "ab", "bytes": 10, "rows": 2},
    }
    manifest = publishing.Manifest.from_json(old)
    assert manifest.revision == 1 and manifest.objects() == {}
    url = "/out/date=2026-11-02/r-2026-11-02_manifest.json"
    assert publishing.file_url(url, manifest, "csv") == "/out/date=2026-11-02/r-2026-11-02.csv"


def test_revisions_form_a_chain():
    first = publishing.Manifest.from_json(
        {
            "report": {"slug": "r", "name": "R"},
            "window": dict.fromkeys(
                ("start_utc", "end_utc", "start_local", "end_local", "timezone"), "x"
            ),
            "rows": 1,
            "csv": {"sha256": "a", "bytes": 1, "rows": 1},
        }
    )
    assert publishing.next_revision(None, {"csv": "a"})["revision"] == 1
    same = publishing.next_revision(first, {"csv": "a"})
    assert same == {"revision": 1, "previous_sha256": None, "previous_sha256s": {}}
    second = publishing.next_revision(first, {"csv": "b"})
    assert second == {"revision": 2, "previous_sha256": "a", "previous_sha256s": {"csv": "a"}}
    third = publishing.next_revision(replace(first, revision=2), {"csv": "c"})
    assert third["revision"] == 3


def test_a_build_that_listed_its_inputs_earlier_is_stale_only_if_they_differ():
    base = publishing.Manifest.from_json(
        {
            "report": {"slug": "r", "name": "R"},
            "window": dict.fromkeys(
                ("start_utc", "end_utc", "start_local", "end_local", "timezone"), "x"
            ),
            "rows": 1,
        }
    )
    committed = replace(
        base, inputs_listed_at="2026-11-02T10:00:00Z", event_cache_fingerprints={"d": "new"}
    )
    older = replace(
        base, inputs_listed_at="2026-11-02T09:59:59.5Z", event_cache_fingerprints={"d": "old"}
    )
    assert publishing._stale(older, committed)
    assert not publishing._stale(committed, older)
    assert not publishing._stale(replace(older, event_cache_fingerprints={"d": "new"}), committed)
