"""The Login/Logout reports routes on Airflow's real API app, with real JWTs from the simple
auth manager, over the outputs of real DAG runs (tests/timecard/ui/conftest.py).

Users: `admin` (Admin role), `editor` (User role: may edit DAGs and trigger runs) and `viewer`
(Viewer role: read only), both in team `ops`. Multi-team mode puts the `payroll` report's DAG in
team `finance`, so there is a report that `viewer` and `editor` cannot read at all.
"""

from __future__ import annotations

import html
import re
import secrets
import shlex
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.builders import ADHOC_CONF, DAGS, DAILY_ROWS, PASSWORDS, REPORT_DATE, RUN_DAY_MIDNIGHT
from tests.timecard.ui.pages import Page
from timecard import storage
from timecard.errors import UsageError
from timecard.pipeline import ReportSpec, output_urls, report_folder
from timecard.ui.outputs import OutputRef

USERS = "admin:admin,viewer:viewer:ops,editor:user:ops"
DAILY = f"/reports/daily-seoul/{REPORT_DATE}"
PAYROLL = f"/reports/payroll/{REPORT_DATE}"
# The ad hoc output's address holds the short id of its run: fill in with `report_home.adhoc_id`.
ADHOC = f"/adhoc/{{adhoc_id}}/{REPORT_DATE}"
SEVEN_DAYS_PLUS = {"preset": "custom", "start": "2026-11-01T00:00", "end": "2026-11-08T00:01"}


@dataclass
class Api:
    client: object
    tokens: dict[str, str]

    def headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def get(self, path: str, user: str | None = "admin"):
        return self.client.get(
            f"/timecard{path}", headers=self.headers(user), follow_redirects=False
        )

    def page(self, path: str, user: str | None = "admin") -> Page:
        response = self.get(path, user)
        assert response.status_code == 200, response.text
        return Page(response.text)

    def generate(self, form: dict, user: str = "editor", **headers):
        return self.client.post(
            "/timecard/generate",
            data=form,
            headers=self.headers(user) | headers,
            follow_redirects=False,
        )


@contextmanager
def teams(dag_owner: str, other: str, dag_id: str):
    """Teams `dag_owner` and `other`, and `dag_id` in its own bundle owned by `dag_owner`, as a
    multi-team deployment would have them."""
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.team import Team
    from airflow.utils.session import create_session
    from sqlalchemy import delete, select, update

    bundle = f"{dag_owner}-reports"
    with create_session() as session:
        original = session.scalar(select(DagModel.bundle_name).where(DagModel.dag_id == dag_id))
        owner = DagBundleModel(name=bundle)
        owner.teams.append(Team(name=dag_owner))
        session.add_all([owner, Team(name=other)])
        session.flush()
        session.execute(
            update(DagModel).where(DagModel.dag_id == dag_id).values(bundle_name=bundle)
        )
    try:
        yield
    finally:
        with create_session() as session:
            session.execute(
                update(DagModel).where(DagModel.dag_id == dag_id).values(bundle_name=original)
            )
            session.execute(delete(DagBundleModel).where(DagBundleModel.name == bundle))
            session.execute(delete(Team).where(Team.name.in_([dag_owner, other])))


@pytest.fixture(scope="module")
def api(report_home, passwords_file):
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "AIRFLOW__CORE__AUTH_MANAGER",
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        )
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", USERS)
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords_file))
        patch.setenv("AIRFLOW__CORE__MULTI_TEAM", "True")
        patch.setenv("AIRFLOW__API__HOST", "127.0.0.1")
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_hex(64))
        with teams("finance", "ops", dag_id="timecard_payroll"):
            client = TestClient(create_app("core"))
            tokens = {}
            for user, password in PASSWORDS.items():
                response = client.post("/auth/token", json={"username": user, "password": password})
                assert response.status_code == 201, response.text
                tokens[user] = response.json()["access_token"]
            yield Api(client, tokens)


# -- the plugin ---------------------------------------------------------------------------------


def test_the_plugin_mounts_the_app_and_adds_the_navigation_entry(api):
    response = api.client.get("/api/v2/plugins", headers=api.headers("admin"))
    [plugin] = [p for p in response.json()["plugins"] if p["name"] == "timecard_ui"]
    assert [app["url_prefix"] for app in plugin["fastapi_apps"]] == ["/timecard"]
    [view] = plugin["external_views"]
    assert view["name"] == "Logins"  # the navigation bar cuts anything much longer
    assert view["href"] == "/timecard/" and view["url_route"] == "login-logout-reports"
    assert view["destination"] == "nav"


# -- authentication and authorization, route by route --------------------------------------------

