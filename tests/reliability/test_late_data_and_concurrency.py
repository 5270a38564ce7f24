"""Late data, concurrent runs and idempotency, end to end.

- Late data: a raw file added to an already-condensed day changes that day's fingerprint; the next
  run condenses that day again (and no other), and rerunning the window publishes the corrected
  report.
- Concurrency: `timecard report` processes released at the same instant into one cache (the same
  window into the same output file, or two different reports sharing cache days) all succeed, and
  each output equals the same report run alone; the cache is whole and trusted afterwards.
- Idempotency: rerunning a window on unchanged input gives a byte-identical CSV, warm or cold
  cache, and a republished manifest that differs only in its run id and listing time.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from tests.builders import event, write_ndjson
from timecard import engine, pipeline, storage, timerange
from timecard.cli import main
from transforms.filters import Filters

# -- late data ------------------------------------------------------------------------------------

SPEC = pipeline.ReportSpec(slug="daily", name="Daily", timezone="UTC", lookback_days=1)
WINDOW = (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
LATE_DAY = "2026-11-02"


def run_window(run_id: str) -> tuple[dict, dict[str, str]]:
    """Every step of one scheduled run; returns the condense results by day and the URLs."""
    window_plan = pipeline.plan(SPEC, *WINDOW)
    condensed = {item.day.isoformat(): pipeline.condense(SPEC, item) for item in window_plan.days}
    staged = pipeline.build(SPEC, window_plan, run_id)
    pipeline.validate(SPEC, staged)
    pipeline.publish(SPEC, window_plan, staged, "timecard_daily", run_id)
    return condensed, pipeline.output_urls(SPEC, LATE_DAY)


def usernames_and_logouts(csv: bytes) -> list[tuple[str, str]]:
    lines = csv.decode().splitlines()[1:]
    return [(line.split(",")[0], line.split(",")[10]) for line in lines]


def test_a_late_file_rebuilds_only_its_day_and_the_rerun_publishes_the_corrected_report(
    timecard_home,
):
    events_root = timecard_home / "events"
    write_ndjson(
        events_root,
        LATE_DAY,
        [
            event("LOGIN", "2026-11-02T09:00:00Z", "a"),
            event("LOGIN", "2026-11-02T10:00:00Z", "b"),
            event("LOGOUT", "2026-11-02T11:00:00Z", "b"),
        ],
    )
    first_condense, urls = run_window("run-1")
    first_csv = storage.read_bytes(urls["csv"])
    assert usernames_and_logouts(first_csv) == [("a", ""), ("b", "2026-11-02T11:00:00+00:00")]

    # Firehose delivers a file late, into the partition that was already condensed.
    write_ndjson(
        events_root,
        LATE_DAY,
        [event("LOGOUT", "2026-11-02T17:00:00Z", "a"), event("LOGIN", "2026-11-02T12:00:00Z", "c")],
        name="late.json",
    )
    second_condense, urls = run_window("run-2")

    changed = {
        day
        for day in first_condense
        if second_condense[day].fingerprint != first_condense[day].fingerprint
    }
    assert changed == {LATE_DAY}
    assert {day for day, result in second_condense.items() if result.built_now} == {LATE_DAY}
    corrected = storage.read_bytes(urls["csv"])
    assert usernames_and_logouts(corrected) == [
        ("a", "2026-11-02T17:00:00+00:00"),
        ("b", "2026-11-02T11:00:00+00:00"),
        ("c", ""),
    ]
    manifest = json.loads(storage.read_bytes(urls["manifest"]))
    assert manifest["event_cache_fingerprints"][LATE_DAY] == second_condense[LATE_DAY].fingerprint
    assert manifest["rows"] == 3

    # Unchanged input from here on: a rerun republishes the same bytes, and nothing is condensed.
    third_condense, urls = run_window("run-3")
    assert not any(result.built_now for result in third_condense.values())
    assert storage.read_bytes(urls["csv"]) == corrected
    republished = json.loads(storage.read_bytes(urls["manifest"]))
    assert (republished.pop("run_id"), manifest.pop("run_id")) == ("run-3", "run-2")
    # Each run records when it listed its raw inputs (what lets a newer build win a race).
    assert republished.pop("inputs_listed_at") > manifest.pop("inputs_listed_at")
    assert republished == manifest


# -- concurrency ----------------------------------------------------------------------------------

SEOUL_DAY = ["--start", "2026-11-02T00:00:00", "--end", "2026-11-03T00:00:00", "--tz", "Asia/Seoul"]
# New York's fall-back day: 25 hours, sharing raw days with the Seoul report.
NEW_YORK_DAY = [
    *("--start", "2026-11-01T00:00:00", "--end", "2026-11-02T00:00:00"),
    *("--tz", "America/New_York", "--routing-profile", "Billing"),
]


def report_args(events_root: str, window: list[str], out: Path, cache: Path) -> list[str]:
    return [
        *("report", "--events", events_root, *window, "--lookback-days", "1"),
        *("--out", str(out), "--cache", str(cache)),
    ]


def run_alone(events_root: str, window: list[str], out: Path, cache: Path) -> bytes:
    assert main(report_args(events_root, window, out, cache)) == 0
    return out.read_bytes()


def run_at_once(children, go_file: Path, *reports: list[str]) -> None:
    """Start one process per report and release them together; each must succeed."""
    started = [
        children("tests.reliability.child", "report-when-released", str(go_file), "--", *args)
        for args in reports
    ]
    for child in started:
        child.wait_for("READY")
    go_file.touch()
    for child in started:
        exit_code, stderr = child.finish()
        assert exit_code == 0, stderr


def assert_whole_and_trusted(cache: Path) -> None:
    """Every file of the cache reads back, and no temporary file was left behind."""
    files = [path for path in cache.rglob("*") if path.is_file()]
    assert files and not [path for path in files if path.name.endswith(".tmp")]
    for path in files:
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".bin":  # a kept report (timecard/report_cache.py): it loads whole
            assert report_cache_entry_loads(path), path
        else:
            pl.read_parquet(path)


def report_cache_entry_loads(path: Path) -> bool:
    """A kept report (8-byte little-endian header length, a JSON header naming each Arrow IPC
    frame's size, the frames in the order
    written) reads back whole: every frame, and nothing after them."""
    blob = path.read_bytes()
    length = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + length])
    position = 8 + length
    for name in ("report", "quarantine", "sessions"):  # the order they are written in
        size = header["frames"][name]
        pl.read_ipc(io.BytesIO(blob[position : position + size]))
        position += size
    return position == len(blob)


def modification_times(folder: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*")}


@pytest.mark.slow
def test_the_same_window_run_twice_at_once_into_one_output_equals_one_run(
    generated_events, tmp_path, children
):
    alone = run_alone(generated_events, SEOUL_DAY, tmp_path / "alone.csv", tmp_path / "own-cache")
    out, cache = tmp_path / "out" / "report.csv", tmp_path / "shared-cache"
    args = report_args(generated_events, SEOUL_DAY, out, cache)

    run_at_once(children, tmp_path / "go", args, args)

    assert out.read_bytes() == alone
    assert sorted(path.name for path in out.parent.iterdir()) == ["report.csv"]
    assert_whole_and_trusted(cache)
    settled = modification_times(cache)
    assert run_alone(generated_events, SEOUL_DAY, out, cache) == alone
    assert modification_times(cache) == settled  # the cache the two left is trusted as it is


@pytest.mark.slow
def test_two_reports_refreshing_the_same_cache_days_at_once_are_both_correct(
    generated_events, tmp_path, children
):
    own_cache = tmp_path / "own-cache"
    seoul = run_alone(generated_events, SEOUL_DAY, tmp_path / "seoul-alone.csv", own_cache)
    new_york = run_alone(generated_events, NEW_YORK_DAY, tmp_path / "ny-alone.csv", own_cache)
    cache = tmp_path / "shared-cache"
    seoul_args = report_args(generated_events, SEOUL_DAY, tmp_path / "seoul.csv", cache)
    new_york_args = report_args(generated_events, NEW_YORK_DAY, tmp_path / "ny.csv", cache)

    run_at_once(children, tmp_path / "go", seoul_args, new_york_args)

    assert (tmp_path / "seoul.csv").read_bytes() == seoul
    assert (tmp_path / "ny.csv").read_bytes() == new_york
    assert_whole_and_trusted(cache)
    settled = modification_times(cache)
    assert run_alone(generated_events, SEOUL_DAY, tmp_path / "seoul.csv", cache) == seoul
    assert run_alone(generated_events, NEW_YORK_DAY, tmp_path / "ny.csv", cache) == new_york
    assert modification_times(cache) == settled


# -- idempotency ----------------------------------------------------------------------------------

WINDOWS = {
    "UTC day": ("2026-11-02T00:00:00", "2026-11-03T00:00:00", "UTC", Filters()),
    "Seoul day": ("2026-11-02T00:00:00", "2026-11-03T00:00:00", "Asia/Seoul", Filters()),
    "New York 25-hour day": (
        "2026-11-01T00:00:00",
        "2026-11-02T00:00:00",
        "America/New_York",
        Filters(),
    ),
    "Kolkata, odd bounds": (
        "2026-11-02T05:31:17",
        "2026-11-03T17:45:00",
        "Asia/Kolkata",
        Filters(),
    ),
    "three days, filtered": (
        "2026-11-01T00:00:00",
        "2026-11-04T00:00:00",
        "UTC",
        Filters(routing_profiles=("Billing", "VIP Care"), hierarchies=("Americas",)),
    ),
}


@pytest.fixture(scope="module")
def two_caches(tmp_path_factory) -> tuple[str, str]:
    """Two cache roots shared by every window: each is condensed once, by its first run."""
    return str(tmp_path_factory.mktemp("cache-a")), str(tmp_path_factory.mktemp("cache-b"))


@pytest.mark.parametrize("window", WINDOWS)
def test_rerunning_a_window_gives_a_byte_identical_csv(generated_events, two_caches, window):
    start, end, tz, filters = WINDOWS[window]
    request = engine.ReportRequest(
        generated_events,
        timerange.custom_range(start, end, tz),
        filters=filters,
        lookback_days=1,
    )
    cache_a, cache_b = two_caches

    first = engine.build_report(request, cache_a).csv_bytes()
    again = engine.build_report(request, cache_a).csv_bytes()
    other_cache = engine.build_report(request, cache_b).csv_bytes()

    assert first.count(b"\n") > 10  # a real report, not an empty one
    assert again == first
    assert other_cache == first
