"""`make run`: the main job end to end, on embedded defaults and with no services running.

1. generate sample events (once) under the local events root;
2. install the two example saved reports if they are missing;
3. run each report's DAG with `dag.test()` for its most recent window;
4. print the published paths and the first rows.

Everything lands under TIMECARD_HOME (default `./var`): Airflow's SQLite database, the events,
the condensed cache and the published reports.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from timecard import airflow_env, storage
from timecard.pipeline import ReportSpec, output_urls
from timecard.settings import REPO_ROOT, get_settings

EXAMPLE_REPORTS = ("daily-utc", "weekly-seoul")
SAMPLE_AGENTS = 200
SAMPLE_DAYS = 14


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_sample_events(events_root: str, today) -> None:
    if storage.list_files(storage.join(events_root, f"date={today - timedelta(days=1)}")):
        say(f"sample events already in {events_root}")
        return
    from timecard.generate import generate_events

    start = today - timedelta(days=SAMPLE_DAYS - 1)
    summary = generate_events(events_root, agents=SAMPLE_AGENTS, start=start, days=SAMPLE_DAYS)
    say(f"generated {summary.events:,} sample events ({SAMPLE_AGENTS} agents, {start} to {today})")


def ensure_example_reports(reports_dir: str) -> None:
    target = Path(reports_dir)
    target.mkdir(parents=True, exist_ok=True)
    for slug in EXAMPLE_REPORTS:
        source, destination = REPO_ROOT / "reports" / f"{slug}.yaml", target / f"{slug}.yaml"
        if not destination.exists():
            shutil.copyfile(source, destination)
    say(f"saved reports in {reports_dir}: {', '.join(EXAMPLE_REPORTS)}")


def run_report_dags(now: datetime) -> list[dict]:
    from airflow.dag_processing.dagbag import DagBag
    from timecard_timetable import previous_window

    from timecard.definitions import load_definition

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "timecard_reports.py"))
    published = []
    for slug in EXAMPLE_REPORTS:
        definition = load_definition(Path(get_settings().reports_dir) / f"{slug}.yaml")
        window = previous_window(
            now, definition.timezone, definition.weekdays, definition.window_days
        )
        dag = bag.dags[f"timecard_{slug}"]
        say(f"running {dag.dag_id} for [{window.start}, {window.end}) with dag.test()")
        # dag.test derives the data interval from the logical date as a manual run would:
        # passing the window's end (its run-day midnight) selects exactly this window.
        run = dag.test(logical_date=window.end)
        if run.state != "success":
            raise SystemExit(f"{dag.dag_id} finished in state {run.state}")
        local_date = window.start.astimezone(ZoneInfo(definition.timezone)).date().isoformat()
        published.append(output_urls(ReportSpec.from_definition(definition), local_date))
    return published


def main() -> int:
    # The sample events are complete the moment they are generated: the demo must not wait for
    # late Firehose files (the completeness gate) when it runs just after a window ends.
    os.environ["TIMECARD_SETTLE_MINUTES"] = os.environ["TIMECARD_MAX_WAIT_MINUTES"] = "0"
    settings = get_settings()
    airflow_env.configure(settings.home)
    say(f"timecard home: {settings.home}")
    airflow_env.migrate_database()
    now = datetime.now(UTC)
    ensure_sample_events(settings.events_root, now.date())
    ensure_example_reports(settings.reports_dir)
    for urls in run_report_dags(now):
        say(f"published {urls['csv']}")
        say(f"manifest  {urls['manifest']}")
        lines = storage.read_bytes(urls["csv"]).decode().splitlines()
        print("\n".join(lines[:6]))
        print(f"... {len(lines) - 1} rows in all\n")
    say("to see them in the Airflow UI, with Generate for ad hoc reports: make ui")
    return 0


if __name__ == "__main__":
    sys.exit(main())
