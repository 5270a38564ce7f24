"""The Generate latency benchmark's own machinery: where a run's time went, read from the
metadata database, and the figures it reports. The timings themselves are `make bench-ui`'s
business (no test asserts a duration)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from bench import generate_latency
from bench.generate_latency import Run


def metadata_database(path) -> None:
    """The columns of Airflow's `dag_run` and `task_instance` that the benchmark reads, with
    the values the scheduler writes (naive UTC text)."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE dag_run (id INTEGER, dag_id, run_id, start_date, end_date)")
        db.execute(
            "CREATE TABLE task_instance "
            "(dag_id, run_id, task_id, map_index, start_date, end_date, queued_dttm)"
        )
        db.execute(
            "INSERT INTO dag_run VALUES (1, 'timecard_adhoc', 'old', NULL, NULL), "
            "(2, 'timecard_adhoc', 'new', '2026-11-02 10:00:01.000000', "
            "'2026-11-02 10:00:06.500000')"
        )
        db.execute(
            "INSERT INTO task_instance VALUES "
            "('timecard_adhoc', 'new', 'plan_and_condense', -1, '2026-11-02 10:00:01.500000', "
            "'2026-11-02 10:00:03.000000', '2026-11-02 10:00:01.200000'), "
            "('timecard_adhoc', 'new', 'build_and_publish', -1, '2026-11-02 10:00:04.000000', "
            "'2026-11-02 10:00:06.000000', '2026-11-02 10:00:03.500000')"
        )


def test_a_runs_time_is_split_into_start_tasks_and_the_page(tmp_path):
    database = tmp_path / "airflow.db"
    metadata_database(database)
    clicked_at = datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC)
    run = generate_latency.latest_run(database, clicked_at, 7.25, "warm")
    assert (run.run_id, run.tasks, run.cache, run.seconds) == ("new", 2, "warm", 7.25)
    assert (run.to_start, run.in_run, run.after_run) == (1.0, 5.5, 0.75)
    assert run.task_seconds == {"plan_and_condense": 1.5, "build_and_publish": 2.0}
    assert run.timeline == {
        "plan_and_condense": [1.2, 1.5, 3.0],
        "build_and_publish": [3.5, 4.0, 6.0],
    }


def test_the_summary_and_table_report_median_min_and_max_against_the_target():
    runs = [Run("warm", seconds, "r", 2) for seconds in (6.0, 9.5, 7.0, 12.0, 8.0)]
    summary = generate_latency.summary(runs)
    assert summary == {"runs": 5, "median_seconds": 8.0, "min_seconds": 6.0, "max_seconds": 12.0}
    table = generate_latency.markdown({"warm": summary, "cold": summary})
    assert "| warm | 5 | 8.0 s | 6.0 s | 12.0 s | ≤ 10 s |" in table.splitlines()
