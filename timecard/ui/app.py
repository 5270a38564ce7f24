"""The FastAPI app of the Login/Logout reports pages (mounted by `plugins/timecard_ui.py`).

Routes, below the mount point:

    /                                  saved reports (and ad hoc outputs) the user may see
    /{kind}/{slug}                     the outputs of one report, by date (kind: reports|adhoc;
                                       an ad hoc output's slug is the short id of its run)
    /{kind}/{slug}/{date}              report view: window, filters, table, download, link
    /{kind}/{slug}/{date}/timeline     agents logged in over the window; sessions on this page
    /{kind}/{slug}/{date}/csv          the complete CSV, as `<report name> <window>.csv`
                                       (`?name=connect`: as Connect's `Login_Logout report.csv`)
    /{kind}/{slug}/{date}/save         an output as a saved report: POST writes its definition
                                       (TIMECARD_UI_SAVE_DEFINITIONS), else its YAML and command
    /generate                          the ad hoc form; POST triggers the `timecard_adhoc` DAG
    /generate/range                    a preset's start and end in a zone (JSON), for the form
    /runs/{run_id}                     follows an ad hoc run (its tasks done and to do, each
                                       with its log in Airflow) and opens its output when done
    /static/{name}                     the page's stylesheet and script

Every route needs an authenticated user (the app-wide dependency) and checks DAG access itself
(`timecard.ui.access`). The report is computed by the DAG on a worker, never here: a route
only reads published files and Airflow's metadata.
"""

from __future__ import annotations

import re
import shlex
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypedDict
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, available_timezones

import polars as pl
from airflow.api_fastapi.app import API_ROOT_PATH, get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.dagbag import DagBagDep, create_dag_bag
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.datamodels.dag_run import TriggerDAGRunPostBody
from airflow.api_fastapi.core_api.routes.public.dag_run import trigger_dag_run
from airflow.api_fastapi.core_api.security import GetUserDep, get_user, requires_authenticated
from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import func, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from timecard import adhoc, limits
from timecard.dag_tasks import ADHOC_PLAN_TASK, stored_text
from timecard.definitions import (
    WEEKDAY_NAMES,
    check_slug,
    create_definition,
    definition_path,
    load_all,
)
from timecard.errors import TimecardError, UsageError
from timecard.known_values import known_filter_values
from timecard.publishing import Manifest, Window
from timecard.reports_cli import schedule_definition
from timecard.settings import get_settings
from timecard.spec import ReportSpec, WindowPlan
from timecard.timerange import PRESETS, duration_words, preset_range
from timecard.ui import NAV_NAME, URL_ROUTE, access, charts, outputs, table
from transforms.filters import Filters, unmatched

DOWNLOAD_NAME = "Login_Logout report.csv"
# The run page asks for its progress every RUN_POLL_SECONDS (a small request: the run and its
# task instances); without a script it reloads itself every RUN_REFRESH_SECONDS.
RUN_POLL_SECONDS = 1
RUN_REFRESH_SECONDS = 3
_HERE = Path(__file__).parent
_STATIC = {
    "timecard.css": "text/css",
    "timecard.js": "text/javascript",
    "run.js": "text/javascript",
}
_TEMPLATES = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
# Bounds and defaults the forms show come from the one place that defines them.
_TEMPLATES.globals["limits"] = limits


def describe_filters(filters: Mapping[str, Iterable[str]]) -> str:
    """A manifest's filters in one line: 'routing profiles: Billing, Sales · agents: b'."""
    return Filters(**{key: tuple(values) for key, values in filters.items()}).describe()


def local_time(value: str | None) -> str:
    """A report time (ISO with the report zone's offset) as the table shows it:
    `YYYY-MM-DD HH:MM:SS` on the local clock; the zone is in the column header."""
    return value[:10] + " " + value[11:19] if value else ""


def local_minutes(value: str | None) -> str:
    """An ISO time as `YYYY-MM-DD HH:MM` on its own clock (seconds shown only when not 0)."""
    if not value:
        return ""
    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return instant.strftime("%Y-%m-%d %H:%M" + (":%S" if instant.second else ""))


def window_text(window: Window, utc: bool = False) -> str:
    """A manifest's window: '2026-11-02 00:00 to 2026-11-03 00:00 (Asia/Seoul), 1 day'."""
    if utc:
        start, end = window.start_utc, window.end_utc
        return f"{local_minutes(start)} to {local_minutes(end)} UTC"
    start, end = window.start_local, window.end_local
    length = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return (
        f"{local_minutes(start)} to {local_minutes(end)} ({window.timezone}), "
        f"{duration_words(length)}"
    )


def download_name(manifest: Manifest) -> str:
    """`<report name> <window>.csv`: 'Daily Seoul 2026-11-02.csv' for a local day,
    'Weekly 2026-10-26 to 2026-11-01.csv' for whole days, with times ('… 0930 to … 1730')
    otherwise. Characters that file systems refuse become '-'."""
    start = datetime.fromisoformat(manifest.window.start_local)
    end = datetime.fromisoformat(manifest.window.end_local)
    if start.time() == end.time() == datetime.min.time():
        last_day = (end - timedelta(days=1)).date()
        label = start.date().isoformat()
        if last_day != start.date():
            label += f" to {last_day.isoformat()}"
    else:
        label = f"{start:%Y-%m-%d %H%M} to {end:%Y-%m-%d %H%M}"
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]+', "-", manifest.report.name).strip(" .-")
    return f"{name[:120] or 'Login_Logout report'} {label}.csv"


