"""The FastAPI app of the Login/Logout reports pages (mounted by `plugins/timecard_ui.py`).

Routes, below the mount point:

    /                                  saved reports (and ad hoc outputs) the user may see
    /{kind}/{slug}                     the outputs of one report, by date (kind: reports|adhoc;
                                       an ad hoc output's slug is the short id of its run)
    /{kind}/{slug}/{date}              report view: window, filters, table, download, link
    /{kind}/{slug}/{date}/timeline     agents logged in over the window; sessions on this page
    /{kind}/{slug}/{date}/csv          the complete CSV, as `Login_Logout report.csv`
    /{kind}/{slug}/{date}/save         an output as a saved report: its YAML and create command
    /generate                          the ad hoc form; POST triggers the `timecard_adhoc` DAG
    /runs/{run_id}                     follows an ad hoc run and opens its output when done
    /static/{name}                     the page's stylesheet and script

Every route needs an authenticated user (the app-wide dependency) and checks DAG access itself
(`timecard.ui.access`). The report is computed by the DAG on a worker, never here: a route
only reads published files and Airflow's metadata.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, available_timezones

import polars as pl
from airflow.api_fastapi.app import API_ROOT_PATH, get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.dagbag import DagBagDep, create_dag_bag
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.datamodels.dag_run import TriggerDAGRunPostBody
from airflow.api_fastapi.core_api.routes.public.dag_run import trigger_dag_run
from airflow.api_fastapi.core_api.security import GetUserDep, requires_authenticated
from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.models.xcom import XComModel
from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import func, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from timecard import pipeline
from timecard.definitions import check_slug, load_all, parse_definition
from timecard.errors import TimecardError, UsageError
from timecard.known_values import known_filter_values
from timecard.settings import get_settings
from timecard.timerange import PRESETS
from timecard.ui import NAV_NAME, URL_ROUTE, access, charts, outputs, table
from transforms.filters import Filters

DOWNLOAD_NAME = "Login_Logout report.csv"
RUN_REFRESH_SECONDS = 3
_HERE = Path(__file__).parent
_STATIC = {"timecard.css": "text/css", "timecard.js": "text/javascript"}
_TEMPLATES = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def describe_filters(filters: dict) -> str:
    """A manifest's filters in one line: 'routing profiles: Billing, Sales · agents: b'."""
    return Filters(**{key: tuple(values) for key, values in filters.items()}).describe()


def local_time(value: str | None) -> str:
    """A report time (ISO with the report zone's offset) as the table shows it:
    `YYYY-MM-DD HH:MM:SS` on the local clock; the zone is in the column header."""
    return value[:10] + " " + value[11:19] if value else ""


_TEMPLATES.filters |= {"describe_filters": describe_filters, "local_time": local_time}


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


def output_dates(request: Request, user: GetUserDep, kind: str, slug: str) -> HTMLResponse:
    definition = _authorized(request, user, kind, slug)
    folder = outputs.folder_of(kind, definition)
    dates = outputs.published_dates(folder).get(slug, [])
    if definition:
        title = definition.name
    elif dates:  # an ad hoc run's output: its name as typed, from the manifest
        manifest = outputs.read_manifest(
            outputs.output_files(outputs.OutputRef(kind, slug, dates[0]), None)
        )
        title = f"Ad hoc: {manifest['report']['name']}"
    else:
        raise outputs.OutputNotFound(f"There is no ad hoc output {slug!r}.")
    return _render(
        request,
        user,
        "dates.html",
        title=title,
        kind=kind,
        slug=slug,
        definition=definition,
        dates=dates,
    )


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