ROUTES = [
    "/",
    "/reports/daily-seoul",
    DAILY,
    f"{DAILY}/timeline",
    f"{DAILY}/csv",
    "/adhoc/{adhoc_id}",
    ADHOC,
    f"{ADHOC}/timeline",
    f"{ADHOC}/csv",
    f"{ADHOC}/save",
    "/generate",
    "/generate/range",
    "/runs/{adhoc_run_id}",
    "/static/timecard.css",
    "/static/timecard.js",
]
SEE_OTHER = {"/runs/{adhoc_run_id}": 303}


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_requests_are_refused_on_every_route(api, report_home, route):
    path = route.format(adhoc_run_id=report_home.adhoc_run_id, adhoc_id=report_home.adhoc_id)
    assert api.get(path, user=None).status_code == 401
    response = api.client.get(f"/timecard{path}", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 403


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("user", ["viewer", "editor", "admin"])
def test_each_role_gets_each_route(api, report_home, route, user):
    expected = SEE_OTHER.get(route, 200)
    if route in ("/generate", "/generate/range", f"{ADHOC}/save") and user == "viewer":
        expected = 403  # generating triggers a DAG run: a Viewer may not
    path = route.format(adhoc_run_id=report_home.adhoc_run_id, adhoc_id=report_home.adhoc_id)
    assert api.get(path, user).status_code == expected


@pytest.mark.parametrize("user", ["viewer", "editor"])
@pytest.mark.parametrize(
    "path",
    [
        "/reports/payroll",
        PAYROLL,
        f"{PAYROLL}/timeline",
        f"{PAYROLL}/csv",
        # A date with no output is refused the same way: existence does not leak.
        "/reports/payroll/2026-12-31",
        "/generate?from=payroll",
    ],
)
def test_a_user_who_cannot_read_the_reports_dag_cannot_open_anything_of_it(api, path, user):
    response = api.get(path, user)
    assert response.status_code == 403
    assert "Payroll" not in response.text and "Billing" not in response.text


@contextmanager
def payroll_in_the_adhoc_folder():
    """The `payroll` report's output where a saved report with `prefix: adhoc` (written by hand,
    before such a prefix was refused) published it: in the ad hoc folder, its manifest naming
    the report and its DAG."""
    from timecard.pipeline import ADHOC_PREFIX

    payroll = ReportSpec("payroll", "Payroll", "Asia/Seoul")
    moved = ReportSpec("payroll", "Payroll", "Asia/Seoul", prefix=ADHOC_PREFIX)
    copies = {
        output_urls(moved, REPORT_DATE)[name]: output_urls(payroll, REPORT_DATE)[name]
        for name in ("csv", "manifest")
    }
    for copy, original in copies.items():
        storage.write_bytes(copy, storage.read_bytes(original))
    try:
        yield
    finally:
        for copy in copies:
            storage.delete(copy)


@pytest.mark.parametrize("user", ["viewer", "editor", "admin"])
def test_a_saved_reports_output_in_the_adhoc_folder_is_authorized_by_its_manifest(api, user):
    """viewer and editor may read timecard_adhoc but not timecard_payroll (team finance): on
    the main of 2026-12-06 they could list, view and download payroll's rows here. Nobody gets
    it as an ad hoc output: it is payroll's, at payroll's own address."""
    with payroll_in_the_adhoc_folder():
        listed = {row.attrs["data-output"] for row in api.page("/", user).table("adhoc")}
        assert "payroll" not in listed
        for path in (
            "/adhoc/payroll",
            f"/adhoc/payroll/{REPORT_DATE}",
            f"/adhoc/payroll/{REPORT_DATE}/timeline",
            f"/adhoc/payroll/{REPORT_DATE}/csv",
            f"/generate?output=adhoc/payroll/{REPORT_DATE}",
            f"/adhoc/payroll/{REPORT_DATE}/save",
        ):
            response = api.get(path, user)
            assert response.status_code in (403, 404), (path, response.status_code)
            assert "Billing" not in response.text and "Payroll" not in response.text, path
    assert api.get(f"{PAYROLL}/csv", user).status_code == (200 if user == "admin" else 403)


def test_the_owner_of_an_output_is_the_report_its_manifest_records():
    from timecard.publishing import Manifest
    from timecard.ui.access import output_dag_id

    def manifest(dag_id: str, slug: str) -> Manifest:
        window = dict.fromkeys(("start_utc", "end_utc", "start_local", "end_local", "timezone"))
        return Manifest.from_json(
            {"dag_id": dag_id, "report": {"slug": slug, "name": slug}, "window": window, "rows": 0}
        )

    assert output_dag_id(manifest("timecard_adhoc", "0123456789ab")) == "timecard_adhoc"
    for publisher in ("timecard_payroll", "timecard_late_data", "timecard republish"):
        assert output_dag_id(manifest(publisher, "payroll")) == "timecard_payroll"


def test_the_list_shows_a_report_only_to_users_who_can_read_its_dag(api):
    listed = {
        user: {row.attrs["data-slug"] for row in api.page("/", user).table("reports")}
        for user in ("viewer", "editor", "admin")
    }
    assert listed == {
        "viewer": {"daily-seoul"},
        "editor": {"daily-seoul", "drafts"},
        "admin": {"daily-seoul", "drafts", "payroll"},
    }
    assert api.get(PAYROLL, "admin").status_code == 200


@pytest.mark.parametrize(("user", "status"), [("viewer", 403), ("editor", 200), ("admin", 200)])
def test_an_unpublished_report_is_only_for_users_who_can_edit_its_dag(api, user, status):
    assert api.get("/reports/drafts", user).status_code == status


# -- the report list ------------------------------------------------------------------------------


def test_the_report_list_shows_schedule_zone_filters_publication_last_run_and_latest_output(api):
    page = api.page("/", "admin")
    rows = {
        row.attrs["data-slug"]: [td.text for td in row.iter("td")] for row in page.table("reports")
    }
    assert rows["daily-seoul"][:6] == [
        "Daily Seoul",
        "daily",
        "active",
        "Asia/Seoul",
        "none",
        "yes",
    ]
    assert rows["daily-seoul"][6].startswith("success ")
    assert rows["daily-seoul"][7] == REPORT_DATE
    assert rows["payroll"][4] == "routing profile: Billing"
    assert rows["drafts"][2] == "not scheduled"
    assert rows["drafts"][5:8] == ["not published", "never run", "none yet"]
    latest = [a.attrs["href"] for a in page.all("a") if "latest" in a.attrs.get("class", "")]
    assert f"/timecard{DAILY}" in latest


def test_the_ad_hoc_list_shows_name_window_zone_filters_and_who_ran_it_when(api, report_home):
    # The browser tests, which share this home, may have added runs of their own.
    rows = api.page("/", "viewer").table("adhoc")
    [row] = [row for row in rows if row.attrs["data-output"] == report_home.adhoc_id]
    assert [td.text for td in row.iter("td")] == [
        "Seoul check",
        "2026-11-02 00:00 to 2026-11-03 00:00",
        "Asia/Seoul",
        "routing profiles: Billing",
        "dag_test",  # the user `dag.test()` records as the one who triggered the run
        "2026-11-02 15:00",
    ]
    [link] = row.iter("a")
    assert link.attrs["href"] == f"/timecard{ADHOC.format(adhoc_id=report_home.adhoc_id)}"
    [title] = api.page(f"/adhoc/{report_home.adhoc_id}", "viewer").all("h1")
    assert title.text == "Ad hoc: Seoul check"


def test_a_paused_report_dag_is_shown_as_paused(api):
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    def set_paused(paused: bool) -> None:
        with create_session() as session:
            session.execute(
                update(DagModel)
                .where(DagModel.dag_id == "timecard_daily-seoul")
                .values(is_paused=paused)
            )

    set_paused(True)
    try:
        [row] = [r for r in api.page("/").table("reports") if r.attrs["data-slug"] == "daily-seoul"]
        assert list(row.iter("td"))[2].text == "paused"
    finally:
        set_paused(False)


# -- the report view ------------------------------------------------------------------------------


def test_the_report_view_shows_window_zone_filters_and_row_count(api, report_home):
    page = api.page(DAILY)
    facts = page.by_id("row-count")
    assert facts.text == str(DAILY_ROWS)
    text = page.root.text
    # Windows read as local `YYYY-MM-DD HH:MM` with the zone, and the length in words.
    assert page.by_id("window").text == "2026-11-02 00:00 to 2026-11-03 00:00 (Asia/Seoul), 1 day"
    assert page.by_id("window-utc").text == "2026-11-01 15:00 to 2026-11-02 15:00 UTC"
    assert "T00:00:00" not in text and "+09:00" not in text
    assert "Amazon Connect's download holds only the rows on the visible page" in text
    adhoc = api.page(ADHOC.format(adhoc_id=report_home.adhoc_id)).root.text
    assert "Seoul check" in adhoc and "routing profiles: Billing" in adhoc


def test_rows_per_page_and_paging(api):
    first = api.page(f"{DAILY}?rows=25")
    assert len(first.table("report")) == 25
    assert first.by_id("position").text == f"Rows 1–25 of {DAILY_ROWS} · page 1 of 2"
    second = api.page(first.link("next").removeprefix("/timecard"))
    assert len(second.table("report")) == DAILY_ROWS - 25
    assert second.link("next") is None and second.link("prev")
    assert len(api.page(f"{DAILY}?rows=50").table("report")) == DAILY_ROWS
    # A page past the end (rows per page were raised) shows the last page.
    assert api.page(f"{DAILY}?rows=25&page=9").by_id("position").text.endswith("page 2 of 2")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("rows=30", "Rows per page must be one of 25, 50, 100, 500, 1000"),
        ("page=0", "Pages are numbered from 1"),
        ("sort=password", "There is no column 'password' to sort by"),
        ("order=sideways", "The sort order is 'asc' or 'desc'"),
        ("rows=many", "cannot be used: rows"),
    ],
)
def test_bad_table_parameters_get_a_clear_message(api, query, message):
    response = api.get(f"{DAILY}?{query}")
    assert response.status_code == 400
    assert message in Page(response.text).root.text


