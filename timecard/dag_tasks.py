"""The Airflow tasks of a report run, shared by every report DAG and the ad hoc DAG.

Thin wrappers: each task turns its XCom arguments (JSON text) into the typed objects of
`timecard.spec`, calls one step of `timecard.pipeline`, and returns its result as JSON text.
This module is imported while DAG files are parsed, so it imports nothing heavy at module level:
Polars and the engine are loaded inside the tasks, on the worker.
"""

from __future__ import annotations

import functools
import json
import logging
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from airflow.sdk import (
    Asset,
    AssetAlias,
    PokeReturnValue,
    XComArg,
    get_current_context,
    task,
)

from timecard import pipeline, publishing
from timecard.settings import get_settings
from timecard.spec import DayToCombine, ReportSpec, ShardTask, StagedReport, WindowPlan

if TYPE_CHECKING:
    from timecard.definitions import ReportDefinition

log = logging.getLogger(__name__)
# Retries are for the environment (S3 failing, a full disk: StorageError); a deterministic
# refusal fails its task at once (see `refusals_fail_at_once`).
TASK_DEFAULTS = {"retries": 2, "retry_delay": timedelta(seconds=20)}
# The XCom that holds a refused task's one-paragraph reason, for `timecard backfill` and the UI.
REFUSAL_XCOM_KEY = "timecard_refusal"
# The late-data check announces each republished window through this alias, as an event of the
# report's own Asset: only the reports that changed get one.
REPUBLISHED = AssetAlias("timecard_republished")
# The task ids other parts read XComs of: the report email (the window), the UI (the ad hoc
# run's spec and plan).
PLAN_TASK = "plan_scheduled_window"
ADHOC_PLAN_TASK = "plan_and_condense"


@runtime_checkable
class _Outputs(Protocol):
    """What calling a `multiple_outputs` task gives: one XCom per key. Airflow types every task
    call as the base `XComArg`, which has no `[]`; the call's actual value has it."""

    def __getitem__(self, key: str) -> XComArg: ...


@contextmanager
def refusals_fail_at_once():
    """A refusal (`TimecardError`: bad parameters, a bad definition, no raw file, over the row
    limit, a contract breach, an unreadable raw file) fails the task without its retries: the
    same input would be refused again, and the person waiting on the run page learns it at once
    instead of after the retry delays. A StorageError (S3 failing, a full disk: the
    environment) and anything else (a killed process) keep the task's retries.

    The refusal's paragraph is logged once and kept as the task's `timecard_refusal` XCom, which
    `timecard backfill` shows in its table."""
    from airflow.sdk.exceptions import AirflowFailException

    from timecard.errors import TimecardError
    from timecard.storage import StorageError

    try:
        yield
    except StorageError:
        raise
    except TimecardError as refusal:
        reason = str(refusal)
        log.error("refused, not retried: %s", reason)
        try:
            task_instance = get_current_context()["ti"]
        except RuntimeError:  # called outside a running task: nothing to record it in
            task_instance = None
        if task_instance is not None:
            task_instance.xcom_push(key=REFUSAL_XCOM_KEY, value=reason)
        raise AirflowFailException(reason) from refusal


def stored_text(value: object) -> str:
    """The JSON text of a typed object's XCom as read from the metadata database.

    Tasks get back the very text a task returned; `XComModel.deserialize_value` (a reader of
    the database: the UI, tests) decodes a text that is itself JSON once more and gives its
    data, which is made text again here (the same text: one encoder, no reordering)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def refusals_are_final(function):
    """A task's callable run within `refusals_fail_at_once`."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        with refusals_fail_at_once():
            return function(*args, **kwargs)

    return run


def _scheduled_window(
    spec: ReportSpec, weekdays: list[int], window_days: int, start, end, dag_run
) -> tuple[datetime, datetime]:
    if start is None or end is None:
        # A manual run without a logical date: the most recent complete window before it.
        from timecard.schedule import previous_window

        window = previous_window(dag_run.run_after, spec.timezone, weekdays, window_days)
        start, end = window.start, window.end
    return start, end