_TEMPLATES.filters |= {
    "describe_filters": describe_filters,
    "local_time": local_time,
    "local_minutes": local_minutes,
    "window_text": window_text,
}


def create_app() -> FastAPI:
    app = FastAPI(
        title=NAV_NAME,
        # No unauthenticated documentation routes: every route of this app checks the user.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(requires_authenticated())],
    )
    app.state.dag_bag = create_dag_bag()
    _add_error_pages(app)
    app.add_api_route("/", report_list, name="report_list", response_class=HTMLResponse)
    app.add_api_route("/generate", generate_form, name="generate", response_class=HTMLResponse)
    app.add_api_route("/generate", generate, methods=["POST"], name="generate_post")
    app.add_api_route("/generate/range", preset_window, name="preset_window")
    app.add_api_route("/runs/{run_id}", follow_run, name="run", response_class=HTMLResponse)
    app.add_api_route("/static/{name}", static_file, name="static")
    app.add_api_route("/{kind}/{slug}", output_dates, name="dates", response_class=HTMLResponse)
    app.add_api_route("/{kind}/{slug}/{day}", report_view, name="view", response_class=HTMLResponse)
    app.add_api_route(
        "/{kind}/{slug}/{day}/timeline", timeline, name="timeline", response_class=HTMLResponse
    )
    app.add_api_route("/{kind}/{slug}/{day}/csv", download_csv, name="csv")
    app.add_api_route(
        "/{kind}/{slug}/{day}/save", save_as_saved_report, name="save", response_class=HTMLResponse
    )
    app.add_api_route(
        "/{kind}/{slug}/{day}/save",
        save_definition,
        methods=["POST"],
        name="save_post",
        response_class=HTMLResponse,
    )
    return app


# -- pages -----------------------------------------------------------------------------------


def report_list(request: Request, user: GetUserDep, session: SessionDep) -> HTMLResponse:
    definitions, broken = load_all(get_settings().reports_dir)
    dag_ids = {access.report_dag_id(d.slug): d for d in definitions}
    broken_dag_ids = {access.report_dag_id(Path(error.source).stem): error for error in broken}
    readable = access.permitted_dag_ids(user, "GET", [*dag_ids, access.ADHOC_DAG_ID])
    editable = access.permitted_dag_ids(user, "PUT", [*dag_ids, *broken_dag_ids])
    visible = [
        d
        for dag_id, d in dag_ids.items()
        if dag_id in readable and (d.published or dag_id in editable)
    ]
    folders = {outputs.folder_of(outputs.REPORTS, d) for d in visible}
    dates_by_folder = {folder: outputs.published_dates(folder) for folder in folders}
    last_runs = _last_runs(session, [access.report_dag_id(d.slug) for d in visible])
    paused = _paused(session, [access.report_dag_id(d.slug) for d in visible])
    rows = [
        {
            "definition": d,
            "dates": dates_by_folder[outputs.folder_of(outputs.REPORTS, d)].get(d.slug, []),
            "last_run": last_runs.get(access.report_dag_id(d.slug)),
            "state": _dag_state(d, paused),
        }
        for d in visible
    ]
    adhoc = outputs.adhoc_outputs() if access.ADHOC_DAG_ID in readable else []
    return _render(
        request,
        user,
        "list.html",
        title=NAV_NAME,
        reports=rows,
        adhoc=adhoc,
        # A broken file is named only to those who may edit its report: they can fix it.
        broken=[error for dag_id, error in broken_dag_ids.items() if dag_id in editable],
    )