def test_sorting_by_a_column(api):
    by_name = api.page(f"{DAILY}?rows=100&sort=username&order=desc").column("report", "Username")
    assert by_name[:7] == ["f", "e", "e", "d", "c", "b", "agent-30"]
    assert by_name[-1] == "a"
    # Times sort as instants; sessions with no logout (unknown logout) come last either way.
    logouts = api.page(f"{DAILY}?sort=logout-time&order=asc").column("report", "Logout time")
    known = [value for value in logouts if value != "no logout"]
    assert known == sorted(known) and logouts[-3:] == ["no logout"] * 3
    durations = api.page(f"{DAILY}?sort=session-duration-seconds&order=desc").column(
        "report", "Session duration (seconds)"
    )
    assert durations[0] == "32400" and durations[-3:] == ["", "", ""]


def flagged(page: Page) -> dict[str, list[str]]:
    """Username → the flag of each of that user's rows, in table order."""
    found: dict[str, list[str]] = {}
    usernames = page.column("report", "Username")
    for username, row in zip(usernames, page.table("report"), strict=True):
        flag = next((f for f in ("abandoned", "no-logout") if f in row.classes), "closed")
        found.setdefault(username, []).append(flag)
    return found


def test_sessions_with_no_logout_are_marked_and_long_silent_ones_flagged(api):
    page = api.page(f"{DAILY}?rows=100")
    flags = flagged(page)
    # b: silent 12 hours before the window end. d: active 10 minutes before it. e's first
    # session: active 5 minutes before e's next login ended it.
    assert flags["b"] == ["abandoned"]
    assert flags["d"] == ["no-logout"]
    assert flags["e"] == ["no-logout", "closed"]
    assert flags["a"] == flags["c"] == ["closed"]
    [b_row] = [row for row in page.table("report") if "abandoned" in row.classes]
    assert "possibly abandoned (CCP closed without logout)" in b_row.text
    assert "60 minutes" in page.root.text


@pytest.mark.parametrize(
    ("minutes", "abandoned"),
    [("720", set()), ("719", {"b"}), ("5", {"b", "d"}), ("4", {"b", "d", "e"})],
)
def test_the_abandoned_threshold_is_configurable(api, monkeypatch, minutes, abandoned):
    monkeypatch.setenv("TIMECARD_ABANDONED_AFTER_MINUTES", minutes)
    flags = flagged(api.page(f"{DAILY}?rows=100"))
    assert {user for user, marks in flags.items() if "abandoned" in marks} == abandoned


def test_a_bad_abandoned_threshold_is_named_in_the_error(api, monkeypatch):
    monkeypatch.setenv("TIMECARD_ABANDONED_AFTER_MINUTES", "an hour")
    response = api.get(DAILY)
    assert response.status_code == 500
    assert "TIMECARD_ABANDONED_AFTER_MINUTES must be a whole number" in response.text


def test_download_is_the_complete_published_csv(api, report_home):
    response = api.get(f"{DAILY}/csv")
    # Named after the report and its window, so downloads do not collide.
    assert response.headers["content-disposition"] == (
        'attachment; filename="Daily Seoul 2026-11-02.csv"; '
        "filename*=UTF-8''Daily%20Seoul%202026-11-02.csv"
    )
    connect = api.get(f"{DAILY}/csv?name=connect")
    assert 'filename="Login_Logout report.csv"' in connect.headers["content-disposition"]
    assert connect.content == response.content
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    published = output_urls(
        ReportSpec("daily-seoul", "Daily Seoul", "Asia/Seoul", prefix="team/daily"), REPORT_DATE
    )
    assert response.content == storage.read_bytes(published["csv"])
    assert len(response.text.splitlines()) == DAILY_ROWS + 1


