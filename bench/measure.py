"""One benchmark measurement, run by `bench.run` in a fresh process so its peak RSS is its own.

    .venv/bin/python -m bench.measure report --events ROOT --day 2026-10-31 --cache DIR --csv OUT
    .venv/bin/python -m bench.measure duckdb --events ROOT --day 2026-10-31 --csv OUT

Prints one JSON object on stdout: `seconds` (the measured work only, without interpreter start-up
and imports) and counts. `bench.run` takes the process's wall time and peak RSS from outside.
Any step can be profiled as it is measured: `pyinstrument -m bench.measure report ...`.
"""

from __future__ import annotations

import argparse
import fcntl
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


def daily_request(events_root: str, day: date, lookback_days: int = LOOKBACK_DAYS):
    from timecard.engine import ReportRequest
    from timecard.timerange import checked_range

    return ReportRequest(
        events_root,
        checked_range(*day_window(day), REPORT_TZ),
        lookback_days=lookback_days,
        max_rows=UNLIMITED_ROWS,
        layout=LAYOUT,
    )


PANDERA_BACKEND = (
    "schemas.pandera_polars",
    "pandera.backends.polars.builtin_checks",
    "pandera.backends.polars.container",
)


def import_pandera_backend() -> None:
    # Pandera imports its Polars backend on the first validation: an import, not work. In this
    # order: timecard's own import of Pandera comes first (see schemas/pandera_polars.py).
    for module in PANDERA_BACKEND:
        importlib.import_module(module)


def measure_report(
    events_root: str, day: date, cache_root: str, csv_path: str, lookback_days: int = LOOKBACK_DAYS
) -> dict:
    """timecard's daily report for `day`, condensing whatever `cache_root` lacks."""
    from timecard.engine import build_report

    import_pandera_backend()
    request = daily_request(events_root, day, lookback_days)
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


def measure_duckdb(
    events_root: str, day: date, csv_path: str, lookback_days: int = LOOKBACK_DAYS
) -> dict:
    """The tuned DuckDB query computing the same daily report from the raw files."""
    from bench.duckdb_tuned import tuned_report_csv

    started = time.perf_counter()
    csv = tuned_report_csv(events_root, *day_window(day), REPORT_TZ, lookback_days=lookback_days)
    seconds = time.perf_counter() - started
    Path(csv_path).write_text(csv, encoding="utf-8", newline="")
    return {"seconds": seconds, "rows": csv.count("\n") - 1}


# -- the cold report condensed as shards by separate worker processes ----------------------------
#
# As the scheduled DAG maps shard tasks over Celery workers (or pods): `shard-plan` plans every
# raw day the report needs into shards and queues them; each `shard-worker` process takes the
# next queued shard until none is left (as a Celery worker takes the next message), condensing
# it into run files in the shared cache; `shard-report` combines each day's runs into its parts
# and builds the report from them.


def _day_parts(request) -> dict[date, tuple[str, ...]]:
    """Each raw day the report needs, with the parts it needs (as `condense_days` decides)."""
    from timecard.engine import needed_days

    session_days, activity_days = needed_days(request)
    return {
        day: ("sessions", "activity", "attributes") if day in activity_days else ("sessions",)
        for day in session_days
    }


def _queue(plan_path: str) -> Path:
    return Path(plan_path).with_suffix(".next")


def measure_shard_plan(
    events_root: str, day: date, lookback_days: int, cache_root: str, plan_path: str, workers: int
) -> dict:
    from timecard.condensed import DayCache, plan_shards

    request = daily_request(events_root, day, lookback_days)
    started = time.perf_counter()
    cache = DayCache(request.landing, cache_root)
    tasks = [
        {"shard": shard.to_json(), "parts": list(parts)}
        for needed_day, parts in _day_parts(request).items()
        for shard in plan_shards(cache, needed_day)
    ]
    Path(plan_path).write_text(json.dumps({"workers": workers, "tasks": tasks}))
    _queue(plan_path).write_text("0")
    return {"seconds": time.perf_counter() - started, "shards": len(tasks)}


