"""The Airflow tasks of a report run, shared by every report DAG and the ad hoc DAG.

Thin wrappers: each task calls one step of `timecard.pipeline` and returns small JSON values.
This module is imported while DAG files are parsed, so it imports nothing heavy at module level:
Polars and the engine are loaded inside the tasks, on the worker.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset, task

from timecard import pipeline
from timecard.settings import get_settings

TASK_DEFAULTS = {"retries": 2, "retry_delay": timedelta(seconds=20)}


def _spec(spec: dict) -> pipeline.ReportSpec:
    return pipeline.ReportSpec(
        **{key: tuple(v) if isinstance(v, list) else v for key, v in spec.items()}
    )


@task(
    doc_md="""**Plan the window.** Turns the run's data interval (or, for an ad hoc run, its
    parameters) into exact UTC instants, the local date that names the output partition, and the
    list of raw UTC days whose condensed data the report needs (the window, the lookback, and one
    neighbouring day on each side for late arrivals).""",
)
def plan_scheduled_window(
    spec: dict, schedule: dict, data_interval_start=None, data_interval_end=None, dag_run=None
):
    start, end = data_interval_start, data_interval_end
    if start is None or end is None:
        # A manual run without a logical date: the most recent complete window before it.
        from timecard_timetable import previous_window

        window = previous_window(
            dag_run.run_after, spec["timezone"], schedule["weekdays"], schedule["window_days"]
        )
        start, end = window.start, window.end
    return pipeline.plan(_spec(spec), start, end)


@task(
    doc_md="""**Plan the ad hoc run.** Checks the trigger form's parameters (range of at most
    7 days, a known time zone) and turns them into the report's settings and its exact window:
    a preset is relative to the run's `run_after`, in the chosen time zone. The output gets a
    short id derived from the run id, so every run keeps its own output.""",
    multiple_outputs=True,
)
def plan_adhoc_window(params=None, dag_run=None) -> dict:
    spec, window = pipeline.adhoc_spec_and_window(
        dict(params), dag_run.run_after, dag_run.run_id, dag_run.triggering_user_name
    )
    return {"spec": spec.__dict__, "plan": pipeline.plan(spec, window.start, window.end)}


@task(
    doc_md="""**List the raw days** of the plan, one per condense task (Airflow maps over a
    task's whole return value, so the list is its own small step).""",
)
def list_raw_days(window_plan: dict) -> list[dict]:
    return window_plan["days"]


@task(
    doc_md="""**Refresh the condensed per-day event cache** for one raw UTC-day partition (mapped,
    one task per day): its LOGIN/LOGOUT events, and for the days around the window its activity.
    A raw partition is read only when its fingerprint (files, sizes, ETags) differs from the
    cached one, so a daily report with a 31-day lookback condenses one new raw day, not 32.
    Safe to run twice at once: both write equivalent files atomically.""",
)
def condense_day(spec: dict, day: str, with_activity: bool) -> dict:
    return pipeline.condense(_spec(spec), day, with_activity)


@task(
    doc_md="""**Build the report** from the condensed days: sessions, Last activity, filters,
    formatting. The result is staged under the output root's `_staging/` folder, outside the
    delivery tree, until it has been validated.""",
)
def build_report(spec: dict, window_plan: dict, run_id=None) -> dict:
    return pipeline.build(_spec(spec), window_plan, run_id)


@task(
    doc_md="""**Validate the report** against its Pandera contract: exact columns, formats, the
    spreadsheet formula guard and the row limit (10,000 by default). Over the limit the task fails
    with the row counts per routing profile and hierarchy level 1, and nothing is published: an
    earlier good file for the same date stays untouched.""",
    retries=0,  # a contract failure is deterministic: retrying cannot fix it
)
def validate_report(spec: dict, staged: dict) -> dict:
    return pipeline.validate(_spec(spec), staged)


def report_asset(slug: str) -> Asset:
    """The Airflow Asset of a report's published output.

    It names the report, not a storage location, so moving the output root or changing the
    prefix keeps downstream DAGs scheduled on it. Each publish attaches the exact CSV, Parquet
    and manifest URLs to its asset event, for the warehouse DAG to load.
    """
    alias = get_settings().instance_alias
    return Asset(name=f"timecard_{slug}", uri=f"x-timecard://{alias}/reports/{slug}")


def report_email(definition, spec: dict):
    """The report's email notifier (`notify:` in its definition), or None without one."""
    if not definition.notify_email:
        return None
    # Imported here: only a report with `notify` pays for the SMTP provider at parse time.
    from timecard.notify import ReportEmail

    return ReportEmail(spec, definition.notify_email, definition.notify_on)


def publish_task(asset: Asset, on_published=None):
    """The publish task of one report, declaring the report's output as an Airflow Asset."""

    @task(
        task_id="publish_report",
        outlets=[asset],
        on_success_callback=on_published,
        doc_md="""**Publish the report**: the CSV into its date partition, then its manifest
        (window, zone, filters, row count, sha256, cache fingerprints). The manifest is written
        last, so a loader that waits for it never reads a partial CSV. Reruns overwrite the same
        keys with a byte-identical CSV. The asset event carries the CSV and manifest URLs.""",
    )
    def publish_report(
        spec: dict,
        window_plan: dict,
        staged: dict,
        validated: dict,
        dag=None,
        run_id=None,
        outlet_events=None,
    ):
        published = pipeline.publish(_spec(spec), window_plan, staged, dag.dag_id, run_id)
        outlet_events[asset].extra = {
            **published,
            "report_slug": spec["slug"],
            "local_date": window_plan["local_date"],
        }
        return published

    return publish_report


def report_run(spec, window_plan, asset: Asset, on_published=None) -> None:
    """Wire the steps after planning: condense (mapped per day) → build → validate → publish.
    `on_published`: a notifier called once the report is published."""
    condensed = condense_day.partial(spec=spec).expand_kwargs(list_raw_days(window_plan))
    staged = build_report(spec, window_plan)
    condensed >> staged
    validated = validate_report(spec, staged)
    publish_task(asset, on_published)(spec, window_plan, staged, validated)
