"""One benchmark measurement, run by `bench.run` in a fresh process so its peak RSS is its own.

    .venv/bin/python -m bench.measure report --events ROOT --day 2026-10-31 --cache DIR --csv OUT
    .venv/bin/python -m bench.measure duckdb --events ROOT --day 2026-10-31 --csv OUT

Prints one JSON object on stdout: `seconds` (the measured work only, without interpreter start-up
and imports) and counts. `bench.run` takes the process's wall time and peak RSS from outside.
Any step can be profiled as it is measured: `pyinstrument -m bench.measure report ...`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

LOOKBACK_DAYS = 31
REPORT_TZ = "UTC"
LAYOUT = "firehose"  # every benchmark input lands in Firehose's YYYY/MM/DD/HH layout
# The benchmark compares whole reports; the row limit is a guard for users, not for it.
UNLIMITED_ROWS = 10_000_000


def day_window(day: date) -> tuple[datetime, datetime]:
    """The UTC day as a half-open window of instants."""
    start = datetime.combine(day, datetime.min.time(), UTC)
    return start, start + timedelta(days=1)


def daily_request(events_root: str, day: date):
    from timecard.engine import ReportRequest
    from timecard.timerange import checked_range

    return ReportRequest(
        events_root,
        checked_range(*day_window(day), REPORT_TZ),
        lookback_days=LOOKBACK_DAYS,
        max_rows=UNLIMITED_ROWS,
        layout=LAYOUT,
    )


PANDERA_BACKEND = (
    "schemas.pandera_polars",
    "pandera.backends.polars.builtin_checks",
    "pandera.backends.polars.container",
)


def measure_report(events_root: str, day: date, cache_root: str, csv_path: str) -> dict:
    """timecard's daily report for `day`, condensing whatever `cache_root` lacks."""
    from timecard.engine import build_report

    # Pandera imports its Polars backend on the first validation: an import, not work. In this
    # order: timecard's own import of Pandera comes first (see schemas/pandera_polars.py).
    for module in PANDERA_BACKEND:
        importlib.import_module(module)

    request = daily_request(events_root, day)
    started = time.perf_counter()
    result = build_report(request, cache_root)
    csv = result.csv_bytes()
    seconds = time.perf_counter() - started
    Path(csv_path).write_bytes(csv)
    summary = result.summary
    return {
        "seconds": seconds,
        "rows": summary.rows,
        "events_read": summary.events_read,
        "partitions_read": summary.partitions_read,
        "parts_condensed": summary.parts_built_now,
        "worker_peak_rss_bytes": worker_peak_rss(),
    }


def worker_peak_rss() -> int:
    """The largest peak RSS of this process's worker processes (JSON scans), once they have
    exited: the bench's own measurement from outside sees this process only."""
    from timecard.readers import processes

    processes.shutdown()
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: KiB


def measure_duckdb(events_root: str, day: date, csv_path: str) -> dict:
    """The tuned DuckDB query computing the same daily report from the raw files."""
    from bench.duckdb_tuned import tuned_report_csv

    started = time.perf_counter()
    csv = tuned_report_csv(events_root, *day_window(day), REPORT_TZ, lookback_days=LOOKBACK_DAYS)
    seconds = time.perf_counter() - started
    Path(csv_path).write_text(csv, encoding="utf-8", newline="")
    return {"seconds": seconds, "rows": csv.count("\n") - 1}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.measure", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    for name in ("report", "duckdb"):
        step = steps.add_parser(name)
        step.add_argument("--events", required=True, metavar="ROOT")
        step.add_argument("--day", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
        step.add_argument("--csv", required=True, metavar="OUT")
        if name == "report":
            step.add_argument("--cache", required=True, metavar="DIR")
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.step == "report":
        measured = measure_report(args.events, args.day, args.cache, args.csv)
    else:
        measured = measure_duckdb(args.events, args.day, args.csv)
    print(json.dumps(measured))


if __name__ == "__main__":
    main()
