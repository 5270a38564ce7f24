"""One benchmark measurement, run by `bench.run` in a fresh process so its peak RSS is its own.

    .venv/bin/python -m bench.measure report --events ROOT --day 2026-10-31 --cache DIR --csv OUT
    .venv/bin/python -m bench.measure condense --events ROOT --day 2026-10-15
    .venv/bin/python -m bench.measure duckdb --events ROOT --day 2026-10-31 --csv OUT
    .venv/bin/python -m bench.measure floor --events ROOT --day 2026-10-31 --report-partitions
    .venv/bin/python -m bench.measure floor --events ROOT --day 2026-10-15
    .venv/bin/python -m bench.measure count --events ROOT --day 2026-11-01

Prints one JSON object on stdout: `seconds` (the measured work only, without interpreter start-up
and imports), `peak_rss_bytes` (the process's `ru_maxrss`, imports included) and counts.
Any step can be profiled as it is measured: `pyinstrument -m bench.measure report ...`.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from timecard import ingest
from timecard.condensed import BUILDERS, PARTS, RawReads
from timecard.engine import ReportRequest, build_report, needed_days
from timecard.timerange import checked_range

LOOKBACK_DAYS = 31
REPORT_TZ = "UTC"
# The benchmark compares whole reports; the row limit is a guard for users, not for it.
UNLIMITED_ROWS = 10_000_000

_TEXT = pl.String()
_NAMED = pl.Struct({"Name": _TEXT})
# What the floor reads of each record: the report's columns, as the generated stream types them.
# A scan with this schema skips every other field, nested ones included.
_CONFIGURATION = pl.Struct(
    {
        "AgentHierarchyGroups": pl.Struct({f"Level{level}": _NAMED for level in range(1, 6)}),
        "FirstName": _TEXT,
        "LastName": _TEXT,
        "Username": _TEXT,
        "RoutingProfile": _NAMED,
    }
)
FLOOR_SCHEMA = {
    "AgentARN": _TEXT,
    "CurrentAgentSnapshot": pl.Struct({"Configuration": _CONFIGURATION}),
    "EventId": _TEXT,
    "EventTimestamp": _TEXT,
    "EventType": _TEXT,
}


def day_window(day: date) -> tuple[datetime, datetime]:
    """The UTC day as a half-open window of instants."""
    start = datetime.combine(day, datetime.min.time(), UTC)
    return start, start + timedelta(days=1)


def daily_request(events_root: str, day: date) -> ReportRequest:
    return ReportRequest(
        events_root,
        checked_range(*day_window(day), REPORT_TZ),
        lookback_days=LOOKBACK_DAYS,
        max_rows=UNLIMITED_ROWS,
    )


def measure_report(events_root: str, day: date, cache_root: str, csv_path: str) -> dict:
    """timecard's daily report for `day`, condensing whatever `cache_root` lacks."""
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
    }


def measure_condense(events_root: str, day: date) -> dict:
    """Condensing one raw day fully, as a report around its window does: one shared read of the
    raw files, then the three parts (nothing is written)."""
    files = ingest.partition_files(events_root, day)
    steps, counts = {}, {}
    started = time.perf_counter()
    reads = RawReads(files, day, PARTS)
    steps["read"] = time.perf_counter() - started
    for name in PARTS:
        started = time.perf_counter()
        _, counts[name] = BUILDERS[name](reads)
        steps[name] = time.perf_counter() - started
    return {"seconds": sum(steps.values()), "steps": steps, "counts": counts}


def measure_duckdb(events_root: str, day: date, csv_path: str) -> dict:
    """The DuckDB reference computing the same daily report from the raw files."""
    # A test-side module: DuckDB is a test and benchmark dependency only.
    from tests.reference.duckdb_reference import reference_report_csv

    started = time.perf_counter()
    csv = reference_report_csv(
        events_root, *day_window(day), REPORT_TZ, lookback_days=LOOKBACK_DAYS
    )
    seconds = time.perf_counter() - started
    Path(csv_path).write_text(csv, encoding="utf-8", newline="")
    return {"seconds": seconds, "rows": csv.count("\n") - 1}


def measure_floor(events_root: str, days: list[date]) -> dict:
    """Read the report's columns of every record of the days' partitions, one day at a time (as
    condensing does, and so that memory holds one day), keeping nothing."""
    partitions = [[file.url for file in ingest.partition_files(events_root, day)] for day in days]
    partitions = [files for files in partitions if files]
    configuration = pl.col("CurrentAgentSnapshot").struct.field("Configuration")
    hierarchy = configuration.struct.field("AgentHierarchyGroups")
    columns = [
        "EventId",
        "EventType",
        "EventTimestamp",
        "AgentARN",
        *(configuration.struct.field(name) for name in ("Username", "FirstName", "LastName")),
        configuration.struct.field("RoutingProfile").struct.field("Name").alias("RoutingProfile"),
        *(
            hierarchy.struct.field(f"Level{level}").struct.field("Name").alias(f"Level{level}")
            for level in range(1, 6)
        ),
    ]
    events = 0
    started = time.perf_counter()
    for files in partitions:
        scan = pl.scan_parquet(
            files,
            schema=FLOOR_SCHEMA,
            extra_columns="ignore",
            cast_options=pl.ScanCastOptions(extra_struct_fields="ignore"),
        )
        events += scan.select(columns).collect().height
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "events": events,
        "files": sum(len(files) for files in partitions),
        "partitions": len(partitions),
    }


def count_events(events_root: str, day: date) -> dict:
    """The number of records in the day's partition, from the Parquet footers."""
    files = [file.url for file in ingest.partition_files(events_root, day)]
    events = pl.scan_parquet(files).select(pl.len()).collect().item() if files else 0
    return {"events": events}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.measure", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    for name in ("report", "condense", "duckdb", "floor", "count"):
        step = steps.add_parser(name)
        step.add_argument("--events", required=True, metavar="ROOT")
        step.add_argument("--day", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
        if name == "report":
            step.add_argument("--cache", required=True, metavar="DIR")
        if name in ("report", "duckdb"):
            step.add_argument("--csv", required=True, metavar="OUT")
        if name == "floor":
            step.add_argument(
                "--report-partitions",
                action="store_true",
                help="all partitions the daily report for --day reads, not just --day's own",
            )
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.step == "report":
        measured = measure_report(args.events, args.day, args.cache, args.csv)
    elif args.step == "condense":
        measured = measure_condense(args.events, args.day)
    elif args.step == "duckdb":
        measured = measure_duckdb(args.events, args.day, args.csv)
    elif args.step == "count":
        measured = count_events(args.events, args.day)
    else:
        days = (
            needed_days(daily_request(args.events, args.day))[0]
            if args.report_partitions
            else [args.day]
        )
        measured = measure_floor(args.events, days)
    # Linux reports ru_maxrss in KiB.
    measured["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(measured))


if __name__ == "__main__":
    main()
