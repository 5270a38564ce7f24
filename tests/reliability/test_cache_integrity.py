"""A process killed (SIGKILL) while writing the condensed per-day cache leaves nothing a later run
trusts: the later run condenses that day again and gives the same report as a clean run.

The writer is a real process running the condense step (`pipeline.condense`) over a generated
partition (300 agents, ~55,000 events) on a slow disk (`tests.reliability.child
condense-slowly`). It is killed right after the first data file of its fingerprint folder
appeared, before anything marks that data complete. In-process simulations of other leftovers
(a damaged data file, a half-written temporary file) are in `tests/timecard/test_condensed.py`.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import polars as pl
import pytest

from tests.builders import event, write_ndjson
from timecard import engine, timerange
from timecard.condensed import DayCache

DAY = "2026-11-02"


def report(events_root: str, cache_root: str) -> engine.ReportResult:
    window = timerange.custom_range("2026-11-02T00:00:00", "2026-11-03T00:00:00", "Asia/Seoul")
    return engine.build_report(
        engine.ReportRequest(events_root, window, lookback_days=1), cache_root
    )


def markers_naming(day_folder: Path, fingerprint: str) -> list[Path]:
    """The JSON files of a cached day that vouch for a fingerprint folder."""
    return [
        path
        for path in day_folder.rglob("*.json")
        if fingerprint in (path.parent.name, json.loads(path.read_text()).get("fingerprint"))
    ]


def modification_times(folder: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*")}


@pytest.mark.slow
@pytest.mark.parametrize("earlier_run", [False, True], ids=["first-build", "rebuild-after-late"])
def test_a_writer_killed_before_marking_its_data_leaves_nothing_a_later_run_trusts(
    generated_events, tmp_path, children, monkeypatch, earlier_run
):
    events_root, cache_root = tmp_path / "events", tmp_path / "cache"
    shutil.copytree(generated_events, events_root)  # a private copy: a late file may be added
    monkeypatch.setenv("TIMECARD_EVENTS_ROOT", str(events_root))
    monkeypatch.setenv("TIMECARD_CACHE_ROOT", str(cache_root))
    day_folder = Path(DayCache(str(events_root), str(cache_root)).base) / DAY
    if earlier_run:
        report(str(events_root), str(cache_root))
        write_ndjson(events_root, DAY, [event("LOGIN", f"{DAY}T10:00:00Z", "late")], "late.json")
    writer = children("tests.reliability.child", "condense-slowly", DAY)

    first_write = Path(writer.wait_for("WROTE ").removeprefix("WROTE "))
    writer.kill()

    assert writer.process.returncode == -signal.SIGKILL
    folder = first_write.parent  # the fingerprint folder the killed writer was filling
    assert folder.parent == day_folder
    assert first_write.suffix == ".parquet"
    assert [path.name for path in folder.iterdir()] == [first_write.name]
    assert markers_naming(day_folder, folder.name) == []

    after_kill = report(str(events_root), str(cache_root))
    clean = report(str(events_root), str(tmp_path / "clean-cache"))

    assert after_kill.csv_bytes() == clean.csv_bytes()
    assert ("late" in after_kill.report["Username"].to_list()) == earlier_run
    assert after_kill.summary.fingerprints[DAY] == folder.name
    assert markers_naming(day_folder, folder.name)
    for data_file in folder.glob("*.parquet"):
        pl.read_parquet(data_file)  # every file the later run left is whole
    settled = modification_times(cache_root)
    assert report(str(events_root), str(cache_root)).csv_bytes() == clean.csv_bytes()
    assert modification_times(cache_root) == settled  # now trusted: nothing condensed again
