"""The Airflow tasks of a report run, shared by every report DAG and the ad hoc DAG.

Thin wrappers: each task calls one step of `timecard.pipeline` and returns small JSON values.
This module is imported while DAG files are parsed, so it imports nothing heavy at module level:
Polars and the engine are loaded inside the tasks, on the worker.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset, AssetAlias, PokeReturnValue, get_current_context, task

from timecard import pipeline
from timecard.settings import get_settings

log = logging.getLogger(__name__)
TASK_DEFAULTS = {"retries": 2, "retry_delay": timedelta(seconds=20)}
# The late-data check announces each republished window through this alias, as an event of the
# report's own Asset: only the reports that changed get one.
REPUBLISHED = AssetAlias("timecard_republished")


def _spec(spec: dict) -> pipeline.ReportSpec:
    return pipeline.ReportSpec(
        **{key: tuple(v) if isinstance(v, list) else v for key, v in spec.items()}
    )


def _scheduled_window(spec: dict, schedule: dict, start, end, dag_run):
    if start is None or end is None:
        # A manual run without a logical date: the most recent complete window before it.
        from timecard_timetable import previous_window

        window = previous_window(
            dag_run.run_after, spec["timezone"], schedule["weekdays"], schedule["window_days"]
        )
        start, end = window.start, window.end
    return start, end


def gate_settings(definition) -> dict:
    """The completeness gate of a saved report: its own settle and max_wait, else the
    environment's."""
    settings = get_settings()
    settle, max_wait = definition.settle_minutes, definition.max_wait_minutes
    return {
        "settle_minutes": settings.settle_minutes if settle is None else settle,
        "max_wait_minutes": settings.max_wait_minutes if max_wait is None else max_wait,
    }


def completeness_gate(poke_seconds: float):
    """The first task of a scheduled run: wait, without holding a worker slot, until the
    window's events have landed (timecard.completeness)."""

    @task.sensor(
        task_id="wait_for_events",
        mode="reschedule",  # between looks the task gives its worker slot back
        poke_interval=poke_seconds,
        retries=2,
        doc_md="""**Wait for the window's events.** Kinesis Firehose delivers events up to 15
        minutes late (more when a stream is backed up), so the run first waits until a raw event
        stamped `settle` (default 15 minutes) after the window end has landed: the
        **watermark**. A quiet night has no such event: at `window_end + max_wait` (default 60
        minutes) the run goes on anyway, at the **deadline**. A window whose deadline had
        passed before the gate first looked (backfills, catch-up) passes at once
        (**elapsed**). It reads only the raw partitions after the window end, newest file
        first, and only their EventTimestamp. Between looks the task is `up_for_reschedule`
        and holds no worker slot. The reason goes into the manifest as `completeness`.""",
    )
    def wait_for_events(
        spec: dict,
        schedule: dict,
        gate: dict,
        data_interval_start=None,
        data_interval_end=None,
        dag_run=None,
    ) -> PokeReturnValue:
        from timecard import completeness
        from timecard.engine import landing_for

        _, end = _scheduled_window(spec, schedule, data_interval_start, data_interval_end, dag_run)
        window_gate = completeness.Gate.from_minutes(
            end, gate["settle_minutes"], gate["max_wait_minutes"]
        )
        now = datetime.now(UTC)
        context = get_current_context()
        # Reschedule mode records each look; the first one dates the run's wait.
        first_look = context["ti"].get_first_reschedule_date(context) or now
        reason = completeness.decide(window_gate, now, first_look, None)
        newest = None
        if reason != completeness.ELAPSED:
            settings = get_settings()
            landing = landing_for(settings.events_root, **pipeline._landing_settings(_spec(spec)))
            newest = completeness.newest_event(landing, window_gate, now)
            reason = completeness.decide(window_gate, now, first_look, newest)
        log.info("%s", completeness.explain(reason, window_gate, newest))
        return PokeReturnValue(is_done=reason is not None, xcom_value=reason)

    return wait_for_events


@task(
    doc_md="""**Plan the window.** Turns the run's data interval (or, for an ad hoc run, its
    parameters) into exact UTC instants, the local date that names the output partition, and the
    list of raw UTC days whose condensed data the report needs (the window, the lookback, and one
    neighbouring day on each side for late arrivals).""",
)
def plan_scheduled_window(
    spec: dict, schedule: dict, data_interval_start=None, data_interval_end=None, dag_run=None
):
    start, end = _scheduled_window(spec, schedule, data_interval_start, data_interval_end, dag_run)
    return pipeline.plan(_spec(spec), start, end)