def gate_settings(definition: ReportDefinition) -> tuple[float, float]:
    """The completeness gate of a saved report, (settle, max_wait) in minutes: its own, else the
    environment's."""
    settings = get_settings()
    settle, max_wait = definition.settle_minutes, definition.max_wait_minutes
    return (
        settings.settle_minutes if settle is None else settle,
        settings.max_wait_minutes if max_wait is None else max_wait,
    )


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
    @refusals_are_final
    def wait_for_events(
        spec: str,
        weekdays: list[int],
        window_days: int,
        settle_minutes: float,
        max_wait_minutes: float,
        data_interval_start=None,
        data_interval_end=None,
        dag_run=None,
    ) -> PokeReturnValue:
        from timecard import completeness

        report = ReportSpec.from_json(spec)
        _, end = _scheduled_window(
            report, weekdays, window_days, data_interval_start, data_interval_end, dag_run
        )
        window_gate = completeness.Gate.from_minutes(end, settle_minutes, max_wait_minutes)
        now = datetime.now(UTC)
        context = get_current_context()
        # Reschedule mode records each look; the first one dates the run's wait.
        first_look = context["ti"].get_first_reschedule_date(context) or now
        reason = completeness.decide(window_gate, now, first_look, None)
        newest = None
        if reason != completeness.ELAPSED:
            newest = completeness.newest_event(report.landing(), window_gate, now)
            reason = completeness.decide(window_gate, now, first_look, newest)
        log.info("%s", completeness.explain(reason, window_gate, newest))
        return PokeReturnValue(is_done=reason is not None, xcom_value=reason)

    return wait_for_events


@task(
    task_id=PLAN_TASK,
    doc_md="""**Plan the window.** Turns the run's data interval (or, for an ad hoc run, its
    parameters) into exact UTC instants, the local date that names the output partition, and the
    list of raw UTC days whose condensed data the report needs (the window, the lookback, and one
    neighbouring day on each side for late arrivals).""",
)
@refusals_are_final
def plan_scheduled_window(
    spec: str,
    weekdays: list[int],
    window_days: int,
    data_interval_start=None,
    data_interval_end=None,
    dag_run=None,
) -> str:
    report = ReportSpec.from_json(spec)
    start, end = _scheduled_window(
        report, weekdays, window_days, data_interval_start, data_interval_end, dag_run
    )
    return pipeline.plan(report, start, end).to_json()


@task(
    task_id=ADHOC_PLAN_TASK,
    doc_md="""**Plan the ad hoc run and condense its raw days**, in one task so that a Generate
    click waits for as few task starts as possible. Checks the trigger form's parameters (range
    of at most 7 days, a known time zone) and turns them into the report's settings and its
    exact window: a preset is relative to the run's `run_after`, in the chosen time zone. The
    output gets a short id derived from the run id, so every run keeps its own output. Then
    every raw UTC-day partition the report needs (window, lookback, one neighbouring day on each
    side) whose fingerprint (files, sizes, ETags) matches the cached one is only listed; the
    others are condensed (lookback days two at a time). A window with no raw file at all, or
    bad parameters, fail the task at once, without retries.""",
    multiple_outputs=True,
)
def plan_and_condense(params=None, dag_run=None) -> dict[str, str]:
    """Four XComs, each the JSON text of one object: `spec` (ReportSpec), `plan` (WindowPlan),
    `completeness` (the reason) and `condensed` (CondensedWindow)."""
    from timecard import adhoc, completeness

    with refusals_fail_at_once():
        spec, window = adhoc.from_form(
            dict(params), dag_run.run_after, dag_run.run_id, dag_run.triggering_user_name
        )
        window_plan = pipeline.plan(spec, window.start, window.end)
        condensed = pipeline.condense_window(spec, window_plan)
    settings = get_settings()
    # An ad hoc run never waits; its manifest says whether the window's deadline had passed.
    gate = completeness.Gate.from_minutes(
        window.end, settings.settle_minutes, settings.max_wait_minutes
    )
    return {
        "spec": spec.to_json(),
        "plan": window_plan.to_json(),
        "completeness": completeness.without_waiting(gate, datetime.now(UTC)),
        "condensed": condensed.to_json(),
    }


def _name_map_index(key: str, name: str) -> None:
    """Name a mapped task instance in the UI (its `map_index_template` renders `key` from the
    running task's context); outside a running task, nothing to name."""
    try:
        context = get_current_context()
    except RuntimeError:
        return
    # The ignore: Airflow's Context TypedDict lists only its own keys, and a key added to the
    # running task's context is how Airflow's docs name a mapped task instance.
    context[key] = name  # type: ignore[literal-required]


@task(
    doc_md="""**Plan the condense** of the run's raw UTC days. A day whose condensed parts are
    current for its files (names, sizes, ETags) is only listed. Every other day is cut into
    **shards**: runs of its files, or of the row groups of one large Parquet file, each of at
    most a sixteenth of the memory budget (`TIMECARD_MEMORY_BUDGET_MB`, default 1024). A day of
    a small roster is one shard; a 50,000-agent day is several, which several workers share.
    Returns one item per shard (Airflow maps over a task's whole return value).""",
)
@refusals_are_final
def plan_shards(spec: str, window_plan: str) -> list[str]:
    shards = pipeline.plan_shards(ReportSpec.from_json(spec), WindowPlan.from_json(window_plan))
    return [shard.to_json() for shard in shards]