def download_csv(request: Request, user: GetUserDep, kind: str, slug: str, day: str) -> Response:
    ref, definition = _authorized_output(request, user, kind, slug, day)
    files = outputs.output_files(ref, definition)
    outputs.read_manifest(files)  # only a published output: its manifest is written last
    return Response(
        outputs.read_csv(files),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{DOWNLOAD_NAME}"'},
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
        manifest = outputs.read_manifest(outputs.output_files(ref, definition))
        window = manifest["window"]
        values = {
            "name": manifest["report"]["name"],
            "preset": "custom",
            "start": _naive_local(window["start_local"]),
            "end": _naive_local(window["end_local"]),
            "timezone": window["timezone"],
            **{key: "\n".join(manifest["filters"][key]) for key in _FILTER_KINDS},
        }
    return _generate_page(request, user, values)


_FILTER_KINDS = ("agents", "routing_profiles", "hierarchies")


def _values_from_report(request: Request, user: BaseUser, slug: str) -> dict:
    """A saved report as an ad hoc run: its own window length (the latest scheduled window),
    its filters and zone, and a title that says it is ad hoc."""
    from timecard_timetable import previous_window

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
) -> Response:
    access.require_dag(request, user, "POST", access.ADHOC_DAG_ID, DagAccessEntity.RUN)
    access.require_same_origin(request)
    values = {
        "name": name,
        "preset": preset,
        "start": start,
        "end": end,
        "timezone": timezone,
        "agents": agents,
        "routing_profiles": routing_profiles,
        "hierarchies": hierarchies,
    }
    params = {
        "name": name.strip() or "Ad hoc report",
        "preset": preset,
        "start": start.strip() or None,
        "end": end.strip() or None,
        "timezone": timezone,
        **{key: _lines(values[key]) for key in ("agents", "routing_profiles", "hierarchies")},
    }
    try:
        # The same check the DAG's first task makes, so a mistake is shown on the form at once.
        pipeline.adhoc_spec_and_window(params, datetime.now(UTC))
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
    return RedirectResponse(_link(request, "run", run_id=run.run_id), status.HTTP_303_SEE_OTHER)


def follow_run(request: Request, user: GetUserDep, session: SessionDep, run_id: str) -> Response:
    access.require_dag(request, user, "GET", access.ADHOC_DAG_ID, DagAccessEntity.RUN)
    run = session.scalar(
        select(DagRun).where(DagRun.dag_id == access.ADHOC_DAG_ID, DagRun.run_id == run_id)
    )
    if run is None:
        raise outputs.OutputNotFound(f"There is no ad hoc run {run_id[:80]!r}.")
    if run.state == "success":
        spec, plan = (_xcom(session, run_id, key) for key in ("spec", "plan"))
        target = _link(
            request, "view", kind=outputs.ADHOC, slug=spec["slug"], day=plan["local_date"]
        )
        return RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    return _render(
        request,
        user,
        "run.html",
        title="Ad hoc report run",
        run=run,
        failed=run.state == "failed",
        paused=_paused(session, [access.ADHOC_DAG_ID]).get(access.ADHOC_DAG_ID, False),
        dag_id=access.ADHOC_DAG_ID,
        refresh_seconds=RUN_REFRESH_SECONDS,
    )


def save_as_saved_report(
    request: Request,
    user: GetUserDep,
    kind: str,
    slug: str,
    day: str,
    new_slug: Annotated[str | None, Query(alias="slug")] = None,
) -> HTMLResponse:
    """An ad hoc output as a saved report: the validated YAML and the exact command that
    creates it. Definitions stay files in git, reviewed like any DAG configuration."""
    access.require_dag(request, user, "POST", access.ADHOC_DAG_ID, DagAccessEntity.RUN)
    ref, definition = _authorized_output(request, user, kind, slug, day)
    manifest = outputs.read_manifest(outputs.output_files(ref, definition))
    name, window = manifest["report"]["name"], manifest["window"]
    target = (new_slug or "").strip() or _suggested_slug(name)
    data = {
        "name": name,
        "timezone": window["timezone"],
        "filters": {key: values for key, values in manifest["filters"].items() if values},
        "time_range": {
            "start": _naive_local(window["start_local"]),
            "end": _naive_local(window["end_local"]),
        },
    }
    if not data["filters"]:
        del data["filters"]
    error, saved = None, None
    try:
        saved = parse_definition(check_slug(target), data, f"{target}.yaml")
    except UsageError as problem:
        error = str(problem)
    return _render(
        request,
        user,
        "save.html",
        title="Save as saved report",
        ref=ref,
        slug=target,
        yaml=saved.to_yaml() if saved else None,
        command=_create_command(saved) if saved else None,
        error=error,
        view_link=_link(request, "view", kind=kind, slug=slug, day=day),
    )


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
    return shlex.join(words)