@task(
    doc_md="""**Plan the ad hoc run.** Checks the trigger form's parameters (range of at most
    7 days, a known time zone) and turns them into the report's settings and its exact window:
    a preset is relative to the run's `run_after`, in the chosen time zone. The output gets a
    short id derived from the run id, so every run keeps its own output.""",
    multiple_outputs=True,
)
def plan_adhoc_window(params=None, dag_run=None) -> dict:
    from timecard import completeness

    spec, window = pipeline.adhoc_spec_and_window(
        dict(params), dag_run.run_after, dag_run.run_id, dag_run.triggering_user_name
    )
    settings = get_settings()
    # An ad hoc run never waits; its manifest says whether the window's deadline had passed.
    gate = completeness.Gate.from_minutes(
        window.end, settings.settle_minutes, settings.max_wait_minutes
    )
    return {
        "spec": spec.__dict__,
        "plan": pipeline.plan(spec, window.start, window.end),
        "completeness": completeness.without_waiting(gate, datetime.now(UTC)),
    }


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
        (window, zone, filters, row count, sha256, cache fingerprints, completeness, revision).
        The manifest is written last, so a loader that waits for it never reads a partial CSV.
        Reruns overwrite the same keys with a byte-identical CSV. The asset event carries the
        CSV and manifest URLs.""",
    )
    def publish_report(
        spec: dict,
        window_plan: dict,
        staged: dict,
        validated: dict,
        completeness: str,
        dag=None,
        run_id=None,
        outlet_events=None,
    ):
        published = pipeline.publish(
            _spec(spec), window_plan, staged, dag.dag_id, run_id, completeness
        )
        outlet_events[asset].extra = pipeline.asset_event_extra(
            published, spec["slug"], window_plan["local_date"]
        )
        return published

    return publish_report


def report_run(spec, window_plan, asset: Asset, completeness, on_published=None) -> None:
    """Wire the steps after planning: condense (mapped per day) → build → validate → publish.
    `completeness`: why the run stopped waiting (an XCom of the gate, or the ad hoc plan's);
    `on_published`: a notifier called once the report is published."""
    condensed = condense_day.partial(spec=spec).expand_kwargs(list_raw_days(window_plan))
    staged = build_report(spec, window_plan)
    condensed >> staged
    validated = validate_report(spec, staged)
    publish_task(asset, on_published)(spec, window_plan, staged, validated, completeness)


def scheduled_report_run(
    definition, spec: dict, schedule: dict, asset: Asset, on_published=None
) -> None:
    """A scheduled report's tasks: the completeness gate first, then plan and the report run."""
    gate = gate_settings(definition)
    reason = completeness_gate(get_settings().gate_poke_seconds)(spec, schedule, gate)
    window_plan = plan_scheduled_window(spec, schedule)
    reason >> window_plan
    report_run(spec, window_plan, asset, reason, on_published)


@task(
    outlets=[REPUBLISHED],
    doc_md="""**Check published windows for late data.** For every scheduled report, each window
    published within the horizon (`TIMECARD_LATE_DATA_HORIZON_DAYS`, default 7) has its raw
    days listed again (listings only) and compared with the fingerprints in its manifest. Only
    a window whose raw days changed is rebuilt: a byte-identical CSV just gets `checked_at` in
    its manifest; a changed CSV is republished atomically with `revision` + 1 and
    `previous_sha256`, and the report's Asset gets a new event. Each republish is logged with
    the raw days that changed; the return value lists every window checked.""",
)
def check_late_data(dag=None, run_id=None, outlet_events=None) -> list[dict]:
    from dataclasses import asdict

    from timecard import healing

    horizon = get_settings().late_data_horizon_days
    checks = healing.check_scheduled_reports(horizon, dag.dag_id, run_id)
    for check in checks:
        if check.asset_extra:
            outlet_events[REPUBLISHED].add(report_asset(check.slug), extra=check.asset_extra)
    changed = [check for check in checks if check.status != healing.UNCHANGED]
    log.info("checked %d published window(s); %d had late data", len(checks), len(changed))
    return [asdict(check) for check in checks]