def output_dates(
    request: Request, user: GetUserDep, kind: str, slug: str, page: int = 1
) -> HTMLResponse:
    definition = _authorized(request, user, kind, slug)
    folder = outputs.folder_of(kind, definition)
    dates = outputs.published_dates(folder).get(slug, [])
    if definition:
        title = definition.name
    elif dates:  # an ad hoc run's output: its name as typed, from the manifest
        ref = outputs.OutputRef(kind, slug, dates[0])
        manifest = _published_manifest(request, user, ref, outputs.output_files(ref, None))
        title = f"Ad hoc: {manifest.report.name}"
    else:
        raise outputs.OutputNotFound(f"There is no ad hoc output {slug!r}.")
    pages = max(1, -(-len(dates) // DATES_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = []
    for day in dates[(page - 1) * DATES_PER_PAGE : page * DATES_PER_PAGE]:
        ref = outputs.OutputRef(kind, slug, day)
        try:
            manifest = outputs.read_manifest(outputs.output_files(ref, definition))
        except outputs.OutputNotFound:
            continue  # retracted between the listing and this read
        if not outputs.is_output_of(ref, manifest):
            continue  # another report's file in this folder is not this report's output
        shown.append({"date": day, "window": manifest.window, "rows": manifest.rows})
    return _render(
        request,
        user,
        "dates.html",
        title=title,
        kind=kind,
        slug=slug,
        definition=definition,
        dates=shown,
        page=page,
        pages=pages,
        total=len(dates),
    )


DATES_PER_PAGE = 50


@dataclass(frozen=True)
class TableQuery:
    """The table's state in the query string: rows per page, page, sort column and order."""

    rows: int = table.DEFAULT_ROWS_PER_PAGE
    page: int = 1
    sort: str | None = None
    order: str = "asc"


TableQueryDep = Annotated[TableQuery, Depends()]


def report_view(
    request: Request, user: GetUserDep, kind: str, slug: str, day: str, query: TableQueryDep
) -> HTMLResponse:
    view = _OutputView.open(request, user, kind, slug, day, query)
    return _render(request, user, "view.html", **view.context(request))


def timeline(
    request: Request, user: GetUserDep, kind: str, slug: str, day: str, query: TableQueryDep
) -> HTMLResponse:
    view = _OutputView.open(request, user, kind, slug, day, query)
    everyone = charts.sessions(view.report, view.window)
    peak_at, peak_count = charts.peak(charts.logged_in_counts(everyone, view.window))
    return _render(
        request,
        user,
        "timeline.html",
        **view.context(request),
        logged_in_chart=charts.logged_in_chart(everyone, view.window),
        agents_chart=charts.agent_sessions_chart(
            charts.sessions(view.page.rows, view.window), view.window
        ),
        peak_count=peak_count,
        peak_at=view.window.local(peak_at),
    )


def download_csv(
    request: Request,
    user: GetUserDep,
    kind: str,
    slug: str,
    day: str,
    name: Annotated[str | None, Query()] = None,
) -> Response:
    """The complete CSV as `<report name> <window>.csv`, or with `name=connect` as Connect names
    every download (`Login_Logout report.csv`)."""
    ref, definition = _authorized_output(request, user, kind, slug, day)
    files = outputs.output_files(ref, definition)
    manifest = _published_manifest(request, user, ref, files)  # only a committed output
    filename = DOWNLOAD_NAME if name == "connect" else download_name(manifest)
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        outputs.read_csv(files, manifest),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


def generate_form(
    request: Request,
    user: GetUserDep,
    from_report: Annotated[str | None, Query(alias="from")] = None,
    output: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """The ad hoc form, empty, or pre-filled from a saved report (`from`: its window length
    and filters) or from an output on view (`output` = kind/slug/date: its window and filters)."""
    access.require_dag(request, user, "POST", access.ADHOC_DAG_ID, DagAccessEntity.RUN)
    values = {"name": "Ad hoc report", "preset": "yesterday", "timezone": "UTC"}
    if from_report:
        values = _values_from_report(request, user, from_report)
    elif output:
        kind, slug, day = (output.split("/") + ["", "", ""])[:3]
        ref, definition = _authorized_output(request, user, kind, slug, day)
        manifest = _published_manifest(request, user, ref, outputs.output_files(ref, definition))
        window = manifest.window
        values = {
            "name": manifest.report.name,
            "preset": "custom",
            "start": _naive_local(window.start_local),
            "end": _naive_local(window.end_local),
            "timezone": window.timezone,
            **{key: "\n".join(manifest.filters.get(key, ())) for key in _FILTER_KINDS},
        }
    return _generate_page(request, user, values)


_FILTER_KINDS = ("agents", "routing_profiles", "hierarchies")
_FILTER_LABELS = {
    "agents": "Agents",
    "routing_profiles": "Routing profiles",
    "hierarchies": "Hierarchies",
}


def _unknown_filter_values(params: dict) -> list[str]:
    """One line per filter value that matches no known value (the condensed attributes of the
    recent days the pickers offer), with the closest known values: the CLI's rule
    (`transforms.filters.unmatched`: exact match, closest by similarity ignoring case).
    A kind with no known values at all (nothing condensed yet) is not judged."""
    known = known_filter_values()
    wanted = Filters(**{key: tuple(params[key]) for key in _FILTER_KINDS})
    lines = []
    for kind, values in unmatched(wanted, known).items():
        if not known[kind]:
            continue
        for value, closest in values.items():
            lines.append(
                f"{_FILTER_LABELS[kind]}: {value!r} matches no value in the data; "
                f"closest known values: {', '.join(closest)}."
            )
    return lines


def _values_from_report(request: Request, user: BaseUser, slug: str) -> dict:
    """A saved report as an ad hoc run: its own window length (the latest scheduled window),
    its filters and zone, and a title that says it is ad hoc."""
    from timecard.schedule import previous_window

    definition = _authorized(request, user, outputs.REPORTS, slug)
    values = {
        "name": f"{definition.name} (ad hoc)",
        "preset": "yesterday",
        "timezone": definition.timezone,
        **{key: "\n".join(getattr(definition, key)) for key in _FILTER_KINDS},
    }
    if definition.is_scheduled:
        window = previous_window(
            datetime.now(UTC), definition.timezone, definition.weekdays, definition.window_days
        )
        tz = ZoneInfo(definition.timezone)
        values |= {
            "preset": "custom",
            "start": window.start.astimezone(tz).strftime(_LOCAL_INPUT),
            "end": window.end.astimezone(tz).strftime(_LOCAL_INPUT),
        }
    elif definition.range_preset:  # an unscheduled report's default range for ad hoc runs
        values["preset"] = definition.range_preset
    elif definition.range_start:
        values |= {"preset": "custom", "start": definition.range_start, "end": definition.range_end}
    return values


_LOCAL_INPUT = "%Y-%m-%dT%H:%M:%S"


def _naive_local(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime(_LOCAL_INPUT)


def generate(
    request: Request,
    user: GetUserDep,
    session: SessionDep,
    dag_bag: DagBagDep,
    name: Annotated[str, Form()] = "",
    preset: Annotated[str, Form()] = "yesterday",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "UTC",
    agents: Annotated[str, Form()] = "",
    routing_profiles: Annotated[str, Form()] = "",
    hierarchies: Annotated[str, Form()] = "",
    pending_agents: Annotated[str, Form()] = "",
    pending_routing_profiles: Annotated[str, Form()] = "",
    pending_hierarchies: Annotated[str, Form()] = "",
    allow_unknown: Annotated[bool, Form()] = False,
) -> Response:
    access.require_dag(request, user, "POST", access.ADHOC_DAG_ID, DagAccessEntity.RUN)
    access.require_same_origin(request)
    custom = preset == "custom"
    values = {
        "name": name,
        "preset": preset,
        "start": start,
        "end": end,
        "timezone": timezone.strip(),
        "agents": agents,
        "routing_profiles": routing_profiles,
        "hierarchies": hierarchies,
    }
    params = {
        "name": name.strip() or "Ad hoc report",
        "preset": preset,
        # A preset's own dates (shown greyed on the form) are not a custom range.
        "start": (start.strip() or None) if custom else None,
        "end": (end.strip() or None) if custom else None,
        "timezone": timezone.strip(),
        **{key: _lines(values[key]) for key in _FILTER_KINDS},
    }
    pending = {
        "agents": pending_agents,
        "routing_profiles": pending_routing_profiles,
        "hierarchies": pending_hierarchies,
    }
    try:
        # The same check the DAG's first task makes, so a mistake is shown on the form at once.
        adhoc.from_form(params, datetime.now(UTC))
        # Nothing typed is lost: a picker entry that was not added stops the run.
        if typed := [(key, text.strip()) for key, text in pending.items() if text.strip()]:
            return _generate_page(
                request,
                user,
                values | {f"pending_{key}": text for key, text in typed},
                "; ".join(
                    f"{_FILTER_LABELS[key]}: {text!r} was typed but not added. Press Enter in "
                    "its box to add it (or pick it from the list), or clear the box"
                    for key, text in typed
                )
                + ".",
                status.HTTP_400_BAD_REQUEST,
            )
        # A value the data does not hold would give an empty report: say so before the run.
        if not allow_unknown and (problems := _unknown_filter_values(params)):
            return _generate_page(
                request, user, values, None, status.HTTP_400_BAD_REQUEST, problems=problems
            )
        run = trigger_dag_run(
            dag_id=access.ADHOC_DAG_ID,
            body=TriggerDAGRunPostBody(logical_date=None, conf=params),
            dag_bag=dag_bag,
            user=user,
            session=session,
            request=request,
        )
    except UsageError as error:
        return _generate_page(request, user, values, str(error), status.HTTP_400_BAD_REQUEST)
    except HTTPException as error:  # Airflow refused the run (Param validation, DAG missing)
        return _generate_page(request, user, values, str(error.detail), error.status_code)
    # Called directly, Airflow's route function returns its ORM DagRun (FastAPI would turn it
    # into the DAGRunResponse it is annotated with).
    if not isinstance(run, DagRun):
        raise TypeError(f"trigger_dag_run gave {type(run).__name__}, not a DagRun")
    return RedirectResponse(_link(request, "run", run_id=run.run_id), status.HTTP_303_SEE_OTHER)


def follow_run(
    request: Request,
    user: GetUserDep,
    session: SessionDep,
    run_id: str,
    part: Annotated[str | None, Query()] = None,
) -> Response:
    """The run's state and its tasks (done and to do, each with a link to its log in Airflow);
    the report itself once the run has succeeded. `part=progress` answers with the progress
    block alone, which the page's script asks for every `RUN_POLL_SECONDS`."""
    access.require_dag(request, user, "GET", access.ADHOC_DAG_ID, DagAccessEntity.RUN)
    run = session.scalar(
        select(DagRun).where(DagRun.dag_id == access.ADHOC_DAG_ID, DagRun.run_id == run_id)
    )
    if run is None:
        raise outputs.OutputNotFound(f"There is no ad hoc run {run_id[:80]!r}.")
    tasks = run_tasks(session, run_id)
    report_link = None
    # The output is published once every task has succeeded: open it then, without waiting
    # for the scheduler's next loop to mark the run itself successful.
    if run.state == "success" or (tasks and all(task.state == "success" for task in tasks)):
        spec = ReportSpec.from_json(_xcom(session, run_id, "spec"))
        plan = WindowPlan.from_json(_xcom(session, run_id, "plan"))
        report_link = _link(
            request, "view", kind=outputs.ADHOC, slug=spec.slug, day=plan.local_date
        )
        if part is None:
            return RedirectResponse(report_link, status.HTTP_303_SEE_OTHER)
    context = {
        "run": run,
        "tasks": tasks,
        "failed": run.state == "failed",
        "report_link": report_link,
        "paused": _paused(session, [access.ADHOC_DAG_ID]).get(access.ADHOC_DAG_ID, False),
        "dag_id": access.ADHOC_DAG_ID,
        "run_log_link": _airflow_link(f"dags/{access.ADHOC_DAG_ID}/runs/{quote(run_id, '')}"),
    }
    if part == "progress":
        html = _TEMPLATES.get_template("_run_progress.html").render(**context)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})
    return _render(
        request,
        user,
        "run.html",
        title="Ad hoc report run",
        refresh_seconds=RUN_REFRESH_SECONDS,
        poll_seconds=RUN_POLL_SECONDS,
        progress_link=_link(request, "run", query={"part": "progress"}, run_id=run_id),
        **context,
    )


@dataclass(frozen=True)
class RunTask:
    """One task of a run as the run page lists it: done, running or still to do."""

    task_id: str
    label: str
    state: str | None
    log_link: str | None  # the task's log in the Airflow UI, once it has started

    @property
    def done(self) -> bool:
        return self.state in ("success", "skipped")


_NO_LOG_STATES = {None, "scheduled", "queued", "upstream_failed", "skipped", "removed"}
# What each task of the ad hoc DAG does, in the words of the run page.
TASK_LABELS = {
    ADHOC_PLAN_TASK: "Check the parameters, plan the window, condense the raw days",
    "build_and_publish": "Build, validate and publish the report",
}


def run_tasks(session, run_id: str) -> list[RunTask]:
    """The run's task instances in the order they run (the default weight rule gives an
    upstream task a higher priority weight than its downstream ones)."""
    instances = session.scalars(
        select(TaskInstance)
        .where(TaskInstance.dag_id == access.ADHOC_DAG_ID, TaskInstance.run_id == run_id)
        .order_by(TaskInstance.priority_weight.desc(), TaskInstance.task_id, TaskInstance.map_index)
    )
    tasks = []
    for ti in instances:
        path = f"dags/{ti.dag_id}/runs/{quote(run_id, '')}/tasks/{ti.task_id}"
        if ti.map_index >= 0:
            path += f"/mapped/{ti.map_index}"
        label = TASK_LABELS.get(ti.task_id, ti.task_id)
        if ti.map_index >= 0:
            label += f" #{ti.map_index}"
        # A task that never ran (to do, queued, or passed over after an upstream failure) has
        # no log; Airflow still dates the moment it marked it upstream_failed as its start.
        log_link = None if ti.state in _NO_LOG_STATES else _airflow_link(path)
        tasks.append(RunTask(ti.task_id, label, ti.state, log_link))
    return tasks


def _airflow_link(path: str) -> str:
    """A page of the Airflow UI itself, below the api-server's own path prefix."""
    return f"{API_ROOT_PATH.rstrip('/')}/{path}"


@dataclass(frozen=True)
class SaveChoice:
    """What the Save page asks: the file name (slug), the report's name and its schedule."""

    slug: str = ""
    name: str = ""
    schedule: str = "none"  # none | daily | weekly
    weekdays: tuple[str, ...] = ()
    window_days: int = limits.DEFAULT_WINDOW_DAYS


def save_as_saved_report(
    request: Request,
    user: GetUserDep,
    kind: str,
    slug: str,
    day: str,
    new_slug: Annotated[str | None, Query(alias="slug")] = None,
    name: Annotated[str | None, Query()] = None,
    schedule: Annotated[str, Query()] = "none",
    weekdays: Annotated[list[str] | None, Query()] = None,
    window_days: Annotated[int, Query()] = limits.DEFAULT_WINDOW_DAYS,
) -> HTMLResponse:
    """An ad hoc output as a saved report: the validated definition, the Save button for a
    user allowed to edit reports (where saving is on), and the exact commands that create it."""
    choice = SaveChoice(new_slug or "", name or "", schedule, tuple(weekdays or ()), window_days)
    return _save_page(request, user, kind, slug, day, choice, write=False)


def save_definition(
    request: Request,
    user: GetUserDep,
    kind: str,
    slug: str,
    day: str,
    new_slug: Annotated[str, Form(alias="slug")] = "",
    name: Annotated[str, Form()] = "",
    schedule: Annotated[str, Form()] = "none",
    weekdays: Annotated[list[str] | None, Form()] = None,
    window_days: Annotated[int, Form()] = limits.DEFAULT_WINDOW_DAYS,
) -> HTMLResponse:
    """Write the definition into the reports folder: `timecard.definitions.create_definition`,
    the code `timecard reports create` runs, so the file is the one the command would write."""
    access.require_same_origin(request)
    choice = SaveChoice(new_slug, name, schedule, tuple(weekdays or ()), window_days)
    return _save_page(request, user, kind, slug, day, choice, write=True)


def _save_page(request, user, kind, slug, day, choice: SaveChoice, write: bool) -> HTMLResponse:
    access.require_dag(request, user, "POST", access.ADHOC_DAG_ID, DagAccessEntity.RUN)
    ref, definition = _authorized_output(request, user, kind, slug, day)
    manifest = _published_manifest(request, user, ref, outputs.output_files(ref, definition))
    window = manifest.window
    name = choice.name.strip() or manifest.report.name
    target = choice.slug.strip() or _suggested_slug(name)
    settings = get_settings()
    # "Allowed to edit reports": edit (PUT) on the DAG the report would be, timecard_<slug>,
    # the permission that already shows a user the unpublished reports (timecard.ui.access).
    may_edit = not check_slug_problem(target) and access.may_edit_report(user, target)
    can_save = settings.ui_save_definitions and may_edit
    data = {
        "name": name,
        "timezone": window.timezone,
        "filters": {key: list(values) for key, values in manifest.filters.items() if values},
        "time_range": {
            "start": _naive_local(window.start_local),
            "end": _naive_local(window.end_local),
        },
    }
    if not data["filters"]:
        del data["filters"]
    error, saved, path, text = None, None, None, None
    try:
        if choice.schedule not in ("none", "daily", "weekly"):
            raise UsageError("The schedule is none, daily or weekly.")
        if choice.schedule == "weekly" and not choice.weekdays:
            raise UsageError("A weekly schedule needs at least one weekday: tick the days.")
        check_slug(target)
        # The file exactly as Save would write it: the same steps in a folder of its own.
        with tempfile.TemporaryDirectory() as preview:
            saved, preview_path = _write_definition(preview, target, data, choice)
            text = preview_path.read_text(encoding="utf-8")
        if write:
            if not settings.ui_save_definitions:
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    "Saving from this page is turned off here (TIMECARD_UI_SAVE_DEFINITIONS="
                    "false): definitions are kept in git. Use the command or the file the "
                    "Save page offers.",
                )
            access.require_dag(request, user, "PUT", access.report_dag_id(target))
            try:
                saved, path = _write_definition(settings.reports_dir, target, data, choice)
            except OSError as problem:
                raise UsageError(
                    f"The definition could not be written to {settings.reports_dir}: "
                    f"{problem.strerror}. The Airflow api-server needs write access to the "
                    "reports folder (TIMECARD_REPORTS_DIR); or turn saving off with "
                    "TIMECARD_UI_SAVE_DEFINITIONS=false and use the command instead."
                ) from None
    except UsageError as problem:
        error = str(problem)
    exists = not error and not path and definition_path(settings.reports_dir, target).exists()
    return _render(
        request,
        user,
        "save.html",
        status_code=status.HTTP_400_BAD_REQUEST if write and error else 200,
        title="Save as saved report",
        ref=ref,
        slug=target,
        choice=choice,
        name=name,
        weekday_names=WEEKDAY_NAMES,
        yaml=text,
        command=_create_command(saved) if saved else None,
        error=error,
        exists=exists,
        saved_path=path,
        saved_definition=saved if path else None,
        dag_id=access.report_dag_id(target),
        can_save=can_save,
        save_turned_off=not settings.ui_save_definitions,
        may_edit=may_edit,
        view_link=_link(request, "view", kind=kind, slug=slug, day=day),
        dates_link=_link(request, "dates", kind=outputs.REPORTS, slug=target) if path else None,
    )


def _write_definition(folder, slug: str, data: dict, choice: SaveChoice):
    """What `timecard reports create` then, for a schedule, `timecard reports schedule` do, by
    the same functions: the file is the one the commands the page shows would write."""
    definition, path = create_definition(folder, slug, data)
    if choice.schedule != "none":
        weekly = list(choice.weekdays) if choice.schedule == "weekly" else None
        definition = schedule_definition(folder, slug, weekly, choice.window_days)
    return definition, path


def check_slug_problem(slug: str) -> bool:
    try:
        check_slug(slug)
    except UsageError:
        return True
    return False


def _suggested_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64] or "my-report"


