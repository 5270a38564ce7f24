"""The benchmark's own machinery: data generation, the withheld partition, the tuned DuckDB
yardstick's agreement with timecard, and the ratios and targets it reports. The timings
themselves are `make bench`'s business."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bench import duckdb_tuned, measure, run
from timecard.engine import build_report
from timecard.generate import generate_events


def test_a_withheld_partition_comes_back_even_when_the_measurement_fails(tmp_path):
    day_folder = run.partition_folder(tmp_path, run.ARRIVING_DAY)
    (day_folder / "00").mkdir(parents=True)
    (day_folder / "00" / "stream-1").write_bytes(b"{}")
    with pytest.raises(RuntimeError), run.withheld(tmp_path, run.ARRIVING_DAY):
        assert not day_folder.exists()
        assert run.hidden_folder(tmp_path, run.ARRIVING_DAY).is_dir()
        raise RuntimeError("a measurement failed")
    assert (day_folder / "00" / "stream-1").read_bytes() == b"{}"
    assert not run.hidden_folder(tmp_path, run.ARRIVING_DAY).exists()


def test_a_partition_left_hidden_by_a_killed_run_is_restored(tmp_path):
    run.hidden_folder(tmp_path, run.ARRIVING_DAY).mkdir(parents=True)
    run.restore_withheld(tmp_path, run.ARRIVING_DAY)
    assert run.partition_folder(tmp_path, run.ARRIVING_DAY).is_dir()
    assert not run.hidden_folder(tmp_path, run.ARRIVING_DAY).exists()


def test_the_generators_summary_gives_events_files_and_bytes():
    line = (
        "timecard: generated 623,183 events (LOGIN 2,345, LOGOUT 2,179, STATE_CHANGE 94,436, "
        "HEART_BEAT 524,223; 588 delivered twice) in 384 files, 82,471,596 bytes"
    )
    assert run.generator_counts(line) == {"events": 623_183, "files": 384, "bytes": 82_471_596}


def test_files_of_another_generator_version_are_kept_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "DATA_ROOT", tmp_path)
    workload = run.Workload("tiny", agents=20)
    counts = {"events": 10, "files": 2, "bytes": 3000}
    made = workload.generator_parameters("ndjson-gz") | {"generator_sha256": "an older one"}
    workload.folder("ndjson-gz").mkdir(parents=True)
    marker = workload.folder("ndjson-gz") / "generator.json"
    marker.write_text(json.dumps({"parameters": made, "counts": counts}))

    assert run.ensure_events(workload, "ndjson-gz", reuse_data=True) == counts
    other_roster = run.Workload("tiny", agents=21)
    monkeypatch.setattr(run, "run_python", lambda arguments: pytest.fail("generated again"))
    with pytest.raises(pytest.fail.Exception, match="generated again"):
        run.ensure_events(other_roster, "ndjson-gz", reuse_data=True)


@pytest.fixture(scope="module")
def firehose_ndjson(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("firehose") / "events"
    generate_events(
        str(root), agents=100, start=run.START, days=run.DAYS, shape="ndjson-gz", layout="firehose"
    )
    return str(root)


def test_the_tuned_duckdb_query_gives_timecards_csv_byte_for_byte(firehose_ndjson, tmp_path):
    request = measure.daily_request(firehose_ndjson, run.REPORT_DAY)
    timecard_csv = build_report(request, str(tmp_path / "cache")).csv_bytes()
    duckdb_csv = duckdb_tuned.tuned_report_csv(
        firehose_ndjson, *measure.day_window(run.REPORT_DAY), "UTC", measure.LOOKBACK_DAYS
    )
    rows = list(csv.DictReader(io.StringIO(timecard_csv.decode())))
    assert len(rows) > 5
    # Sessions with no logout carry a Last activity: the as-of join is exercised.
    assert any(row["Last activity"] and not row["Logout time"] for row in rows)
    assert duckdb_csv.encode() == timecard_csv


def test_the_tuned_query_formats_times_in_the_reports_zone(firehose_ndjson, tmp_path):
    from timecard.engine import ReportRequest
    from timecard.timerange import checked_range

    start, end = measure.day_window(run.REPORT_DAY)
    request = ReportRequest(
        firehose_ndjson,
        checked_range(start, end, "America/St_Johns"),  # a half-hour offset
        lookback_days=measure.LOOKBACK_DAYS,
        layout=measure.LAYOUT,
    )
    timecard_csv = build_report(request, str(tmp_path / "cache")).csv_bytes()
    duckdb_csv = duckdb_tuned.tuned_report_csv(
        firehose_ndjson, start, end, "America/St_Johns", measure.LOOKBACK_DAYS
    )
    assert b"-02:30," in timecard_csv
    assert duckdb_csv.encode() == timecard_csv


def _measurement(seconds: float, rss_mb: int = 500, **counts) -> dict:
    return {
        "seconds": seconds,
        "wall_seconds": seconds + 1,
        "peak_rss_bytes": rss_mb * 1_000_000,
        "load": [1.0, 2.0],
        **counts,
    }


def _repetition(cold: float, duckdb: float, nightly: float, rerun: float) -> dict:
    return {
        "cold": _measurement(
            cold, 550, rows=10, events_read=1000, worker_peak_rss_bytes=150_000_000
        ),
        "duckdb": _measurement(duckdb, 3000, rows=10),
        "nightly": _measurement(nightly, 650, rows=12, events_read=100),
        "rerun": _measurement(rerun, 200),
    }


def test_ratios_compare_medians_and_the_table_says_which_targets_are_met():
    outcome = {
        "counts": {"events": 1_000_000, "files": 3000, "bytes": 150_000_000},
        "repetitions": [
            _repetition(10, 20, 2.0, 0.4),
            _repetition(12, 30, 3.0, 0.5),
            _repetition(8, 10, 4.0, 0.7),
        ],
        "csv_equal": [True, True, True],
    }
    machine = {
        "cores": 2,
        "cpu": "test CPU",
        "memory_bytes": 8 * 2**30,
        "load_average_at_start": [1.0, 1.0, 1.0],
        "load_average_at_end": [2.0, 2.0, 2.0],
        "python": "3.11",
        "polars": "2.1.0",
        "pyarrow": "26.0.1",
        "duckdb": "2.0.0",
    }
    environment = {"machine": machine, "code": {"commit": "0123456789", "modified": []}}
    results = run.summarize(run.WORKLOADS["standard"], 3, environment, {"ndjson-gz": outcome})
    kind = results["kinds"]["ndjson-gz"]

    assert kind["bytes_per_event"] == pytest.approx(150.0)
    assert kind["ratios"]["cold / DuckDB"]["value"] == pytest.approx(10 / 20)
    assert kind["ratios"]["cold / DuckDB"]["per_repetition"]["max"] == pytest.approx(0.8)
    assert kind["ratios"]["cold / DuckDB"]["met"] is True
    assert kind["ratios"]["nightly / DuckDB"]["value"] == pytest.approx(3.0 / 20)
    assert kind["ratios"]["nightly / DuckDB"]["met"] is True
    assert kind["rerun"]["met"] is True
    assert kind["timecard_peak_rss"] == {
        "bytes": 650_000_000,
        "target_bytes": 600_000_000,
        "met": False,
    }

    table = run.markdown(results)
    assert "| ndjson-gz: gzipped NDJSON | 150 | 1,000,000 | 10.00 s (8.00–12.00) |" in table
    assert "| 0.50 (0.40–0.80) ≤ 0.5: yes |" in table
    assert "0.50 s (0.40–0.70) ≤ 0.5 s: yes" in table
    assert (
        "550 / 650 / 200 / DuckDB 3,000 MB; each JSON scan worker 150 MB (≤ 600: **no**)" in table
    )
    assert "| yes (10 rows) |" in table


@pytest.mark.slow
def test_the_quick_workload_runs_every_kind_with_agreeing_csvs(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "DATA_ROOT", tmp_path / "data")
    monkeypatch.setattr(run, "RESULTS_ROOT", tmp_path / "results")
    results = run.main(["--workload", "quick", "--repeat", "1"])
    assert set(results["kinds"]) == set(run.KINDS)
    for kind in results["kinds"].values():
        assert kind["csv_equal"]
        assert kind["report_rows"]["cold"] > 0
        assert kind["bytes_per_event"] > 50
        assert kind["seconds"]["rerun"]["median"] > 0
    assert (tmp_path / "results" / "quick.json").exists()