def _next_task(plan_path: str) -> int:
    """The next queued shard's number, taken under a lock (each is taken by one worker)."""
    with open(_queue(plan_path), "r+") as queue:
        fcntl.flock(queue, fcntl.LOCK_EX)
        number = int(queue.read() or 0)
        queue.seek(0)
        queue.write(str(number + 1))
        queue.truncate()
        return number


def measure_shard_worker(
    events_root: str, day: date, lookback_days: int, cache_root: str, plan_path: str, worker: int
) -> dict:
    from timecard.condensed import DayCache, Shard, condense_shard

    request = daily_request(events_root, day, lookback_days)
    tasks = json.loads(Path(plan_path).read_text())["tasks"]
    started = time.perf_counter()
    cache = DayCache(request.landing, cache_root)
    done = 0
    while (number := _next_task(plan_path)) < len(tasks):
        task = tasks[number]
        result = condense_shard(cache, Shard.from_json(task["shard"]), tuple(task["parts"]))
        Path(f"{plan_path}.result-{number}").write_text(result.to_json())
        done += 1
    return {"seconds": time.perf_counter() - started, "worker": worker, "shards": done}


def measure_shard_report(
    events_root: str, day: date, lookback_days: int, cache_root: str, plan_path: str, csv_path: str
) -> dict:
    from timecard.condensed import DayCache, ShardResult, combine_shards
    from timecard.engine import build_report

    import_pandera_backend()
    request = daily_request(events_root, day, lookback_days)
    tasks = json.loads(Path(plan_path).read_text())["tasks"]
    started = time.perf_counter()
    results: dict[date, list] = {}
    for number in range(len(tasks)):
        result = ShardResult.from_json(Path(f"{plan_path}.result-{number}").read_text())
        results.setdefault(result.shard.day, []).append(result)
    cache = DayCache(request.landing, cache_root)
    for shard_day, day_results in results.items():
        combine_shards(cache, shard_day, day_results)
    combined = time.perf_counter() - started
    result = build_report(request, cache_root)
    csv = result.csv_bytes()
    seconds = time.perf_counter() - started
    Path(csv_path).write_bytes(csv)
    return {
        "seconds": seconds,
        "combine_seconds": combined,
        "rows": result.summary.rows,
        "parts_condensed": result.summary.parts_built_now,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.measure", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    for name in ("report", "duckdb", "shard-plan", "shard-worker", "shard-report"):
        step = steps.add_parser(name)
        step.add_argument("--events", required=True, metavar="ROOT")
        step.add_argument("--day", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
        step.add_argument("--lookback-days", type=int, default=LOOKBACK_DAYS)
        if name in ("report", "duckdb", "shard-report"):
            step.add_argument("--csv", required=True, metavar="OUT")
        if name != "duckdb":
            step.add_argument("--cache", required=True, metavar="DIR")
        if name.startswith("shard-"):
            step.add_argument("--plan", required=True, metavar="PLAN_JSON")
        if name == "shard-plan":
            step.add_argument("--workers", required=True, type=int)
        if name == "shard-worker":
            step.add_argument("--worker", required=True, type=int)
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.step == "report":
        measured = measure_report(args.events, args.day, args.cache, args.csv, args.lookback_days)
    elif args.step == "duckdb":
        measured = measure_duckdb(args.events, args.day, args.csv, args.lookback_days)
    else:
        request = (args.events, args.day, args.lookback_days, args.cache, args.plan)
        if args.step == "shard-plan":
            measured = measure_shard_plan(*request, args.workers)
        elif args.step == "shard-worker":
            measured = measure_shard_worker(*request, args.worker)
        else:
            measured = measure_shard_report(*request, args.csv)
    print(json.dumps(measured))


if __name__ == "__main__":
    main()