def _create_command(definition) -> str:
    """`timecard reports create ...` with every option the definition needs, shell-quoted."""
    words = ["timecard", "reports", "create", definition.slug, "--name", definition.name]
    words += ["--tz", definition.timezone]
    for option, values in (
        ("--agent", definition.agents),
        ("--routing-profile", definition.routing_profiles),
        ("--hierarchy", definition.hierarchies),
    ):
        for value in values:
            words += [option, value]
    words += ["--start", definition.range_start, "--end", definition.range_end]
    command = shlex.join(words)
    if definition.is_scheduled:
        schedule = ["timecard", "reports", "schedule", definition.slug]
        if definition.schedule == "weekly":
            days = ",".join(WEEKDAY_NAMES[day][:3] for day in definition.schedule_weekdays)
            schedule += ["--weekly", days]
        else:
            schedule += ["--daily"]
        if definition.window_days != 1:
            schedule += ["--window-days", str(definition.window_days)]
        command += " && " + shlex.join(schedule)
    return command


def static_file(name: str) -> Response:
    if name not in _STATIC:
        raise outputs.OutputNotFound(f"There is no file {name[:40]!r} here.")
    return Response((_HERE / "static" / name).read_bytes(), media_type=_STATIC[name])


# -- one output on view ----------------------------------------------------------------------


