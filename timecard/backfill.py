"""`timecard backfill SLUG --from DATE --to DATE`: fill history without a running scheduler.

Each scheduled window whose local start date lies in [from, to] (the same selection as
`airflow backfill create`) runs in-process with `dag.test()`, one after another. A failed window
(for example one over the row limit) does not stop the others: every window is reported in the
final table, and the command exits non-zero if any failed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from timecard import airflow_env, storage
from timecard.errors import TimecardError, UsageError
from timecard.pipeline import ReportSpec, output_urls
from timecard.settings import REPO_ROOT, get_settings


@dataclass
class WindowOutcome:
    local_date: str
    start: datetime
    end: datetime
    status: str = "pending"
    rows: int | None = None
    detail: str = ""


def scheduled_windows(definition, first: date, last: date, now: datetime) -> list[WindowOutcome]:
    """The report's scheduled windows whose local start date is within [first, last]."""
    from timecard_timetable import window_for_run_day

    if not definition.is_scheduled:
        raise UsageError(
            f"Report {definition.slug!r} has no schedule, so it has no windows to backfill. "
            f"Give it one with `timecard reports schedule {definition.slug} --daily`."
        )
    if last < first:
        raise UsageError(f"--to ({last}) is before --from ({first}).")
    windows = []
    day = first
    while day <= last:
        run_day = day + timedelta(days=definition.window_days)
        if run_day.weekday() in definition.weekdays:
            interval = window_for_run_day(run_day, definition.timezone, definition.window_days)
            outcome = WindowOutcome(day.isoformat(), interval.start, interval.end)
            if interval.end > now:
                outcome.status, outcome.detail = "skipped", "window has not ended yet"
            windows.append(outcome)
        day += timedelta(days=1)
    if not windows:
        raise UsageError(_no_window_explained(definition, first, last))
    return windows


NEAREST_SEARCH_DAYS = 14


def _no_window_explained(definition, first: date, last: date) -> str:
    """Why [first, last] holds no window, and the window start dates just around it."""

    def starts_a_window(day: date) -> bool:
        return (day + timedelta(days=definition.window_days)).weekday() in definition.weekdays

    around = [timedelta(days=n) for n in range(1, NEAREST_SEARCH_DAYS + 1)]
    before = next((first - n for n in around if starts_a_window(first - n)), None)
    after = next((last + n for n in around if starts_a_window(last + n)), None)
    nearest = " and ".join(
        f"{day} ({side})" for day, side in ((before, "before"), (after, "after")) if day
    )
    return (
        f"No scheduled window of {definition.slug!r} starts between {first} and {last}: it runs "
        f"{definition.describe_schedule()} at 00:00 {definition.timezone}, and each run covers "
        f"the {definition.window_days} local day(s) before it, so --from and --to select windows "
        f"by their local start date. The nearest windows start on {nearest}."
    )


def run_backfill(slug: str, first: date, last: date, out=None) -> list[WindowOutcome]:
    from timecard.definitions import existing_definition_path, load_definition

    out = out or sys.stderr  # looked up per call, so a redirected stderr is honoured
    settings = get_settings()
    definition = load_definition(existing_definition_path(settings.reports_dir, slug))
    airflow_env.configure(settings.home)
    airflow_env.migrate_database()
    windows = scheduled_windows(definition, first, last, datetime.now(UTC))
    todo = [w for w in windows if w.status == "pending"]
    if todo:
        dag = _load_dag(f"timecard_{slug}")
    for number, window in enumerate(todo, start=1):
        print(
            f"[{_bar(number - 1, len(todo))}] {number}/{len(todo)} {window.local_date} ...",
            file=out,
            flush=True,
        )
        _run_window(dag, definition, window)
    print(f"[{_bar(len(todo), len(todo))}] done", file=out)
    print(format_table(windows), file=out)
    return windows


def _load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "timecard_reports.py"))
    if dag_id not in bag.dags:
        problems = "; ".join(bag.import_errors.values()) or "the DAG file defines no such DAG"
        raise TimecardError(f"Airflow could not load DAG {dag_id}: {problems}")
    return bag.dags[dag_id]


def _run_window(dag, definition, window: WindowOutcome) -> None:
    # dag.test derives the data interval from the logical date as a manual run does, so the
    # window's end (its run-day midnight) selects exactly this window.
    run = dag.test(logical_date=window.end)
    if run.state == "success":
        urls = output_urls(ReportSpec.from_definition(definition), window.local_date)
        window.rows = json.loads(storage.read_bytes(urls["manifest"]))["rows"]
        window.status, window.detail = "published", urls["csv"]
        return
    failed = sorted(ti.task_id for ti in run.get_task_instances() if ti.state == "failed")
    window.status = "failed"
    window.detail = f"failed at {', '.join(failed) or 'an unknown task'} (log above)"


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = width if total == 0 else round(width * done / total)
    return "#" * filled + "." * (width - filled)


def format_table(windows: list[WindowOutcome]) -> str:
    header = ("window (local start)", "status", "rows", "detail")
    lines = [
        (w.local_date, w.status, "" if w.rows is None else f"{w.rows:,}", w.detail) for w in windows
    ]
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(3)]
    return "\n".join(
        "  ".join(str(value).ljust(width) for value, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in [header, *lines]
    )


def exit_code(windows: list[WindowOutcome]) -> int:
    return 1 if any(w.status == "failed" for w in windows) else 0