def test_copy_link_is_a_stable_airflow_ui_address_of_the_output(api):
    share = api.page(f"{DAILY}?rows=25&page=2&sort=username").by_id("share-link").attrs["value"]
    assert share == f"http://testserver/plugin/login-logout-reports/timecard{DAILY}"
    # The Airflow UI shows the path after the entry's route in its frame: the view itself.
    framed = share.removeprefix("http://testserver/plugin/login-logout-reports")
    assert api.client.get(framed, headers=api.headers("viewer")).status_code == 200
    payroll = api.page(PAYROLL).by_id("share-link").attrs["value"]
    framed = payroll.removeprefix("http://testserver/plugin/login-logout-reports")
    assert api.client.get(framed, headers=api.headers("viewer")).status_code == 403


# -- the timeline ---------------------------------------------------------------------------------


def test_the_timeline_charts_agents_logged_in_and_the_sessions_on_the_page(api):
    page = api.page(f"{DAILY}/timeline?rows=25&sort=username&order=desc")
    # 30 agents plus a, b, d and e's second session are logged in from 05:00Z (14:00 in Seoul).
    assert page.by_id("peak").text == "34"
    assert "first at 2026-11-02 14:00 (Asia/Seoul)" in page.root.text
    [logged_in] = page.by_id("logged-in-chart").iter("svg")
    assert {p.attrs["class"] for p in logged_in.iter("path")} == {"area", "line", "line-active"}
    [agents] = page.by_id("agents-chart").iter("svg")
    lanes = [t.text for t in agents.iter("text") if "label" in t.attrs.get("class", "")]
    # The page holds f, e, e, d, c, b and agent-30 .. agent-12: one lane per agent.
    assert lanes[:7] == ["f", "e", "d", "c", "b", "agent-30", "agent-29"]
    assert len(lanes) == 24
    titles = [t.text for t in agents.iter("title")]
    assert (
        "b: 11-02 10:00, no logout, last activity 11-02 12:00: possibly abandoned (CCP closed "
        "without logout)"
    ) in titles
    assert page.by_id("position").text == f"Rows 1–25 of {DAILY_ROWS} · page 1 of 2"
    assert "/timeline?" in page.link("next")


# -- generate an ad hoc report --------------------------------------------------------------------


def adhoc_runs() -> list:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        runs = session.scalars(select(DagRun).where(DagRun.dag_id == "timecard_adhoc")).all()
        session.expunge_all()
    return runs


def test_generate_triggers_the_adhoc_dag_and_follows_the_run(api):
    before = {run.run_id for run in adhoc_runs()}
    form = {
        "name": "Billing, last week",
        "preset": "yesterday",
        "timezone": "Asia/Seoul",
        "routing_profiles": "Billing\nSupport",
        "agents": "",
        # Support is in no data: flagged before the run unless the person runs it anyway.
        "allow_unknown": "true",
    }
    response = api.generate(form)
    assert response.status_code == 303
    [run] = [run for run in adhoc_runs() if run.run_id not in before]
    assert response.headers["location"] == f"/timecard/runs/{run.run_id}"
    assert run.state == "queued" and run.run_type == "manual"
    assert run.triggering_user_name == "editor"
    assert run.conf == {
        "name": "Billing, last week",
        "preset": "yesterday",
        "start": None,
        "end": None,
        "timezone": "Asia/Seoul",
        "agents": [],
        "routing_profiles": ["Billing", "Support"],
        "hierarchies": [],
    }
    follow = api.get(response.headers["location"].removeprefix("/timecard"), "viewer")
    page = Page(follow.text)
    assert page.by_id("run-state").text == "queued"
    # The tasks to do, in the order they run; none has a log yet.
    assert page.by_id("run-count").text == "0 of 2 tasks done"
    tasks = page.by_id("run-tasks").iter("li")
    assert [(li.attrs["data-task"], li.attrs["data-state"]) for li in tasks] == [
        ("plan_and_condense", "to do"),
        ("build_and_publish", "to do"),
    ]
    assert not [a for a in page.by_id("run-tasks").iter("a")]
    # The script asks for the progress block alone; without it the page reloads itself.
    poll = page.by_id("run-progress").attrs["data-poll"]
    assert poll == f"/timecard/runs/{run.run_id}?part=progress"
    assert any(m.attrs.get("http-equiv") == "refresh" for m in page.all("meta"))
    progress = api.get(poll.removeprefix("/timecard"), "viewer")
    assert progress.status_code == 200 and "<html" not in progress.text
    assert Page(progress.text).by_id("run-count").text == "0 of 2 tasks done"


def test_a_finished_run_opens_its_output(api, report_home):
    response = api.get(f"/runs/{report_home.adhoc_run_id}", "viewer")
    adhoc = ADHOC.format(adhoc_id=report_home.adhoc_id)
    assert response.headers["location"] == f"/timecard{adhoc}"
    page = api.page(adhoc, "viewer")
    assert page.column("report", "Username") == ["b", "c", "f"]  # Billing only


