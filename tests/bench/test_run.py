"""The benchmark's own machinery: data generation, the withheld partition, the tuned DuckDB
yardstick's agreement with timecard, and the ratios and targets it reports. The timings
themselves are `make bench`'s business."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

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


def test_each_workload_ends_on_the_arriving_day_with_its_lookback_inside():
    for workload in run.WORKLOADS.values():
        last = workload.start + run.timedelta(days=workload.days - 1)
        assert last == run.ARRIVING_DAY
        assert workload.start <= run.REPORT_DAY - run.timedelta(days=workload.lookback_days - 1)
        assert set(workload.kinds) <= set(run.KINDS)
    scale = run.WORKLOADS["scale"]
    assert (scale.agents, scale.lookback_days, scale.days) == (50_000, 7, 9)
    assert scale.start == run.date(2026, 10, 24)  # the first lookback day is there
    assert set(scale.kinds) == {"parquet-pyarrow", "parquet-compacted"}
    assert scale.shard_workers == (1, 2)
    assert run.WORKLOADS["standard"].start == run.date(2026, 10, 1)  # 32 days, as before


def test_processes_run_at_once_are_measured_each_on_its_own():
    # Measured from a small process, as `make bench` measures: a forked child starts from its
    # parent's peak RSS, and this test process's may be large.
    measuring = """