def static_file(name: str) -> Response:
    if name not in _STATIC:
        raise outputs.OutputNotFound(f"There is no file {name[:40]!r} here.")
    return Response((_HERE / "static" / name).read_bytes(), media_type=_STATIC[name])


# -- one output on view ----------------------------------------------------------------------


@dataclass(frozen=True)
class _OutputView:
    """An output, its manifest, its table and the page of it the request asks for."""

    ref: outputs.OutputRef
    manifest: dict
    window: charts.Window
    report: pl.DataFrame
    page: table.TablePage

    @classmethod
    def open(cls, request, user, kind, slug, day, query: TableQuery) -> _OutputView:
        ref, definition = _authorized_output(request, user, kind, slug, day)
        files = outputs.output_files(ref, definition)
        manifest = outputs.read_manifest(files)
        window = charts.Window(
            datetime.fromisoformat(manifest["window"]["start_utc"]),
            datetime.fromisoformat(manifest["window"]["end_utc"]),
            manifest["window"]["timezone"],
        )
        report = table.load_report(outputs.read_csv(files), window.start, window.end)
        page = table.table_page(report, query.sort, query.order, query.page, query.rows)
        return cls(ref, manifest, window, report, page)

    def context(self, request: Request) -> dict:
        state = {
            "rows": self.page.rows_per_page,
            "sort": self.page.sort,
            "order": "desc" if self.page.descending else "asc",
        }
        path = {"kind": self.ref.kind, "slug": self.ref.slug, "day": self.ref.date}
        shown = table.shown_columns(self.report)
        return {
            "title": self.manifest["report"]["name"],
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


def _xcom(session, run_id: str, key: str):
    row = session.scalars(
        XComModel.get_many(
            run_id=run_id, dag_ids=access.ADHOC_DAG_ID, task_ids="plan_adhoc_window", key=key
        )
    ).first()
    return XComModel.deserialize_value(row)


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


def _generate_page(request, user, values, error=None, status_code=200) -> HTMLResponse:
    return _render(
        request,
        user,
        "generate.html",
        status_code=status_code,
        title="Generate a report",
        values=values,
        error=error,
        presets=PRESETS,
        zones=sorted(available_timezones() | {"UTC"}),
        known=known_filter_values(),
    )


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
    """Errors as short pages (this app serves people, not API clients), status codes kept."""

    def page(request: Request, status_code: int, message: str) -> HTMLResponse:
        login = None
        if status_code == status.HTTP_401_UNAUTHORIZED:
            login = get_auth_manager().get_url_login(next_url=str(request.url))
        # The handler does not know the user (authentication may be what failed): the page
        # shows the navigation every user has.
        return _render(
            request, None, "error.html", status_code, title="Error", message=message, login=login
        )

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, error: StarletteHTTPException):
        detail = error.detail if isinstance(error.detail, str) else "The request was refused."
        return page(request, error.status_code, detail)

    @app.exception_handler(RequestValidationError)
    def bad_parameters(request: Request, error: RequestValidationError):
        wrong = ", ".join(str(problem["loc"][-1]) for problem in error.errors())
        return page(request, 400, f"These parameters have values that cannot be used: {wrong}.")

    @app.exception_handler(outputs.OutputNotFound)
    def not_found(request: Request, error: outputs.OutputNotFound):
        return page(request, 404, str(error))

    @app.exception_handler(UsageError)
    def usage_error(request: Request, error: UsageError):
        return page(request, 400, str(error))

    @app.exception_handler(TimecardError)
    def timecard_error(request: Request, error: TimecardError):
        return page(request, 500, str(error))