def test_the_report_opens_once_every_task_succeeded_before_the_run_is_marked(api, report_home):
    """The output is published when the last task succeeds; the scheduler marks the run a loop
    later. The run page opens the report at the first, not the second."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import update

    def set_state(state: str) -> None:
        with create_session() as session:
            session.execute(
                update(DagRun).where(DagRun.run_id == report_home.adhoc_run_id).values(state=state)
            )

    set_state("running")
    try:
        response = api.get(f"/runs/{report_home.adhoc_run_id}", "viewer")
    finally:
        set_state("success")
    adhoc = ADHOC.format(adhoc_id=report_home.adhoc_id)
    assert response.status_code == 303 and response.headers["location"] == f"/timecard{adhoc}"


def test_a_finished_runs_progress_lists_its_tasks_done_with_their_logs_in_airflow(api, report_home):
    run_id = report_home.adhoc_run_id
    response = api.get(f"/runs/{run_id}?part=progress", "viewer")
    progress = Page(response.text)
    assert progress.by_id("run-count").text == "2 of 2 tasks done"
    # The script opens the report from here.
    adhoc = ADHOC.format(adhoc_id=report_home.adhoc_id)
    assert progress.by_id("run-done").attrs["data-report"] == f"/timecard{adhoc}"
    tasks = list(progress.by_id("run-tasks").iter("li"))
    assert [li.attrs["data-state"] for li in tasks] == ["success", "success"]
    # Each task's log, on the Airflow UI's own task instance page (its Logs tab), in the top
    # window: the run page itself is shown in an iframe.
    logs = [next(li.iter("a")) for li in tasks]
    quoted = quote(run_id, safe="")
    assert [a.attrs["href"] for a in logs] == [
        f"/dags/timecard_adhoc/runs/{quoted}/tasks/plan_and_condense",
        f"/dags/timecard_adhoc/runs/{quoted}/tasks/build_and_publish",
    ]
    assert {a.attrs["target"] for a in logs} == {"_top"}
    assert progress.by_id("run-link").attrs["href"] == f"/dags/timecard_adhoc/runs/{quoted}"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (SEVEN_DAYS_PLUS, "a report covers at most 7 days"),
        ({"preset": "custom", "start": "2026-11-01T00:00"}, "needs both a start and an end"),
        ({"preset": "yesterday", "timezone": "Mars/Olympus"}, "Unknown time zone 'Mars/Olympus'"),
        ({"preset": "yesterday", "name": "x" * 121}, "is too long"),
    ],
)
def test_generate_refuses_bad_input_on_the_form_and_triggers_nothing(api, form, message):
    before = len(adhoc_runs())
    response = api.generate({"timezone": "UTC"} | form)
    assert response.status_code == 400
    page = Page(response.text)
    assert message in page.root.text
    assert page.by_id("generate")  # the form again, with the values entered
    assert len(adhoc_runs()) == before


def test_generate_needs_a_role_that_may_trigger_runs(api):
    assert api.generate({"preset": "yesterday"}, user="viewer").status_code == 403


def test_a_form_sent_from_another_origin_is_refused(api):
    """The browser sends the session cookie, not a bearer token: the origin is checked."""
    cookies = {"_token": api.tokens["editor"]}
    api.client.cookies.update(cookies)
    try:
        form = {"preset": "yesterday", "timezone": "UTC"}
        post = api.client.post
        foreign = post("/timecard/generate", data=form, headers={"Origin": "http://evil.test"})
        assert foreign.status_code == 403
        missing = post("/timecard/generate", data=form)
        assert missing.status_code == 403
        own = post(
            "/timecard/generate",
            data=form,
            headers={"Origin": "http://testserver"},
            follow_redirects=False,
        )
        assert own.status_code == 303
    finally:
        api.client.cookies.clear()


def test_the_form_can_start_from_a_saved_report(api):
    page = api.page("/generate?from=payroll", "admin")
    form = page.by_id("generate")
    [profiles] = [t for t in form.iter("textarea") if t.attrs["name"] == "routing_profiles"]
    assert profiles.text == "Billing"
    [zone] = [i for i in form.iter("input") if i.attrs.get("name") == "timezone"]
    assert zone.attrs["value"] == "Asia/Seoul" and zone.attrs["list"] == "zones"


# -- addressing: no storage path from the client ---------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/reports/..%2F..%2F..%2Fetc/2026-11-02",
        "/reports/daily-seoul/..%2F..%2Fpasswd/csv",
        "/reports/%2E%2E/2026-11-02/csv",
        "/reports/Daily-Seoul/2026-11-02",
        "/reports/daily-seoul/2026-02-30/csv",
        "/reports/daily-seoul/20261102/csv",
        "/adhoc/..%2Freports/2026-11-02/csv",
        "/adhoc/seoul-check/2026-11-02%2F..%2F..%2Fx/csv",
        "/static/..%2Fapp.py",
        "/static/%2E%2E/outputs.py",
        "/elsewhere/daily-seoul/2026-11-02",
    ],
)
def test_paths_that_would_climb_out_of_the_output_tree_are_refused(api, path):
    response = api.client.get(f"/timecard{path}", headers=api.headers("admin"))
    assert response.status_code in (400, 404)
    assert "Username,First name" not in response.text
    assert "import" not in response.text


@given(
    kind=st.sampled_from(["reports", "adhoc"]),
    slug=st.one_of(st.text(), st.from_regex(r"[a-z0-9][a-z0-9_./-]{0,70}", fullmatch=True)),
    day=st.one_of(st.text(), st.from_regex(r"\d{4}-\d{2}-\d{2}[./a-z]{0,4}", fullmatch=True)),
)
def test_any_accepted_address_stays_inside_its_report_folder(kind, slug, day):
    try:
        ref = OutputRef.parse(kind, slug, day)
    except UsageError:
        return
    spec = ReportSpec(ref.slug, ref.slug, "UTC", prefix="team/daily")
    folder = Path(report_folder(spec)).resolve()
    for url in output_urls(spec, ref.date).values():
        assert Path(url).resolve().parent.parent == folder
        assert re.fullmatch(r"date=\d{4}-\d{2}-\d{2}", Path(url).parent.name)


# -- issue 14: what a Connect user meets --------------------------------------------------------


@contextmanager
def paused(dag_id: str):
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    def set_paused(value: bool) -> None:
        with create_session() as session:
            session.execute(
                update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=value)
            )

    set_paused(True)
    try:
        yield
    finally:
        set_paused(False)


def test_the_report_dags_and_the_adhoc_dag_start_active(report_home):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    for dag_id in ("timecard_adhoc", "timecard_daily-seoul", "timecard_payroll"):
        assert bag.dags[dag_id].is_paused_upon_creation is False


def test_a_run_page_of_a_paused_dag_says_so_and_who_can_unpause_it(api):
    with paused("timecard_adhoc"):
        response = api.generate({"name": "Waiting", "preset": "yesterday", "timezone": "UTC"})
        page = Page(api.get(response.headers["location"].removeprefix("/timecard"), "editor").text)
    notice = page.by_id("paused").text
    assert "The timecard_adhoc DAG is paused" in notice
    assert "Op or Admin role" in notice and "airflow dags unpause timecard_adhoc" in notice
    # Unpaused, the same run page no longer claims it.
    follow = api.get(response.headers["location"].removeprefix("/timecard"), "editor")
    assert 'id="paused"' not in follow.text


def test_two_ad_hoc_runs_with_the_same_name_get_their_own_outputs():
    from timecard import pipeline

    params = {"name": "Ad hoc report", "preset": "yesterday", "timezone": "UTC"}
    now = datetime(2026, 11, 3, 9, tzinfo=UTC)
    first, _ = pipeline.adhoc_spec_and_window(params, now, "manual__2026-11-03T09:00:00_a")
    second, _ = pipeline.adhoc_spec_and_window(params, now, "manual__2026-11-03T09:00:00_b")
    assert first.slug != second.slug
    assert pipeline.output_urls(first, "2026-11-02") != pipeline.output_urls(second, "2026-11-02")
    korean, _ = pipeline.adhoc_spec_and_window(params | {"name": "상담원 로그인"}, now, "r1")
    assert korean.name == "상담원 로그인" and korean.slug == pipeline.adhoc_output_id("r1")


def test_report_times_are_local_with_the_zone_in_the_header_and_iso_in_the_csv(api):
    page = api.page(f"{DAILY}?sort=username")
    headers = {th.attrs["data-col"]: th.text for th in page.by_id("report").iter("th")}
    assert headers["login-time"] == "Login time (Asia/Seoul)"
    assert headers["last-activity"] == "Last activity (Asia/Seoul)"
    logins = page.column("report", "Login time")
    assert logins[0] == "2026-11-02 08:00:00"  # a, the README's worked example
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", t) for t in logins if t)
    assert "2026-11-02T08:00:00+09:00" in api.get(f"{DAILY}/csv").text


def test_the_table_hides_the_long_columns_by_default_and_keeps_username_sticky(api):
    page = api.page(DAILY)
    table = page.by_id("report")
    assert table.attrs["data-default-hidden"] == "agent-arn session-duration-seconds"
    toggles = [box.attrs["data-column-toggle"] for box in page.by_id("columns").iter("input")]
    assert "agent-arn" in toggles and "username" not in toggles
    css = api.get("/static/timecard.css").text
    assert 'table.report [data-col="username"] { position: sticky; left: 0;' in css


def test_filters_read_without_a_stray_separator(api, report_home):
    adhoc = api.page(ADHOC.format(adhoc_id=report_home.adhoc_id))
    assert adhoc.by_id("filters").text == "routing profiles: Billing"
    assert api.page(DAILY).by_id("filters").text == "none"


def test_the_filter_pickers_offer_the_values_in_the_condensed_attributes(api):
    page = api.page("/generate", "editor")
    offered = {
        kind: [option.attrs["value"] for option in page.by_id(f"known-{kind}").iter("option")]
        for kind in ("agents", "routing_profiles", "hierarchies")
    }
    agents = sorted(["a", "b", "c", "d", "e", "f", *(f"agent-{n:02d}" for n in range(1, 31))])
    assert offered == {
        "agents": agents,
        "routing_profiles": ["Billing", "Sales Inbound"],
        "hierarchies": ["Americas", "Americas/Sales"],
    }
    assert page.by_id("pick-agents").attrs["list"] == "known-agents"


def test_run_ad_hoc_from_a_scheduled_report_prefills_its_window_length_and_filters(api):
    page = api.page("/generate?from=payroll", "admin")
    fields = {i.attrs["name"]: i.attrs.get("value") for i in page.all("input") if "name" in i.attrs}
    boxes = {t.attrs["name"]: t.text for t in page.all("textarea")}
    assert fields["name"] == "Payroll (ad hoc)"
    assert boxes["routing_profiles"] == "Billing"
    [presets] = [select for select in page.all("select") if select.attrs["name"] == "preset"]
    [preset] = [o.attrs["value"] for o in presets.iter("option") if "selected" in o.attrs]
    start, end = (datetime.fromisoformat(fields[key]) for key in ("start", "end"))
    assert preset == "custom" and end - start == timedelta(days=1)
    assert (start.hour, start.minute, end.hour) == (0, 0, 0)  # local midnights: its own window


def test_run_ad_hoc_from_a_weekly_report_prefills_its_seven_day_window(api, report_home):
    weekly = report_home.path / "reports" / "weekly-billing.yaml"
    weekly.write_text(
        "name: Weekly billing\ntimezone: Asia/Seoul\nschedule: {weekly: [monday]}\n"
        "window_days: 7\nfilters: {routing_profiles: [Billing]}\n"
    )
    try:
        page = api.page("/generate?from=weekly-billing", "admin")
    finally:
        weekly.unlink()
    fields = {i.attrs["name"]: i.attrs.get("value") for i in page.all("input") if "name" in i.attrs}
    assert fields["name"] == "Weekly billing (ad hoc)"
    start, end = (datetime.fromisoformat(fields[key]) for key in ("start", "end"))
    assert end - start == timedelta(days=7)
    assert end.weekday() == 0 and (start.hour, end.hour) == (0, 0)  # Monday midnight, Seoul


def test_change_filters_opens_generate_prefilled_from_the_output(api, report_home):
    view = api.page(ADHOC.format(adhoc_id=report_home.adhoc_id), "editor")
    link = view.by_id("change-filters").attrs["href"].removeprefix("/timecard")
    page = api.page(link, "editor")
    fields = {i.attrs["name"]: i.attrs.get("value") for i in page.all("input") if "name" in i.attrs}
    assert (fields["name"], fields["start"], fields["end"]) == (
        "Seoul check",
        "2026-11-02T00:00:00",
        "2026-11-03T00:00:00",
    )
    assert {t.attrs["name"]: t.text for t in page.all("textarea")}["routing_profiles"] == "Billing"
    assert fields["timezone"] == "Asia/Seoul"


def test_save_as_saved_report_offers_validated_yaml_and_the_create_command(
    api, report_home, tmp_path
):
    from timecard.cli import main

    view = api.page(ADHOC.format(adhoc_id=report_home.adhoc_id), "editor")
    save_path = view.by_id("save-as").attrs["href"].removeprefix("/timecard")
    response = api.get(save_path, "editor")
    command = Page(response.text).by_id("create-command").text
    assert command == (
        "timecard reports create seoul-check --name 'Seoul check' --tz Asia/Seoul "
        "--routing-profile Billing --start 2026-11-02T00:00:00 --end 2026-11-03T00:00:00"
    )
    # The command, run as shown, writes exactly the YAML the page offers.
    shown = re.search(r'<pre id="definition-yaml">(.*?)</pre>', response.text, re.DOTALL)[1]
    assert main([*shlex.split(command)[1:], "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "seoul-check.yaml").read_text() == html.unescape(shown)
    link = [a for a in Page(response.text).all("a") if a.attrs.get("id") == "download-yaml"][0]
    assert link.attrs["download"] == "seoul-check.yaml"
    assert unquote(link.attrs["href"].split(",", 1)[1]) == html.unescape(shown)
    # The window length the form offers is the one saved reports accept (timecard.limits).
    [days] = [i for i in Page(response.text).all("input") if i.attrs.get("name") == "window_days"]
    assert (days.attrs["min"], days.attrs["max"], days.attrs["value"]) == ("1", "7", "1")
    # Another slug is checked like the loader checks it.
    refused = api.get(f"{save_path}?slug=Bad%20Slug", "editor")
    assert "Bad Slug" in refused.text and 'id="create-command"' not in refused.text
    # A viewer may not create reports: no button, and the page is refused.
    viewer_view = api.get(ADHOC.format(adhoc_id=report_home.adhoc_id), "viewer").text
    assert 'id="save-as"' not in viewer_view
    assert api.get(save_path, "viewer").status_code == 403


@pytest.mark.parametrize(
    ("path", "status"), [(f"{DAILY}?sort=password", 400), ("/reports/nope/2026-11-02", 404)]
)
def test_error_pages_sit_in_the_layout_with_the_navigation(api, path, status):
    response = api.get(path)
    assert response.status_code == status
    page = Page(response.text)
    home = [a for a in page.all("a") if "home" in a.classes]
    assert home and home[0].attrs["href"] == "/timecard/"
    assert page.by_id("back").attrs["href"] == "/timecard/"
    assert any("timecard.css" in link.attrs.get("href", "") for link in page.all("link"))


# -- issue 19: no silent empty report, no lost input, readable pages, Save means save ------------


def _form_values(page: Page) -> dict[str, str]:
    fields = {
        i.attrs["name"]: i.attrs.get("value", "") for i in page.all("input") if "name" in i.attrs
    }
    return fields | {t.attrs["name"]: t.text for t in page.all("textarea")}


def test_a_filter_value_not_in_the_data_is_flagged_before_the_run_with_the_closest(api):
    before = len(adhoc_runs())
    form = {
        "name": "Typo",
        "preset": "yesterday",
        "timezone": "UTC",
        "agents": "agnet-06",
        "routing_profiles": "billing",  # matching is exact: the data spells it Billing
    }
    response = api.generate(form)
    assert response.status_code == 400
    page = Page(response.text)
    problems = [li.text for li in page.by_id("filter-problems").iter("li")]
    assert problems == [
        "Agents: 'agnet-06' matches no value in the data; closest known values: agent-06, "
        "agent-01, agent-02, agent-03, agent-04, agent-05, agent-07, agent-08, agent-09, "
        "agent-10.",
        "Routing profiles: 'billing' matches no value in the data; closest known values: "
        "Billing, Sales Inbound.",
    ]
    assert len(adhoc_runs()) == before  # flagged before any run
    values = _form_values(page)
    assert (values["agents"], values["routing_profiles"]) == ("agnet-06", "billing")
    assert page.by_id("allow-unknown").attrs["name"] == "allow_unknown"
    # The person may run it anyway (the value can be in days not condensed yet).
    assert api.generate(form | {"allow_unknown": "true"}).status_code == 303
    assert len(adhoc_runs()) == before + 1


def test_a_picker_entry_typed_but_not_added_stops_the_run(api):
    before = len(adhoc_runs())
    form = {"name": "Lost?", "preset": "yesterday", "timezone": "UTC"}
    response = api.generate(form | {"pending_routing_profiles": "bil"})
    assert response.status_code == 400
    page = Page(response.text)
    assert page.by_id("form-error").text.startswith(
        "Routing profiles: 'bil' was typed but not added. Press Enter in its box"
    )
    assert page.by_id("pick-routing_profiles").attrs["value"] == "bil"  # kept, not dropped
    assert len(adhoc_runs()) == before


@pytest.fixture(scope="module")
def typo_output(report_home) -> str:
    """The output of a real ad hoc run whose only filter is a typo: 0 rows."""
    from airflow.dag_processing.dagbag import DagBag

    from timecard.pipeline import adhoc_output_id

    conf = ADHOC_CONF | {"name": "Typo check", "routing_profiles": [], "agents": ["agnet-06"]}
    run = (
        DagBag(dag_folder=str(DAGS))
        .dags["timecard_adhoc"]
        .test(logical_date=None, run_after=RUN_DAY_MIDNIGHT, run_conf=conf)
    )
    assert run.state == "success"
    return f"/adhoc/{adhoc_output_id(run.run_id)}/{REPORT_DATE}"


def test_a_report_with_no_rows_says_which_filter_matched_nothing(api, typo_output):
    page = api.page(typo_output, "viewer")
    assert page.by_id("row-count").text == "0"
    assert page.by_id("empty-reason").text == (
        "This report has no rows. The filter agents 'agnet-06' matches no session in the "
        "window; closest values there: agent-06, agent-01, agent-02, agent-03, agent-04, "
        "agent-05, agent-07, agent-08, agent-09, agent-10."
    )
    assert 'id="empty-reason"' not in api.get(DAILY).text  # a report with rows has no notice


def test_empty_reasons_name_a_window_with_no_session_and_filters_that_exclude_each_other():
    from timecard.publishing import Manifest
    from timecard.ui import app

    def empty_reasons(manifest: dict) -> list[str]:
        return app.empty_reasons(
            Manifest.from_json({"report": {"slug": "s", "name": "S"}} | manifest)
        )

    window = {
        "start_local": "2026-11-02T00:00:00+09:00",
        "end_local": "2026-11-03T00:00:00+09:00",
        "timezone": "Asia/Seoul",
        "start_utc": "2026-11-01T15:00:00Z",
        "end_utc": "2026-11-02T15:00:00Z",
    }
    quiet = {"rows": 0, "window": window, "filters": {}, "warnings": []}
    quiet["counts"] = {"sessions": 0, "events_read": 0}
    assert empty_reasons(quiet) == [
        "No agent session falls in the window 2026-11-02 00:00 to 2026-11-03 00:00 "
        "(Asia/Seoul), 1 day: no agent was logged in during it (0 events read)."
    ]
    both = quiet | {"counts": {"sessions": 5}, "unmatched_filters": {}}
    both["filters"] = {"agents": ["a"], "routing_profiles": ["Billing"], "hierarchies": []}
    [reason] = empty_reasons(both)
    assert "each filter value matches some of them, but none matches all the filters" in reason
    assert empty_reasons(quiet | {"rows": 3}) == []


def test_dates_list_each_output_window_and_row_count(api):
    page = api.page("/reports/daily-seoul", "viewer")
    [row] = page.table("dates")
    cells = [td.text for td in row.iter("td")]
    assert cells[:3] == [
        REPORT_DATE,
        "2026-11-02 00:00 to 2026-11-03 00:00 (Asia/Seoul), 1 day",
        str(DAILY_ROWS),
    ]


def test_error_pages_keep_the_user_and_the_generate_link(api):
    page = Page(api.get("/reports/nope/2026-11-02", "editor").text)
    assert page.by_id("user").text == "editor"
    assert any(a.text == "Generate" for a in page.all("a"))
    anonymous = Page(api.get("/reports/nope/2026-11-02", None).text)
    assert anonymous.by_id("user").text == "not signed in"


def test_the_greyed_start_and_end_follow_the_preset(api):
    from timecard.timerange import preset_range

    def expected(preset: str, zone: str) -> tuple[str, str]:
        window = preset_range(preset, zone, datetime.now(UTC))
        return tuple(
            t.strftime("%Y-%m-%dT%H:%M:%S") for t in (window.local_start, window.local_end)
        )

    # A midnight may pass between the page and the expectation: either day's dates count.
    before = {zone: expected("yesterday", zone) for zone in ("UTC", "Pacific/Kiritimati")}
    values = _form_values(api.page("/generate", "editor"))
    response = api.get("/generate/range?preset=yesterday&timezone=Pacific/Kiritimati", "editor")
    after = {zone: expected("yesterday", zone) for zone in ("UTC", "Pacific/Kiritimati")}
    assert (values["start"], values["end"]) in {before["UTC"], after["UTC"]}
    shown = (response.json()["start"], response.json()["end"])
    assert shown in {before["Pacific/Kiritimati"], after["Pacific/Kiritimati"]}
    assert response.json()["start"].endswith("T00:00:00")
    assert api.get("/generate/range?preset=x&timezone=Mars/Olympus", "editor").status_code == 400
    assert api.get("/generate/range", "viewer").status_code == 403


SAVE_CHOICE = {"slug": "seoul-billing", "name": "Seoul billing", "schedule": "daily"}


def test_save_writes_what_the_commands_write_and_the_dag_appears(api, report_home, tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    from timecard.cli import main

    save_path = f"{ADHOC.format(adhoc_id=report_home.adhoc_id)}/save"
    preview = api.page(
        f"{save_path}?slug=seoul-billing&name=Seoul+billing&schedule=daily", "editor"
    )
    assert preview.by_id("save").attrs["formmethod"] == "post"
    command = preview.by_id("create-command").text
    assert command == (
        "timecard reports create seoul-billing --name 'Seoul billing' --tz Asia/Seoul "
        "--routing-profile Billing --start 2026-11-02T00:00:00 --end 2026-11-03T00:00:00 "
        "&& timecard reports schedule seoul-billing --daily"
    )
    for words in command.split(" && "):
        assert main([*shlex.split(words)[1:], "--dir", str(tmp_path)]) == 0
    written = report_home.path / "reports" / "seoul-billing.yaml"
    post = api.client.post(f"/timecard{save_path}", data=SAVE_CHOICE, headers=api.headers("editor"))
    try:
        assert post.status_code == 200, post.text
        assert "Saved." in Page(post.text).by_id("saved").text
        # The same file the commands wrote, and a DAG at the next parse of the folder.
        assert written.read_text() == (tmp_path / "seoul-billing.yaml").read_text()
        bag = DagBag(dag_folder=str(DAGS))
        assert bag.import_errors == {}
        assert "timecard_seoul-billing" in bag.dags
        # Saving again never overwrites.
        again = api.client.post(
            f"/timecard{save_path}", data=SAVE_CHOICE, headers=api.headers("editor")
        )
        assert again.status_code in (200, 400)
        assert "already exists" in again.text and 'id="saved"' not in again.text
    finally:
        written.unlink(missing_ok=True)


def test_save_needs_edit_permission_and_can_be_turned_off(api, report_home, monkeypatch):
    save_path = f"/timecard{ADHOC.format(adhoc_id=report_home.adhoc_id)}/save"
    written = report_home.path / "reports" / "seoul-billing.yaml"
    weekly = {"slug": "seoul-billing", "name": "Seoul billing", "schedule": "weekly"}
    no_day = api.client.post(save_path, data=weekly, headers=api.headers("editor"))
    assert no_day.status_code == 400 and "at least one weekday" in no_day.text
    assert not written.exists()
    viewer = api.client.post(save_path, data=SAVE_CHOICE, headers=api.headers("viewer"))
    assert viewer.status_code == 403 and not written.exists()
    monkeypatch.setenv("TIMECARD_UI_SAVE_DEFINITIONS", "false")
    page = Page(api.get(save_path.removeprefix("/timecard"), "admin").text)
    assert "turned off" in page.by_id("save-off").text
    assert "timecard reports create seoul-check" in page.by_id("create-command").text
    assert not [b for b in page.all("button") if b.attrs.get("id") == "save"]
    refused = api.client.post(save_path, data=SAVE_CHOICE, headers=api.headers("admin"))
    assert refused.status_code == 403 and "TIMECARD_UI_SAVE_DEFINITIONS" in refused.text
    assert not written.exists()
