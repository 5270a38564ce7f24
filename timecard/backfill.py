"""`timecard backfill SLUG --from DATE --to DATE`: fill history without a running scheduler.

Each scheduled window whose local start date lies in [from, to] (the same selection as
`airflow backfill create`) runs in-process with `dag.test()`, one after another, and is recorded
as that window's scheduled run (`airflow_env.run_as_scheduled`). A failed window
(for example one over the row limit) does not stop the others: every window is reported in the
final table, and the command exits non-zero if any failed.

Airflow's own output of a window (task logs, and the traceback of a task that failed) goes to a
log file per window, `{TIMECARD_HOME}/logs/backfill/<slug>/<date>.log`, not to the terminal. A
window refused for a deterministic reason (no raw files, the row limit, ...) failed its task
without retries, and its one-paragraph reason is shown in the final table.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from timecard import airflow_env, storage
from timecard.errors import TimecardError, UsageError
from timecard.publishing import output_urls, read_manifest, staging_folder
from timecard.settings import get_settings
from timecard.spec import ReportSpec


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
    from timecard.schedule import window_for_run_day

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
        _retire_stale_asset(slug)
    for number, window in enumerate(todo, start=1):
        print(
            f"[{progress_bar(number - 1, len(todo))}] {number}/{len(todo)} {window.local_date} ...",
            file=out,
            flush=True,
        )
        log_path = os.path.join(settings.home, "logs", "backfill", slug, f"{window.local_date}.log")
        _run_window(dag, definition, window, log_path)
    print(f"[{progress_bar(len(todo), len(todo))}] done", file=out)
    print(format_table(windows), file=out)
    return windows


def _load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(airflow_env.reports_dag_file()))
    if dag_id not in bag.dags:
        problems = "; ".join(bag.import_errors.values()) or "the DAG file defines no such DAG"
        raise TimecardError(f"Airflow could not load DAG {dag_id}: {problems}")
    return bag.dags[dag_id]


def _retire_stale_asset(slug: str) -> None:
    """Make way for the report's Asset as it is now named, before anything is built.

    Airflow keeps one active Asset per name. An Asset named `timecard_<slug>` with another URI
    (one that held the instance alias, before it stopped doing so) stays active until a
    scheduler pass finds nothing refers to it any more; `timecard backfill` runs no scheduler,
    so its publish_report would fail with AirflowInactiveAssetInInletOrOutletException, every
    time. `dag.test` reparses the whole DAG folder, so nothing refers to the old URI afterwards:
    its active entry is retired here, as the scheduler would, and `dag.test` activates the
    current one."""
    from airflow.models.asset import AssetActive
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    from timecard.dag_tasks import report_asset

    asset = report_asset(slug)
    with create_session() as session:
        session.execute(
            delete(AssetActive).where(AssetActive.name == asset.name, AssetActive.uri != asset.uri)
        )


def _run_window(dag, definition, window: WindowOutcome, log_path: str) -> None:
    from timecard.airflow_timetable import data_interval
    from timecard.timerange import TimeRange

    # Recorded as the window's scheduled run, as `make run` does: the scheduler does not run the
    # window again, and no run of another window is deleted or altered.
    interval = data_interval(TimeRange(window.start, window.end, definition.timezone))
    with _output_to(log_path):
        run = airflow_env.run_as_scheduled(dag, interval)
    if run.state == "success":
        urls = output_urls(ReportSpec.from_definition(definition), window.local_date)
        manifest = read_manifest(urls["manifest"])
        window.rows = manifest.rows if manifest else None
        window.status, window.detail = "published", urls["csv"]
        return
    failed = sorted(ti.task_id for ti in run.get_task_instances() if ti.state == "failed")
    # The run is over, retries included: what it staged for this window will never be
    # published, so it must not stay behind under `_staging/`.
    storage.delete(staging_folder(definition.slug, window.local_date, run.run_id))
    window.status = "failed"
    where = f"failed at {', '.join(failed) or 'an unknown task'}"
    reasons = _refusals(run, failed)
    if reasons:
        window.detail = f"{where}: {' '.join(reasons)}"
    else:
        window.detail = f"{where} (Airflow's log: {log_path})"


@contextlib.contextmanager
def _output_to(log_path: str):
    """Send everything written to stdout and stderr, by Python or below it, to `log_path`."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "w", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
        finally:
            log.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _refusals(run, task_ids: list[str]) -> list[str]:
    """The one-paragraph reasons the run's failed tasks gave (their `timecard_refusal` XCom)."""
    if not task_ids:
        return []
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from timecard.dag_tasks import REFUSAL_XCOM_KEY

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(
                run_id=run.run_id, key=REFUSAL_XCOM_KEY, dag_ids=run.dag_id, task_ids=task_ids
            )
        ).all()
        # One paragraph per line of the table, whatever the reason's own line breaks.
        return sorted({" ".join(str(XComModel.deserialize_value(row)).split()) for row in rows})


def progress_bar(done: int, total: int, width: int = 20) -> str:
    """`done` of `total` as a bar of `width` characters (`timecard backfill`, `republish`)."""
    filled = width if total == 0 else round(width * done / total)
    return "#" * filled + "." * (width - filled)


class TableRow(Protocol):
    """A row of the table `timecard backfill` and `timecard republish` print: a WindowOutcome,
    or healing's WindowCheck."""

    @property
    def local_date(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def rows(self) -> int | None: ...
    @property
    def detail(self) -> str: ...


def format_table(windows: Sequence[TableRow]) -> str:
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
