"""How long Airflow takes to parse the report DAG file with many saved reports.

    .venv/bin/python -m bench.parse_dags --reports 500

Writes N daily/weekly definitions into a temporary folder, then times DagBag parsing of
the report DAG file in Airflow's DAG folder (what the dag-processor does for the file), best and
median of 5, in wall-clock time and in this process's CPU time (which a busy machine inflates
far less, so before/after comparisons on a shared machine read it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from timecard.airflow_env import airflow_environment, reports_dag_file

ZONES = ("UTC", "Asia/Seoul", "America/New_York", "Europe/London", "Asia/Kolkata")


def write_definitions(folder: Path, count: int) -> None:
    for n in range(count):
        schedule = "daily" if n % 3 else "{weekly: [monday, thursday]}"
        (folder / f"report-{n:04d}.yaml").write_text(
            f"name: Report {n}\ntimezone: {ZONES[n % len(ZONES)]}\nschedule: {schedule}\n"
            f"prefix: team-{n % 20}\nfilters:\n  routing_profiles: [Profile {n % 7}]\n"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="timecard-parse-bench-")
    os.environ.update(airflow_environment(home=home))
    folder = Path(home) / "reports"
    folder.mkdir()
    write_definitions(folder, args.reports)
    os.environ["TIMECARD_REPORTS_DIR"] = str(folder)

    from airflow.dag_processing.dagbag import DagBag

    timings, cpu = [], []
    for _ in range(args.repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        bag = DagBag(dag_folder=str(reports_dag_file()))
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        assert len(bag.dags) == args.reports and not bag.import_errors, bag.import_errors
    print(
        f"parsed {args.reports} report definitions into {len(bag.dags)} DAGs: "
        f"median {statistics.median(timings):.2f}s, best {min(timings):.2f}s "
        f"({args.repeat} runs, first {timings[0]:.2f}s); CPU median "
        f"{statistics.median(cpu):.2f}s, best {min(cpu):.2f}s"
    )


if __name__ == "__main__":
    main()
