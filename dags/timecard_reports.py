"""One DAG per scheduled saved report in the reports folder: `timecard_<slug>`.

Declarations only: the steps live in `timecard.dag_tasks` and `timecard.pipeline`. Parsing reads
the local definition files and nothing else (no network, no metadata database, no Polars).
A definition that does not load is skipped here and reported by `timecard_definition_check.py`,
so one broken file never takes the other reports down.
"""

from datetime import datetime

from airflow.sdk import DAG

from timecard import dag_tasks
from timecard.airflow_timetable import LocalMidnightTimetable
from timecard.definitions import load_all
from timecard.settings import get_settings
from timecard.spec import ReportSpec

definitions, _broken = load_all(get_settings().reports_dir)

for definition in definitions:
    if not definition.is_scheduled:
        continue
    spec = ReportSpec.from_definition(definition)
    email = dag_tasks.report_email(definition, spec)
    with DAG(
        dag_id=f"timecard_{definition.slug}",
        description=f"{definition.name}: Login/Logout report, {definition.describe_schedule()}",
        schedule=LocalMidnightTimetable(
            definition.timezone, definition.weekdays, definition.window_days
        ),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        # Scheduling a report was the user's act: its DAG starts active, as in Connect.
        is_paused_upon_creation=False,
        max_active_runs=4,
        # A task that fails for good (after its retries) sends the failure email.
        default_args={**dag_tasks.TASK_DEFAULTS, "on_failure_callback": email},
        tags=["timecard", "login-logout-report"],
        doc_md=(
            f"### {definition.name}\n\n"
            f"Login/Logout report `{definition.slug}`: {definition.describe_schedule()} at 00:00 "
            f"{definition.timezone}, covering the previous {definition.window_days} local "
            f"day(s). Filters: {definition.describe_filters()}. Delivery prefix: "
            f"`{definition.prefix or '(none)'}`. Row limit: {definition.max_rows:,}.\n\n"
            "Each run waits for the window's events, plans it, then condenses every raw UTC "
            "day not condensed yet in **shards** sized by `TIMECARD_MEMORY_BUDGET_MB` (one "
            "mapped `condense_shard` task each, so workers share a large day; a day of several "
            "shards gets a `combine_day` task), builds, validates and publishes."
        ),
    ) as dag:
        asset = dag_tasks.report_asset(definition.slug)
        dag_tasks.scheduled_report_run(definition, spec, asset, on_published=email)
    globals()[dag.dag_id] = dag