class _OutputPath(TypedDict):
    """An output page's path parameters (a TypedDict: `_link(..., **path)` can be checked)."""

    kind: str
    slug: str
    day: str


@dataclass(frozen=True)
class _OutputView:
    """An output, its manifest, its table and the page of it the request asks for."""

    ref: outputs.OutputRef
    manifest: Manifest
    window: charts.Window
    report: pl.DataFrame
    page: table.TablePage

    @classmethod
    def open(cls, request, user, kind, slug, day, query: TableQuery) -> _OutputView:
        ref, definition = _authorized_output(request, user, kind, slug, day)
        files = outputs.output_files(ref, definition)
        manifest = _published_manifest(request, user, ref, files)
        window = charts.Window(
            datetime.fromisoformat(manifest.window.start_utc),
            datetime.fromisoformat(manifest.window.end_utc),
            manifest.window.timezone,
        )
        report = table.load_report(outputs.read_csv(files, manifest), window.start, window.end)
        page = table.table_page(report, query.sort, query.order, query.page, query.rows)
        return cls(ref, manifest, window, report, page)

    def context(self, request: Request) -> dict:
        state = {
            "rows": self.page.rows_per_page,
            "sort": self.page.sort,
            "order": "desc" if self.page.descending else "asc",
        }
        path = _OutputPath(kind=self.ref.kind, slug=self.ref.slug, day=self.ref.date)
        shown = table.shown_columns(self.report)
        return {
            "title": self.manifest.report.name,
            "ref": self.ref,
            "manifest": self.manifest,
            "window": self.window,
            "page": self.page,
            "columns": [(table.column_key(name), name) for name in shown],
            "hidden_columns": [name for name in table.COLUMN_BY_KEY.values() if name not in shown],
            "rows_choices": table.ROWS_PER_PAGE_CHOICES,
            "state": state,
            "threshold_minutes": int(table.abandoned_after().total_seconds() // 60),
            "view_link": lambda **change: _link(request, "view", query=state | change, **path),
            "timeline_link": lambda **change: _link(
                request, "timeline", query=state | change, **path
            ),
            "csv_link": _link(request, "csv", **path),
            "connect_csv_link": _link(request, "csv", query={"name": "connect"}, **path),
            "download_name": download_name(self.manifest),
            "connect_download_name": DOWNLOAD_NAME,
            "empty_reasons": empty_reasons(self.manifest),
            "change_link": _link(
                request,
                "generate",
                query={"output": f"{self.ref.kind}/{self.ref.slug}/{self.ref.date}"},
            ),
            "save_link": _link(request, "save", **path) if self.ref.kind == outputs.ADHOC else None,
            "default_hidden": [table.column_key(name) for name in table.HIDDEN_BY_DEFAULT],
            "time_columns": table.TIME_COLUMN_NAMES,
            "dates_link": _link(request, "dates", kind=self.ref.kind, slug=self.ref.slug),
            "share_link": _share_link(request, _link(request, "view", **path)),
            "no_logout_count": self.report["_no_logout"].sum(),
            "abandoned_count": self.report["_abandoned"].sum(),
        }


def empty_reasons(manifest: Manifest) -> list[str]:
    """Why a report has no rows, in lines for people; nothing for a report with rows."""
    if manifest.rows:
        return []
    window = window_text(manifest.window)
    if not manifest.counts.get("sessions"):
        events = manifest.counts.get("events_read", 0)
        lines = [
            f"No agent session falls in the window {window}: no agent was logged in during it "
            f"({events:,} events read)."
        ]
        return lines + [f"Note: {warning}." for warning in manifest.warnings]
    unmatched_filters = manifest.unmatched_filters
    if unmatched_filters:
        return [
            f"The filter {_FILTER_LABELS[kind].lower()} {value!r} matches no session in the "
            f"window; closest values there: {', '.join(closest)}."
            for kind, values in unmatched_filters.items()
            for value, closest in values.items()
        ]
    filters = describe_filters(manifest.filters)
    if unmatched_filters is not None:
        return [
            f"There are {manifest.counts['sessions']:,} sessions in the window and each "
            f"filter value matches some of them, but none matches all the filters ({filters}) "
            "together: values of one kind are ORed, kinds are ANDed."
        ]
    return [
        f"There are {manifest.counts['sessions']:,} sessions in the window, but none "
        f"matches the filters ({filters})."
    ]


# -- access ----------------------------------------------------------------------------------


def _authorized(request: Request, user: BaseUser, kind: str, slug: str):
    """Check access to a report (or the ad hoc outputs) before anything is looked up.

    Returns the saved report's definition, or None for ad hoc outputs.
    """
    if kind not in outputs.KINDS:
        raise outputs.OutputNotFound(f"There is no page {kind[:40]!r} here.")
    if kind == outputs.ADHOC:
        access.require_dag(request, user, "GET", access.ADHOC_DAG_ID)
        check_slug(slug)
        return None
    access.require_dag(request, user, "GET", access.report_dag_id(slug))
    definition = outputs.saved_report(slug)
    if not definition.published:
        access.require_dag(request, user, "PUT", access.report_dag_id(slug))
    return definition


def _authorized_output(request, user, kind, slug, day):
    definition = _authorized(request, user, kind, slug)
    return outputs.OutputRef.parse(kind, slug, day), definition


def _published_manifest(request, user, ref: outputs.OutputRef, files: dict[str, str]) -> Manifest:
    """The manifest of the output at `ref`, authorized by the report it records
    (`access.output_dag_id`), never by the folder it sits in. A manifest that records another
    report than the address names is not found, whoever asks: the address was authorized
    before anything was read, and a refusal must not tell that something else lies there."""
    manifest = outputs.read_manifest(files)
    if not outputs.is_output_of(ref, manifest):
        raise outputs.OutputNotFound("There is no published output for this report and date.")
    access.require_dag(request, user, "GET", access.output_dag_id(manifest))
    return manifest


# -- helpers ---------------------------------------------------------------------------------


def _last_runs(session, dag_ids: list[str]) -> dict[str, DagRun]:
    latest = (
        select(DagRun.dag_id, func.max(DagRun.run_after).label("run_after"))
        .where(DagRun.dag_id.in_(dag_ids))
        .group_by(DagRun.dag_id)
        .subquery()
    )
    runs = session.scalars(
        select(DagRun).join(
            latest,
            (DagRun.dag_id == latest.c.dag_id) & (DagRun.run_after == latest.c.run_after),
        )
    )
    return {run.dag_id: run for run in runs}


def _paused(session, dag_ids: list[str]) -> dict[str, bool]:
    """DAG id → whether it is paused; a DAG the dag-processor has not stored yet is absent."""
    rows = session.execute(
        select(DagModel.dag_id, DagModel.is_paused).where(DagModel.dag_id.in_(dag_ids))
    )
    return dict(rows.tuples().all())


def _dag_state(definition, paused: dict[str, bool]) -> str:
    if not definition.is_scheduled:
        return "not scheduled"
    dag_id = access.report_dag_id(definition.slug)
    if dag_id not in paused:
        return "not loaded yet"
    return "paused" if paused[dag_id] else "active"


def _xcom(session, run_id: str, key: str) -> str:
    """One XCom of the ad hoc run's plan task, as JSON text (`dag_tasks.stored_text`; a run
    from before the typed objects kept a dict of the same shape, read the same way)."""
    row = session.scalars(
        XComModel.get_many(
            run_id=run_id, dag_ids=access.ADHOC_DAG_ID, task_ids=ADHOC_PLAN_TASK, key=key
        )
    ).first()
    return stored_text(XComModel.deserialize_value(row))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _link(request: Request, route: str, query: dict | None = None, **path_params) -> str:
    path = request.url_for(route, **path_params).path
    shown = {key: value for key, value in (query or {}).items() if value is not None}
    return f"{path}?{urlencode(shown)}" if shown else path


def _share_link(request: Request, path: str) -> str:
    """The output's address in the Airflow UI: the navigation entry's page, showing `path`."""
    origin = access.configured_origin() or access.request_origin(request)
    return f"{origin}{API_ROOT_PATH}plugin/{URL_ROUTE}{path}"


def _generate_page(request, user, values, error=None, status_code=200, problems=()) -> HTMLResponse:
    if values.get("preset", "custom") != "custom":
        # The greyed start and end show the preset's own dates (the script keeps them current).
        values = values | (_preset_dates(values["preset"], values.get("timezone") or "UTC") or {})
    return _render(
        request,
        user,
        "generate.html",
        status_code=status_code,
        title="Generate a report",
        values=values,
        error=error,
        problems=problems,
        presets=PRESETS,
        zones=sorted(available_timezones() | {"UTC"}),
        known=known_filter_values(),
        filter_labels=_FILTER_LABELS,
        range_link=_link(request, "preset_window"),
    )


def _preset_dates(preset: str, timezone: str) -> dict | None:
    """A preset's start and end now, as the date/time fields take them; None if either is
    not valid (the form names the problem when it is sent)."""
    try:
        window = preset_range(preset, timezone, datetime.now(UTC))
    except UsageError:
        return None
    return {
        "start": window.local_start.strftime(_LOCAL_INPUT),
        "end": window.local_end.strftime(_LOCAL_INPUT),
    }


def preset_window(
    request: Request, user: GetUserDep, preset: str = "yesterday", timezone: str = "UTC"
) -> JSONResponse:
    """A preset's start and end in a zone, for the form's greyed fields."""
    access.require_dag(request, user, "POST", access.ADHOC_DAG_ID, DagAccessEntity.RUN)
    dates = _preset_dates(preset, timezone)
    if dates is None:
        return JSONResponse({"error": "unknown preset or time zone"}, 400)
    return JSONResponse(dates)


def _render(request, user, template, status_code=200, **context) -> HTMLResponse:
    html = _TEMPLATES.get_template(template).render(
        nav_name=NAV_NAME,
        status=status_code,
        user_name=user.get_name() if user else None,
        can_generate=access.can_generate(user) if user else False,
        home_link=_link(request, "report_list"),
        generate_link=_link(request, "generate"),
        static_link=lambda name: _link(request, "static", name=name),
        link=lambda route, query=None, **params: _link(request, route, query, **params),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def _add_error_pages(app: FastAPI) -> None:
    """Errors as short pages (this app serves people, not API clients), status codes kept,
    inside the normal header: the signed-in user and the Generate link stay."""

    async def page(request: Request, status_code: int, message: str) -> HTMLResponse:
        login = None
        if status_code == status.HTTP_401_UNAUTHORIZED:
            login = get_auth_manager().get_url_login(next_url=str(request.url))
        return _render(
            request,
            await _user_or_none(request),
            "error.html",
            status_code,
            title="Error",
            message=message,
            login=login,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        detail = error.detail if isinstance(error.detail, str) else "The request was refused."
        return await page(request, error.status_code, detail)

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, error: RequestValidationError):
        wrong = ", ".join(str(problem["loc"][-1]) for problem in error.errors())
        return await page(
            request, 400, f"These parameters have values that cannot be used: {wrong}."
        )

    @app.exception_handler(outputs.OutputNotFound)
    async def not_found(request: Request, error: outputs.OutputNotFound):
        return await page(request, 404, str(error))

    @app.exception_handler(UsageError)
    async def usage_error(request: Request, error: UsageError):
        return await page(request, 400, str(error))

    @app.exception_handler(TimecardError)
    async def timecard_error(request: Request, error: TimecardError):
        return await page(request, 500, str(error))


async def _user_or_none(request: Request) -> BaseUser | None:
    """The request's user as Airflow's `get_user` resolves it, or None where authentication
    is what failed (the page then shows the navigation every user has)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    credentials = HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if token else None
    try:
        return await get_user(request, None, credentials)
    except (HTTPException, StarletteHTTPException):
        return None
