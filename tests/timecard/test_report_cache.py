"""The rerun cache: a report kept under its inputs' fingerprints, read back byte for byte, and
built again whenever anything it came from changed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.builders import event, write_ndjson
from timecard import engine, report_cache, storage
from timecard.timerange import checked_range, custom_range
from transforms.filters import Filters

WINDOW = ("2026-11-02T00:00:00", "2026-11-03T00:00:00", "UTC")


def land(root) -> None:
    write_ndjson(
        root,
        "2026-10-30",
        [event("LOGIN", "2026-10-30T22:00:00Z", "early", routing_profile="Support")],
    )
    write_ndjson(
        root,
        "2026-11-02",
        [
            event("LOGIN", "2026-11-02T08:00:00Z", "a"),
            event("HEART_BEAT", "2026-11-02T09:00:00Z", "a"),
            event("LOGOUT", "2026-11-02T17:00:00Z", "a"),
            event("LOGIN", "2026-11-02T10:00:00Z", "b", routing_profile="Support"),
            event("HEART_BEAT", "2026-11-02T11:00:00Z", "b"),
            event("LOGOUT", "2026-11-02T06:00:00Z", "early", routing_profile="Support"),
            event("LOGIN", "2026-11-02T12:00:00Z", "bad-time") | {"EventTimestamp": "soon"},
        ],
    )


class Builds:
    """Counts the reports assembled from the condensed parts (a miss of the rerun cache)."""

    def __init__(self, monkeypatch):
        self.count = 0
        assemble = engine.assemble_report

        def counted(*args, **kwargs):
            self.count += 1
            return assemble(*args, **kwargs)

        monkeypatch.setattr(engine, "assemble_report", counted)


@pytest.fixture
def builds(monkeypatch) -> Builds:
    return Builds(monkeypatch)


def report(root, cache, **options) -> engine.ReportResult:
    request = engine.ReportRequest(str(root), custom_range(*WINDOW), **options)
    return engine.build_report(request, str(cache))


def same(first: engine.ReportResult, second: engine.ReportResult) -> None:
    assert second.csv_bytes() == first.csv_bytes()
    assert second.quarantine.equals(first.quarantine)
    assert second.sessions.equals(first.sessions)
    assert second.sessions.schema == first.sessions.schema
    summary = first.summary.as_dict() | {"elapsed_seconds": None, "parts_built_now": None}
    assert second.summary.as_dict() | {"elapsed_seconds": None, "parts_built_now": None} == summary


def test_a_rerun_with_nothing_new_reads_the_kept_report(tmp_path, builds):
    land(tmp_path / "events")
    first = report(tmp_path / "events", tmp_path / "cache")
    assert builds.count == 1
    assert first.report["Username"].to_list() == ["a", "b", "early"]
    assert first.quarantine.height == 1

    rerun = report(tmp_path / "events", tmp_path / "cache")

    assert builds.count == 1
    same(first, rerun)
    assert rerun.summary.parts_built_now == 0
    kept = storage.list_files(str(tmp_path / "cache" / report_cache.FORMAT_VERSION))
    assert len(kept) == 1 and kept[0].size < 100_000


def test_one_window_however_its_instants_were_built_is_one_kept_report(tmp_path, builds):
    land(tmp_path / "events")
    first = report(tmp_path / "events", tmp_path / "cache")  # ZoneInfo("UTC"), as the CLI
    start, end = (datetime.fromisoformat(text).replace(tzinfo=UTC) for text in WINDOW[:2])
    request = engine.ReportRequest(str(tmp_path / "events"), checked_range(start, end, "UTC"))

    rerun = engine.build_report(request, str(tmp_path / "cache"))

    assert builds.count == 1
    same(first, rerun)


def test_a_new_file_in_any_day_read_builds_the_report_again(tmp_path, builds):
    events = tmp_path / "events"
    land(events)
    report(events, tmp_path / "cache")
    # A late file in a lookback day: a later LOGIN starts the session the window's LOGOUT ends.
    write_ndjson(
        events, "2026-10-31", [event("LOGIN", "2026-10-31T03:00:00Z", "early")], name="late.json"
    )

    rebuilt = report(events, tmp_path / "cache")

    assert builds.count == 2
    fresh = report(events, tmp_path / "fresh-cache")
    same(fresh, rebuilt)
    assert rebuilt.report.row(2, named=True)["Login time"] == "2026-10-31T03:00:00+00:00"
    report(events, tmp_path / "cache")
    assert builds.count == 3  # the fresh cache's build; the kept one was read again


def test_a_rewritten_file_builds_the_report_again(tmp_path, builds):
    events = tmp_path / "events"
    land(events)
    first = report(events, tmp_path / "cache")
    write_ndjson(events, "2026-11-02", [event("LOGIN", "2026-11-02T08:00:00Z", "only")])

    rebuilt = report(events, tmp_path / "cache")

    assert builds.count == 2
    assert rebuilt.report["Username"].to_list() == ["only"]
    assert rebuilt.csv_bytes() != first.csv_bytes()


@pytest.mark.parametrize(
    "change",
    [
        {"filters": Filters(routing_profiles=("Support",))},
        {"lookback_days": 1},
        {"max_rows": 5},
    ],
    ids=["filters", "lookback", "row-limit"],
)
def test_other_settings_build_their_own_report(tmp_path, builds, change):
    events = tmp_path / "events"
    land(events)
    report(events, tmp_path / "cache")

    changed = report(events, tmp_path / "cache", **change)

    assert builds.count == 2
    same(report(events, tmp_path / "fresh-cache", **change), changed)
    report(events, tmp_path / "cache", **change)
    report(events, tmp_path / "cache")
    assert builds.count == 3  # each kept under its own settings


def test_other_code_builds_the_report_again(tmp_path, builds, monkeypatch):
    events = tmp_path / "events"
    land(events)
    first = report(events, tmp_path / "cache")
    monkeypatch.setattr(report_cache, "code_version", lambda: "another version of the code")

    rebuilt = report(events, tmp_path / "cache")

    assert builds.count == 2
    same(first, rebuilt)


def test_the_code_version_follows_the_source(tmp_path, monkeypatch):
    source = tmp_path / "transforms"
    source.mkdir()
    (source / "module.py").write_text("A = 1\n")
    monkeypatch.setattr(report_cache, "_REPO", tmp_path)
    report_cache.code_version.cache_clear()
    before = report_cache.code_version()
    (source / "module.py").write_text("A = 2\n")
    report_cache.code_version.cache_clear()
    try:
        assert report_cache.code_version() != before
    finally:
        monkeypatch.undo()
        report_cache.code_version.cache_clear()


def test_a_refused_report_is_not_kept_and_a_damaged_one_is_rebuilt(tmp_path, builds):
    events = tmp_path / "events"
    land(events)
    with pytest.raises(engine.RowLimitExceeded):
        report(events, tmp_path / "cache", max_rows=1)
    assert not storage.list_files(str(tmp_path / "cache" / report_cache.FORMAT_VERSION))
    first = report(events, tmp_path / "cache")
    (kept,) = storage.list_files(str(tmp_path / "cache" / report_cache.FORMAT_VERSION))
    storage.write_bytes(kept.url, storage.read_bytes(kept.url)[:100])

    rebuilt = report(events, tmp_path / "cache")

    assert builds.count == 3
    same(first, rebuilt)


def test_the_rerun_cache_on_s3(tmp_path, s3_bucket, builds):
    land(tmp_path / "local")
    for file in storage.list_files(str(tmp_path / "local")):
        relative = file.url[len(str(tmp_path / "local")) + 1 :]
        storage.write_bytes(f"{s3_bucket}/events/{relative}", storage.read_bytes(file.url))
    first = report(f"{s3_bucket}/events", f"{s3_bucket}/cache")

    rerun = report(f"{s3_bucket}/events", f"{s3_bucket}/cache")

    assert builds.count == 1
    same(first, rerun)