import json
from bench import run
grow = "b = bytearray(400_000_000); b[::4096] = b'x' * len(b[::4096]); print('grown')"
wait = "import time; time.sleep(0.5); print('waited')"
print(json.dumps(run.timed_processes([["-c", grow], ["-c", wait]])))
"""
    measured = subprocess.run(
        [sys.executable, "-c", measuring], cwd=run.REPO_ROOT, capture_output=True, check=True
    )
    (big_out, big), (small_out, small) = json.loads(measured.stdout)
    assert (big_out, small_out) == ("grown\n", "waited\n")
    assert big["peak_rss_bytes"] > 400_000_000
    assert small["peak_rss_bytes"] < 100_000_000
    assert small["wall_seconds"] >= 0.5
    assert big["cpu_seconds"] > 0


def test_a_failing_process_stops_the_benchmark_with_its_error():
    with pytest.raises(SystemExit, match=r"(?s)\(exit 3\):\nwent wrong"):
        failing = "import sys; print('went wrong', file=sys.stderr); sys.exit(3)"
        run.timed_processes([["-c", failing], ["-c", "0"]])


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
    standard = run.WORKLOADS["standard"]
    generate_events(
        str(root),
        agents=100,
        start=standard.start,
        days=standard.days,
        shape="ndjson-gz",
        layout="firehose",
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
        "cpu_seconds": seconds * 2,
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
    assert kind["ratios"]["nightly / DuckDB"]["met"] is False  # the target is 0.1
    assert kind["rerun"]["met"] is True
    assert kind["timecard_peak_rss"] == {
        "bytes": 650_000_000,
        "target_bytes": 500_000_000,
        "met": False,
    }

    table = run.markdown(results)
    assert "| ndjson-gz: gzipped NDJSON | 150 | 1,000,000 | 10.00 s (8.00–12.00) |" in table
    assert "| 0.50 (0.40–0.80) ≤ 0.5: yes | 0.50 (0.40–0.80) |" in table  # CPU time
    assert "| 0.15 (0.10–0.40) ≤ 0.1: **no** |" in table
    assert "0.50 s (0.40–0.70) ≤ 0.5 s: yes" in table
    assert (
        "550 / 650 / 200 / DuckDB 3,000 MB; each JSON scan worker 150 MB (≤ 500: **no**)" in table
    )
    assert "| yes (10 rows) |" in table
    assert "shard" not in table  # the standard workload runs no shard workers


def _sharded(seconds: float, workers: int) -> dict:
    return _measurement(seconds, 400 + workers, rows=10, shards=6) | {
        "worker_peak_rss_bytes": 300_000_000 * workers
    }


def test_the_scale_workload_reports_each_shard_worker_count_against_the_tuned_query():
    repetitions = []
    for cold, one, two in ((30, 40, 24), (32, 44, 26), (28, 38, 22)):
        repetition = _repetition(cold, 60, 5.0, 0.4)
        repetition["cold, 1 shard worker"] = _sharded(one, 1)
        repetition["cold, 2 shard workers"] = _sharded(two, 2)
        repetitions.append(repetition)
    outcome = {
        "counts": {"events": 96_000_000, "files": 9, "bytes": 12_000_000_000},
        "repetitions": repetitions,
        "csv_equal": [True, True, True],
    }
    machine = {"cores": 2, "cpu": "test CPU", "memory_bytes": 2**34, "python": "3.11"}
    machine |= {"polars": "2.1.0", "pyarrow": "26.0.1", "duckdb": "2.0.0"}
    machine |= {"load_average_at_start": [1.0] * 3, "load_average_at_end": [2.0] * 3}
    environment = {"machine": machine, "code": {"commit": "0123456789", "modified": []}}
    workload = run.WORKLOADS["scale"]
    results = run.summarize(workload, 3, environment, {"parquet-compacted": outcome})
    kind = results["kinds"]["parquet-compacted"]

    two = kind["sharded"]["cold, 2 shard workers"]
    assert two["seconds"]["median"] == 24
    assert two["cold / DuckDB"]["value"] == pytest.approx(24 / 60)
    assert two["cold / DuckDB"]["met"] is True
    assert kind["sharded"]["cold, 1 shard worker"]["cold / DuckDB"]["met"] is False
    assert two["worker_peak_rss_bytes"] == 600_000_000
    # A 50,000-agent day: the target is under 1 GB.
    assert kind["timecard_peak_rss"]["target_bytes"] == 1_000_000_000
    assert results["workload"]["lookback_days"] == 7

    table = run.markdown(results)
    assert "50,000 agents × 9 days" in table and "7-day lookback" in table
    assert "| parquet-compacted | 2 | 6 | 24.00 s (22.00–26.00) | 0.40 (0.37–0.43) ≤ 0.5: yes" in (
        table
    )
    assert "| 25.00 s (23.00–27.00) | 48.00 s (44.00–52.00) | 402 MB (600 MB) |" in table
    assert "| parquet-compacted | 1 | 6 | 40.00 s (38.00–44.00) | 0.67" in table


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


@pytest.mark.slow
def test_a_tiny_scale_workload_shards_the_cold_report_over_two_workers(tmp_path, monkeypatch):
    """The scale workload's every step at a few agents: Firehose Parquet and its compaction,
    the cold report condensed by 1 and by 2 shard-worker processes, all with DuckDB's CSV."""
    monkeypatch.setattr(run, "DATA_ROOT", tmp_path / "data")
    monkeypatch.setattr(run, "RESULTS_ROOT", tmp_path / "results")
    results = run.main(["--workload", "scale", "--agents", "8", "--repeat", "1"])
    assert set(results["kinds"]) == {"parquet-pyarrow", "parquet-compacted"}
    assert results["workload"]["lookback_days"] == 7
    pyarrow, compacted = results["kinds"]["parquet-pyarrow"], results["kinds"]["parquet-compacted"]
    assert compacted["events"] == pyarrow["events"] > 0
    assert compacted["files"] == 9 < pyarrow["files"]  # one file a day
    for kind in (pyarrow, compacted):
        assert kind["csv_equal"]
        assert kind["report_rows"]["cold"] > 0
        one, two = kind["sharded"]["cold, 1 shard worker"], kind["sharded"]["cold, 2 shard workers"]
        assert one["shards"] == two["shards"] >= 8  # at least a shard a raw day
        [worker] = kind["repetitions"][0]["cold, 1 shard worker"]["workers"]
        assert worker["shards"] == one["shards"]
        shares = [w["shards"] for w in kind["repetitions"][0]["cold, 2 shard workers"]["workers"]]
        assert sum(shares) == two["shards"]
    assert "| parquet-compacted | 2 |" in run.markdown(results)
    assert (tmp_path / "results" / "scale-8-agents.json").exists()