@task(
    map_index_template="{{ shard_name }}",
    doc_md="""**Condense one shard** of a raw UTC day (mapped, one task per shard, named
    `day index/count`): its LOGIN/LOGOUT events, and for the days around the window also its
    activity and attributes, written beside the day's cached parts as run files. A day of one
    shard is finished here: its run becomes the day's parts. Safe to run twice at once: both
    write equivalent files atomically. An unreadable raw file fails the task at once, naming
    the file.""",
)
@refusals_are_final
def condense_shard(spec: str, shard: str) -> str | None:
    task = ShardTask.from_json(shard)
    _name_map_index("shard_name", task.name)
    day = pipeline.condense_shard(ReportSpec.from_json(spec), task)
    return None if day is None else day.to_json()


@task(
    map_index_template="{{ day_name }}",
    doc_md="""**Combine the shards of a raw day** into its cached parts (mapped, one task per day
    condensed in several shards; skipped when there is none): the same parts, byte for byte, as
    one task condensing the whole day would write, duplicate EventIds across shards included.
    The shards' run files are removed once the parts are written.""",
)
@refusals_are_final
def combine_day(spec: str, day: str) -> str:
    to_combine = DayToCombine.from_json(day)
    _name_map_index("day_name", to_combine.day.isoformat())
    return pipeline.combine_day(ReportSpec.from_json(spec), to_combine).to_json()


@task(
    doc_md="""**Build the report** from the condensed days: sessions, Last activity, filters,
    formatting. The result is staged under the output root's `_staging/` folder, outside the
    delivery tree, until it has been validated. It runs when no condense or combine task
    failed: a step mapped over nothing (every day already condensed, no day of several shards)
    is skipped by Airflow, and a skip is no reason not to build.""",
    trigger_rule="none_failed",
)
@refusals_are_final
def build_report(spec: str, window_plan: str, run_id=None) -> str:
    report, plan = ReportSpec.from_json(spec), WindowPlan.from_json(window_plan)
    return pipeline.build(report, plan, run_id).to_json()


@task(
    doc_md="""**Validate the report** against its Pandera contract: exact columns, formats, the
    spreadsheet formula guard and the row limit (10,000 by default). Over the limit the task fails
    with the row counts per routing profile and hierarchy level 1, and nothing is published: an
    earlier good file for the same date stays untouched.""",
    retries=0,  # a contract failure is deterministic: retrying cannot fix it
)
@refusals_are_final
def validate_report(spec: str, staged: str) -> str:
    report, staged_report = ReportSpec.from_json(spec), StagedReport.from_json(staged)
    return pipeline.validate(report, staged_report).to_json()


def report_asset(slug: str) -> Asset:
    """The Airflow Asset of a report's published output.

    It names the report and nothing else: no setting (instance alias, roots, prefix) is part of
    its name or URI (`publishing.asset_name`, `publishing.asset_uri`). Airflow keeps one active
    Asset per name and per URI; an Asset whose URI held a setting got a new URI when the setting
    changed, which Airflow could not activate beside the old one until a scheduler pass orphaned
    that one, so `publish_report` failed with AirflowInactiveAssetInInletOrOutletException
    (always, under `timecard backfill`). Moving the output or changing the prefix also keeps
    downstream DAGs scheduled on it. Each publish attaches the exact CSV, Parquet and manifest
    URLs to its asset event, for the warehouse DAG to load.
    """
    return Asset(name=publishing.asset_name(slug), uri=publishing.asset_uri(slug))


def report_email(definition: ReportDefinition, spec: ReportSpec):
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
        doc_md="""**Publish the report**: the CSV and Parquet file as a new revision of their
        date partition, committed by one conditional write of its manifest (window, zone,
        filters, row count, sha256, cache fingerprints, completeness, revision), then copied to
        the public names. A failed or killed publish leaves the previous revision published;
        a rerun with a byte-identical CSV keeps the revision (`timecard.publishing`). The asset
        event carries the CSV, Parquet and manifest URLs.""",
    )
    @refusals_are_final
    def publish_report(
        spec: str,
        window_plan: str,
        staged: str,
        validated: str,
        completeness: str,
        dag=None,
        run_id=None,
        outlet_events=None,
    ) -> str:
        published = pipeline.publish(
            ReportSpec.from_json(spec),
            WindowPlan.from_json(window_plan),
            StagedReport.from_json(staged),
            dag.dag_id,
            run_id,
            completeness,
        )
        outlet_events[asset].extra = published.as_extra()
        return published.to_json()

    return publish_report


