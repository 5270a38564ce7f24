"""The benchmark's own machinery: data generation, the withheld partition, the measurements'
counts and the ratios it reports. The timings themselves are `make bench`'s business."""

from __future__ import annotations

import json

import pytest

from bench import measure, run
from timecard.generate import generate_events


@pytest.fixture(scope="module")
def tiny_events(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("tiny") / "events"
    generate_events(str(root), agents=20, start=run.START, days=run.DAYS)
    return str(root)


def test_a_withheld_partition_comes_back_even_when_the_measurement_fails(tmp_path):
    day_folder = run.partition_folder(tmp_path, run.ARRIVING_DAY)
    day_folder.mkdir()
    (day_folder / "part-00000.parquet").write_bytes(b"PAR1")
    with pytest.raises(RuntimeError), run.withheld(tmp_path, run.ARRIVING_DAY):
        assert not day_folder.exists()
        assert run.hidden_folder(tmp_path, run.ARRIVING_DAY).is_dir()
        raise RuntimeError("a measurement failed")
    assert (day_folder / "part-00000.parquet").read_bytes() == b"PAR1"
    assert not run.hidden_folder(tmp_path, run.ARRIVING_DAY).exists()


def test_a_partition_left_hidden_by_a_killed_run_is_restored(tmp_path):
    run.hidden_folder(tmp_path, run.ARRIVING_DAY).mkdir()
    run.restore_withheld(tmp_path, run.ARRIVING_DAY)
    assert run.partition_folder(tmp_path, run.ARRIVING_DAY).is_dir()
    assert not run.hidden_folder(tmp_path, run.ARRIVING_DAY).exists()


def test_events_are_generated_once_and_again_when_the_parameters_change(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "DATA_ROOT", tmp_path)
    roster = run.Workload("tiny", agents=20)
    run.ensure_events(roster)
    first_file = run.partition_folder(roster.events_root, run.START) / "part-00000.parquet"
    generated_at = first_file.stat().st_mtime_ns
    marker = json.loads((roster.folder / "generator.json").read_text())
    assert marker["parameters"] == roster.generator_parameters()
    assert len(list(roster.events_root.glob("date=*"))) == run.DAYS

    run.ensure_events(roster)
    assert first_file.stat().st_mtime_ns == generated_at

    run.ensure_events(run.Workload("tiny", agents=21))
    marker = json.loads((roster.folder / "generator.json").read_text())
    assert marker["parameters"]["agents"] == 21
    assert first_file.stat().st_mtime_ns != generated_at


def test_the_floor_reads_every_record_of_the_cold_reports_partitions(tiny_events):
    report_days = measure.needed_days(measure.daily_request(tiny_events, run.REPORT_DAY))[0]
    floor = measure.measure_floor(tiny_events, report_days)
    present = [day for day in report_days if measure.count_events(tiny_events, day)["events"]]
    assert floor["partitions"] == len(present) == run.DAYS
    assert floor["events"] == sum(
        measure.count_events(tiny_events, day)["events"] for day in present
    )


def test_condensing_a_day_builds_each_part_from_all_its_records(tiny_events):
    condensed = measure.measure_condense(tiny_events, run.CONDENSED_DAY)
    assert set(condensed["steps"]) == {"read", "sessions", "activity", "attributes"}
    assert condensed["seconds"] == pytest.approx(sum(condensed["steps"].values()))
    day_events = measure.count_events(tiny_events, run.CONDENSED_DAY)["events"]
    assert condensed["counts"]["activity"]["events"] == day_events
    assert condensed["counts"]["sessions"]["session_events"] > 0


def _measurement(seconds: float, rss_mb: int = 500, **counts) -> dict:
    return {"seconds": seconds, "peak_rss_bytes": rss_mb * 1_000_000, **counts}


def _repetition(cold: float, duckdb: float, warm: float) -> dict:
    return {
        "cold": _measurement(cold, 900, rows=10),
        "duckdb": _measurement(duckdb, 3000),
        "floor": _measurement(40.0, events=1_000_000),
        "condense day": _measurement(
            3.0, 800, steps={"read": 1.0, "sessions": 0.2, "activity": 0.6, "attributes": 1.2}
        ),
        "floor day": _measurement(2.0, events=40_000),
        "warm": _measurement(warm, 1600, rows=12),
    }


def test_ratios_compare_medians_and_the_table_says_which_targets_are_met():
    outcome = {
        "repetitions": [
            _repetition(10, 20, 0.9),
            _repetition(12, 30, 1.0),
            _repetition(8, 10, 2.0),
        ],
        "csv_equal": [True, True, True],
        "arriving_events": 10_000,
    }
    machine = {
        "cores": 2,
        "cpu": "test CPU",
        "memory_bytes": 8 * 2**30,
        "load_average_at_start": [1.0, 1.0, 1.0],
        "load_average_at_end": [2.0, 2.0, 2.0],
        "python": "3.11",
        "polars": "2.1.0",
        "duckdb": "2.0.0",
    }
    environment = {"machine": machine, "code": {"commit": "0123456789", "modified": []}}
    results = run.summarize(run.WORKLOADS["standard"], 3, environment, outcome)

    assert results["ratios"]["cold / DuckDB"]["value"] == pytest.approx(10 / 20)
    assert results["ratios"]["cold / DuckDB"]["per_repetition"]["max"] == pytest.approx(0.8)
    assert results["ratios"]["warm / cold"]["value"] == pytest.approx(1.0 / 10)
    assert results["ratios"]["condense day / floor day"]["value"] == pytest.approx(1.5)
    assert results["condense_events_per_second"] == pytest.approx(40_000 / 3.0)
    assert results["timecard_peak_rss"]["bytes"] == 1_600_000_000

    table = run.markdown(results)
    assert "| cold / DuckDB | 0.50 (0.40–0.80) | ≤ 0.8 | yes |" in table
    assert "| warm / cold | 0.10 (0.08–0.25) | ≤ 0.1 | yes |" in table
    assert "| 1,600 MB | ≤ 1,500 MB | **no** |" in table
    assert "byte for byte: yes (10 rows)" in table