def report_run(spec: str, window_plan, asset: Asset, completeness, on_published=None) -> None:
    """Wire the steps after planning: plan the shards → condense (mapped per shard) → combine
    (mapped per day of several shards) → build → validate → publish.
    `spec`: the ReportSpec's JSON; `window_plan`: the plan task's XCom (a WindowPlan's JSON);
    `completeness`: why the run stopped waiting (an XCom of the gate, or the ad hoc plan's);
    `on_published`: a notifier called once the report is published."""
    shards = condense_shard.partial(spec=spec).expand(shard=plan_shards(spec, window_plan))
    # Mapped over the shard tasks' results that are not None: one per day of several shards.
    combined = combine_day.partial(spec=spec).expand(day=shards)
    staged = build_report(spec, window_plan)
    [shards, combined] >> staged
    validated = validate_report(spec, staged)
    publish_task(asset, on_published)(spec, window_plan, staged, validated, completeness)


def build_and_publish_task(asset: Asset):
    """The last task of an ad hoc run: build, validate and publish in one process."""

    @task(
        task_id="build_and_publish",
        outlets=[asset],
        doc_md="""**Build, validate and publish the report**, in one task so that an ad hoc
        run waits for as few task starts as possible: the report is assembled from the condensed
        days and staged under `_staging/`, checked against its Pandera contract and row limit,
        then published (CSV, typed Parquet, then the manifest, written last). A refusal (over
        the row limit, a contract breach) fails the task at once, without retries, and
        publishes nothing.""",
    )
    def build_and_publish(
        spec: str, window_plan: str, completeness: str, run_id=None, outlet_events=None, dag=None
    ) -> str:
        report, plan = ReportSpec.from_json(spec), WindowPlan.from_json(window_plan)
        with refusals_fail_at_once():
            staged = pipeline.build(report, plan, run_id)
            try:
                pipeline.validate(report, staged)
            except Exception:
                pipeline.discard_staged(staged)
                raise
        published = pipeline.publish(report, plan, staged, dag.dag_id, run_id, completeness)
        outlet_events[asset].extra = published.as_extra()
        return published.to_json()

    return build_and_publish


def adhoc_report_run(asset: Asset) -> None:
    """The ad hoc run, in as few tasks as a warm run needs: plan and condense (a listing when
    the cache is warm), then build, validate and publish. Each task start costs seconds of
    scheduling and imports, so the 30-odd mapped condense tasks of a scheduled run would be
    most of the wait on the Generate page; two tasks still show a cold run's progress."""
    prepared = plan_and_condense()
    if not isinstance(prepared, _Outputs):  # multiple_outputs=True: always one XCom per key
        raise TypeError(f"plan_and_condense gave {type(prepared).__name__}, not one XCom per key")
    build_and_publish_task(asset)(prepared["spec"], prepared["plan"], prepared["completeness"])


def scheduled_report_run(
    definition: ReportDefinition, spec: ReportSpec, asset: Asset, on_published=None
) -> None:
    """A scheduled report's tasks: the completeness gate first, then plan and the report run.
    Every task gets the spec as its JSON text, and the schedule as plain numbers."""
    text = spec.to_json()
    weekdays, window_days = list(definition.weekdays or ()), definition.window_days
    settle_minutes, max_wait_minutes = gate_settings(definition)
    reason = completeness_gate(get_settings().gate_poke_seconds)(
        text, weekdays, window_days, settle_minutes, max_wait_minutes
    )
    window_plan = plan_scheduled_window(text, weekdays, window_days)
    reason >> window_plan
    report_run(text, window_plan, asset, reason, on_published)


@task(
    outlets=[REPUBLISHED],
    doc_md="""**Check windows for late data.** For every scheduled report, each window of its
    schedule within the horizon (`TIMECARD_LATE_DATA_HORIZON_DAYS`, default 7) whose deadline
    has passed is checked, published or not. A window with no manifest (its publish failed or
    was lost) is built and published now; one that fails is logged as an error here and tried
    again next hour. A published window has its raw
    days listed again (listings only) and compared with the fingerprints in its manifest. Only
    a window whose raw days changed is rebuilt: a byte-identical CSV just gets `checked_at` in
    its manifest; a changed CSV is republished atomically with `revision` + 1 and
    `previous_sha256`, and the report's Asset gets a new event. Each republish is logged with
    the raw days that changed; the return value lists every window checked.""",
)
def check_late_data(dag=None, run_id=None, outlet_events=None) -> list[str]:
    from collections import Counter

    from timecard import healing

    horizon = get_settings().late_data_horizon_days
    checks = healing.check_scheduled_reports(horizon, dag.dag_id, run_id)
    for check in checks:
        if check.asset_extra:
            outlet_events[REPUBLISHED].add(report_asset(check.slug), extra=check.asset_extra)
    counts = Counter(check.status for check in checks)
    log.info(
        "checked %d window(s): %s",
        len(checks),
        ", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "none",
    )
    for check in checks:
        if check.status == healing.FAILED:
            log.error("not healed, tried again next hour: %s %s", check.slug, check.local_date)
    return [check.to_json() for check in checks]
