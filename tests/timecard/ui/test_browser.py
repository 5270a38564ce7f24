"""The Login/Logout reports pages as a person uses them: what `make ui` starts (a real
api-server with the plugin, scheduler, dag-processor and triggerer), headless Chromium (Debian's
`chromium` and `chromium-driver`, driven by Selenium), the simple auth manager's login form, and
the outputs of real DAG runs (tests/timecard/ui/conftest.py).

Screenshots go to tests/artifacts/ui/ (not committed); docs/images/ holds the README's copies,
which a run with TIMECARD_UPDATE_DOCS_IMAGES=1 rewrites.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.airflow_processes import AirflowProcesses, component_environment, free_port
from tests.builders import DAGS, DAILY_ROWS, PASSWORDS, REPORT_DATE
from timecard import storage
from timecard.pipeline import ReportSpec, output_urls
from timecard.settings import REPO_ROOT

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1100",
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
DAILY = f"/timecard/reports/daily-seoul/{REPORT_DATE}"
SCHEDULED_DAGS = ("timecard_daily-seoul", "timecard_payroll")
DOCS_IMAGES = REPO_ROOT / "docs" / "images"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="needs Debian's chromium and chromium-driver: apt-get install chromium "
        "chromium-driver",
    ),
]


@pytest.fixture(scope="module")
def server(report_home, passwords_file, tmp_path_factory):
    """What `make ui` starts (`timecard.local_airflow`: api-server, scheduler, dag-processor and
    triggerer) on a free loopback port, on a copy of this session's metadata database (where the
    DAG runs of `report_home` are) and the same timecard home; stopped with Ctrl-C (SIGINT)
    afterwards, leaving no process behind. A copy, in a home of its own: the components write
    to their database, which must never touch the one the rest of the test session uses.

    The saved reports' DAGs are paused in the copy, so that no scheduled run adds outputs to
    the pages under test; `timecard_adhoc` stays active, as it is created."""
    home = tmp_path_factory.mktemp("ui-server-home")
    session_db = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    server_db = home / "airflow.db"
    with sqlite3.connect(session_db) as source, sqlite3.connect(server_db) as target:
        source.backup(target)
        target.execute("UPDATE dag SET is_paused = 1 WHERE dag_id IN (?, ?)", SCHEDULED_DAGS)
    port = free_port()
    env = component_environment(
        home,
        {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{server_db}",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
            "AIRFLOW__API__WORKERS": "1",
        },
    )
    log_path = tmp_path_factory.mktemp("ui-server-logs") / "ui_server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "timecard.local_airflow", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    components = AirflowProcesses(env, home / "logs")  # finds what is left by AIRFLOW_HOME
    try:
        deadline = time.monotonic() + 240
        while "log in as" not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(1)
        yield Server(f"http://127.0.0.1:{port}", server_db)
    except BaseException:
        print(log_path.read_text())
        for component_log in sorted((home / "logs" / "ui").glob("*.log")):
            print(f"===== {component_log.name}\n{component_log.read_text()[-6000:]}")
        raise
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=90)
        assert components.leftover_processes() == []


@dataclass(frozen=True)
class Server:
    url: str
    database: Path

    def __str__(self) -> str:
        return self.url

    def set_paused(self, dag_id: str, paused: bool) -> None:
        with sqlite3.connect(self.database, timeout=30) as db:
            db.execute("UPDATE dag SET is_paused = ? WHERE dag_id = ?", (int(paused), dag_id))


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(server, downloads):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    # SE_OFFLINE: Selenium must never fetch a browser or a driver.
    os.environ.setdefault("SE_OFFLINE", "true")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        log_in(driver, server, "admin")
        yield driver
    finally:
        driver.quit()


def log_in(driver, server: str, user: str) -> None:
    """The simple auth manager's own sign-in form, as a person fills it in."""
    driver.get(f"{server}/auth/login")
    wait(driver).until(ec.presence_of_element_located((By.NAME, "username"))).send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(PASSWORDS[user])
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver).until(lambda d: d.get_cookie("_token"))


def wait(driver, seconds: float = 30) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def screenshot(driver, name: str, docs: bool = False) -> None:
    """A screenshot in tests/artifacts/ui/; with `docs`, also the README's copy in docs/images/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    if docs and os.environ.get("TIMECARD_UPDATE_DOCS_IMAGES"):
        driver.save_screenshot(str(DOCS_IMAGES / f"{name}.png"))


def rows(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "#report tbody tr")


def enter_plugin_frame(driver) -> None:
    frame = wait(driver).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "iframe[title='Logins']"))
    )
    driver.switch_to.frame(frame)


def test_the_navigation_entry_shows_the_reports_inside_airflow(browser, server):
    browser.get(f"{server}/")
    entry = wait(browser).until(
        ec.element_to_be_clickable((By.XPATH, "//a[contains(., 'Logins')]"))
    )
    # The label fits the navigation bar: no text is cut off.
    label = entry.find_element(By.XPATH, ".//*[contains(text(), 'Logins')]")
    assert browser.execute_script(
        "return arguments[0].scrollWidth <= arguments[0].clientWidth", label
    )
    entry.click()
    enter_plugin_frame(browser)
    names = wait(browser).until(
        lambda d: [
            a.text for a in d.find_elements(By.CSS_SELECTOR, "#reports tbody td:first-child")
        ]
    )
    assert names == ["Daily Seoul", "Draft billing check", "Payroll"]
    screenshot(browser, "navigation-entry")
    browser.find_element(By.CSS_SELECTOR, "tr[data-slug='daily-seoul'] a.latest").click()
    wait(browser).until(lambda d: len(rows(d)) == DAILY_ROWS)
    # Descending by username puts the sessions with no logout (b, d, e) near the top.
    for _ in range(2):
        browser.find_element(By.CSS_SELECTOR, "a[data-column=username]").click()
    wait(browser).until(lambda d: rows(d)[0].find_element(By.TAG_NAME, "td").text == "f")
    Select(browser.find_element(By.NAME, "rows")).select_by_value("25")
    wait(browser).until(lambda d: len(rows(d)) == 25)
    browser.switch_to.default_content()
    # The Airflow UI keeps the frame's address in its own: a person can bookmark it.
    assert f"/plugin/login-logout-reports{DAILY}?rows=25&sort=username" in browser.current_url
    screenshot(browser, "report-view-sorted")
    enter_plugin_frame(browser)
    browser.find_element(By.LINK_TEXT, "Timeline").click()
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#agents-chart svg")))
    browser.switch_to.default_content()
    browser.set_window_size(1600, 1750)  # both charts in one picture
    try:
        screenshot(browser, "timeline", docs=True)
    finally:
        browser.set_window_size(1600, 1100)


def test_the_table_pages_and_sorts(browser, server):
    browser.get(f"{server}{DAILY}")
    assert len(rows(browser)) == DAILY_ROWS  # 100 rows per page by default
    Select(browser.find_element(By.NAME, "rows")).select_by_value("25")
    wait(browser).until(lambda d: len(rows(d)) == 25)
    position = browser.find_element(By.ID, "position").text
    assert position == f"Rows 1–25 of {DAILY_ROWS} · page 1 of 2"
    browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
    wait(browser).until(lambda d: len(rows(d)) == DAILY_ROWS - 25)
    browser.find_element(By.CSS_SELECTOR, "a[data-column=username]").click()
    browser.find_element(By.CSS_SELECTOR, "a[data-column=username]").click()
    first = wait(browser).until(
        lambda d: "order=desc" in d.current_url and rows(d)[0].find_element(By.TAG_NAME, "td")
    )
    assert first.text == "f"
    assert "page 1 of 2" in browser.find_element(By.ID, "position").text
    flagged = browser.find_elements(By.CSS_SELECTOR, "#report tr.abandoned td:first-child")
    assert [cell.text for cell in flagged] == ["b"]


def wait_for_file(path: Path) -> Path:
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return path


def test_download_csv_gives_the_complete_file(browser, server, downloads):
    browser.get(f"{server}{DAILY}?rows=25")
    browser.find_element(By.ID, "download").click()
    # Named after the report and its window, so downloads do not collide in a folder.
    downloaded = wait_for_file(downloads / f"Daily Seoul {REPORT_DATE}.csv")
    published = output_urls(
        ReportSpec("daily-seoul", "Daily Seoul", "Asia/Seoul", prefix="team/daily"), REPORT_DATE
    )
    assert downloaded.read_bytes() == storage.read_bytes(published["csv"])
    assert len(downloaded.read_text().splitlines()) == DAILY_ROWS + 1  # not just the 25 shown
    browser.find_element(By.ID, "download-connect").click()  # Connect's own name, as an option
    connect = wait_for_file(downloads / "Login_Logout report.csv")
    assert connect.read_bytes() == downloaded.read_bytes()


def test_copy_link_opens_the_same_output_inside_airflow(browser, server):
    browser.get(f"{server}{DAILY}?rows=25&page=2")
    browser.find_element(By.ID, "copy-link").click()
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "copy-status"), "Link copied."))
    link = browser.find_element(By.ID, "share-link").get_attribute("value")
    assert link == f"{server}/plugin/login-logout-reports{DAILY}"
    browser.get(link)
    enter_plugin_frame(browser)
    heading = wait(browser).until(ec.presence_of_element_located((By.TAG_NAME, "h1")))
    assert heading.text == "Daily Seoul"
    browser.switch_to.default_content()


def pick(browser, kind: str, value: str) -> None:
    """Type a value into a filter picker and take it with Enter, as a person does."""
    field = browser.find_element(By.ID, f"pick-{kind}")
    field.send_keys(value, Keys.ENTER)


def set_date_time(browser, name: str, value: str) -> None:
    """Set a `datetime-local` field, as its picker does (the picker itself is browser chrome
    that WebDriver cannot click)."""
    field = browser.find_element(By.NAME, name)
    browser.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        field,
        value,
    )
    assert field.get_attribute("value") == value


def choose_zone(browser, zone: str) -> None:
    """Type into the searchable time-zone field, as a person does, and leave it."""
    field = browser.find_element(By.NAME, "timezone")
    field.clear()
    field.send_keys(zone, Keys.TAB)


def generate(
    browser, server, name: str, routing_profile: str | None, zone: str = "Asia/Seoul"
) -> str:
    """Fill Generate for 2026-11-02 in `zone`, submit, and return the run page's address."""
    browser.get(f"{server}/timecard/generate")
    field = browser.find_element(By.NAME, "name")
    field.clear()
    field.send_keys(name)
    Select(browser.find_element(By.NAME, "preset")).select_by_value("custom")
    set_date_time(browser, "start", "2026-11-02T00:00")
    set_date_time(browser, "end", "2026-11-03T00:00")
    choose_zone(browser, zone)
    if routing_profile:
        pick(browser, "routing_profiles", routing_profile)
    browser.find_element(By.CSS_SELECTOR, "#generate button[type=submit]").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "run-state")))
    return browser.current_url


def wait_for_report(browser, seconds: float = 240) -> str:
    """Follow the run page until it opens the report; the report's address."""
    wait(browser, seconds).until(ec.presence_of_element_located((By.ID, "report")))
    return browser.current_url


def test_pickers_offer_only_the_values_in_the_data_and_presets_lock_the_range(browser, server):
    browser.get(f"{server}/timecard/generate")
    offered = [
        option.get_attribute("value")
        for option in browser.find_elements(By.CSS_SELECTOR, "#known-routing_profiles option")
    ]
    assert offered == ["Billing", "Sales Inbound"]
    usernames = browser.find_elements(By.CSS_SELECTOR, "#known-agents option")
    assert len(usernames) == 36
    pick(browser, "routing_profiles", "billing")  # search and picking ignore letter case
    box = browser.find_element(By.NAME, "routing_profiles")
    assert box.get_attribute("value") == "Billing"  # written as the data spells it
    assert browser.current_url.endswith("/timecard/generate")  # Enter did not submit the form
    start = browser.find_element(By.NAME, "start")
    assert not start.is_enabled()  # the default preset, "yesterday", locks the custom range
    Select(browser.find_element(By.NAME, "preset")).select_by_value("custom")
    assert start.is_enabled()
    Select(browser.find_element(By.NAME, "preset")).select_by_value("last-24-hours")
    assert not start.is_enabled() and not browser.find_element(By.NAME, "end").is_enabled()
    screenshot(browser, "generate", docs=True)


def test_generate_runs_and_opens_the_result_with_no_unpause_step(browser, server):
    generate(browser, server, "Billing check", "Billing")
    assert "/timecard/runs/manual__" in browser.current_url
    screenshot(browser, "run")
    wait_for_report(browser)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Billing check"
    assert [row.find_element(By.TAG_NAME, "td").text for row in rows(browser)] == ["b", "c", "f"]


def test_two_same_named_ad_hoc_runs_keep_their_own_links(browser, server):
    generate(browser, server, "Ad hoc report", "Billing")
    first = wait_for_report(browser)
    generate(browser, server, "Ad hoc report", "Sales Inbound")
    second = wait_for_report(browser)
    assert first != second
    assert len(rows(browser)) == 34  # a, d, e twice and agent-01..30
    browser.get(first)
    assert [row.find_element(By.TAG_NAME, "td").text for row in rows(browser)] == ["b", "c", "f"]
    browser.get(f"{server}/timecard/")
    listed = browser.find_elements(By.CSS_SELECTOR, "#adhoc tbody tr")
    names = [row.find_element(By.TAG_NAME, "td").text for row in listed]
    assert names.count("Ad hoc report") == 2
    screenshot(browser, "report-list", docs=True)


def test_a_paused_dag_run_page_says_so_and_who_can_unpause_it(browser, server):
    server.set_paused("timecard_adhoc", True)
    try:
        generate(browser, server, "While paused", "Billing")
        notice = wait(browser).until(ec.presence_of_element_located((By.ID, "paused")))
        assert "The timecard_adhoc DAG is paused" in notice.text
        assert "airflow dags unpause timecard_adhoc" in notice.text
        assert browser.find_element(By.ID, "run-state").text == "queued"
        # The tasks still to do, in the order they will run.
        assert browser.find_element(By.ID, "run-count").text == "0 of 2 tasks done"
        tasks = browser.find_elements(By.CSS_SELECTOR, "#run-tasks li")
        states = [(li.get_attribute("data-task"), li.get_attribute("data-state")) for li in tasks]
        assert states == [("plan_and_condense", "to do"), ("build_and_publish", "to do")]
        screenshot(browser, "run-paused", docs=True)
    finally:
        server.set_paused("timecard_adhoc", False)
    wait_for_report(browser)  # unpaused, the same page goes on to the report


def test_a_failed_run_shows_which_task_failed_and_opens_its_log_in_airflow(browser, server):
    """A window with no raw event file: planning refuses it at once (no retries), the run page
    stops following the run and links the failed task's log, which opens in Airflow's UI."""
    browser.get(f"{server}/timecard/generate")
    Select(browser.find_element(By.NAME, "preset")).select_by_value("custom")
    set_date_time(browser, "start", "2026-06-01T00:00")
    set_date_time(browser, "end", "2026-06-02T00:00")
    browser.find_element(By.CSS_SELECTOR, "#generate button[type=submit]").click()
    notice = wait(browser, 240).until(ec.presence_of_element_located((By.ID, "run-failed")))
    assert "nothing was published" in notice.text
    run_page = browser.current_url
    assert "/timecard/runs/manual__" in run_page  # the page stayed: no report to open
    assert browser.find_element(By.ID, "run-state").text == "failed"
    tasks = browser.find_elements(By.CSS_SELECTOR, "#run-tasks li")
    assert [li.get_attribute("data-state") for li in tasks] == ["failed", "upstream_failed"]
    # Only the task that ran has a log; it opens in the whole window, not in the iframe.
    [log] = browser.find_elements(By.CSS_SELECTOR, "#run-tasks a.task-log")
    assert log.get_attribute("target") == "_top"
    run_id = unquote(run_page.rsplit("/runs/", 1)[1])
    expected = f"{server}/dags/timecard_adhoc/runs/{quote(run_id, safe='')}/tasks/plan_and_condense"
    assert log.get_attribute("href") == expected
    screenshot(browser, "run-failed")
    log.click()
    # Airflow's own task instance page shows the task's log, with the refusal in it.
    try:
        wait(browser, 60).until(
            lambda driver: (
                "No raw event file exists" in driver.find_element(By.TAG_NAME, "body").text
            )
        )
    finally:
        screenshot(browser, "run-failed-log")
    assert unquote(browser.current_url).startswith(unquote(expected))


def test_the_table_fits_1366_px_inside_airflow_and_columns_can_be_hidden(browser, server):
    browser.get(f"{server}{DAILY}")
    browser.execute_script("localStorage.clear()")
    browser.set_window_size(1366, 900)
    try:
        browser.get(f"{server}/plugin/login-logout-reports{DAILY}?rows=25")
        enter_plugin_frame(browser)
        scroller = wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".scroll")))
        wait(browser).until(lambda d: len(rows(d)) == 25)
        assert browser.execute_script(
            "return arguments[0].scrollWidth <= arguments[0].clientWidth", scroller
        )
        shown = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#report th")]
        shown = [name.splitlines()[0].split(" (")[0] for name in shown if name]
        assert shown[0] == "Username" and shown[-1] == "Last activity"
        assert "Agent ARN" not in shown
        assert rows(browser)[0].find_elements(By.TAG_NAME, "td")[0].text == "a"
        browser.switch_to.default_content()
        screenshot(browser, "report-view", docs=True)
        enter_plugin_frame(browser)
        browser.find_element(By.CSS_SELECTOR, "#columns summary").click()
        browser.find_element(By.CSS_SELECTOR, "[data-column-toggle=first-name]").click()
        browser.refresh()
        enter_plugin_frame(browser)
        wait(browser).until(lambda d: len(rows(d)) == 25)
        header = browser.find_element(By.CSS_SELECTOR, "#report th[data-col=first-name]")
        assert not header.is_displayed()  # remembered in this browser
        browser.find_element(By.CSS_SELECTOR, "#columns summary").click()
        browser.find_element(By.CSS_SELECTOR, "[data-column-toggle=first-name]").click()
        assert header.is_displayed()
        browser.switch_to.default_content()
    finally:
        browser.set_window_size(1600, 1100)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"{DAILY}?sort=password", "There is no column 'password' to sort by"),
        ("/timecard/reports/nope/2026-11-02", "There is no saved report 'nope'"),
    ],
)
def test_error_pages_have_the_navigation(browser, server, path, message):
    browser.get(f"{server}{path}")
    assert message in browser.find_element(By.CSS_SELECTOR, "p.error").text
    home = browser.find_element(By.CSS_SELECTOR, "header.top a.home")
    assert home.text == "Login/Logout reports"
    # Inside the normal header: the signed-in user and the Generate link stay.
    assert browser.find_element(By.ID, "user").text == "admin"
    assert browser.find_element(By.LINK_TEXT, "Generate").is_displayed()
    browser.find_element(By.ID, "back").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "reports")))


def test_save_writes_a_definition_that_becomes_a_dag(browser, server, report_home):
    from airflow.dag_processing.dagbag import DagBag

    from timecard.definitions import load_definition

    written = report_home.path / "reports" / "seoul-daily-check.yaml"
    browser.get(f"{server}/timecard/adhoc/{report_home.adhoc_id}/{REPORT_DATE}")
    browser.find_element(By.ID, "save-as").click()
    slug = browser.find_element(By.NAME, "slug")
    slug.clear()
    slug.send_keys("seoul-daily-check")
    browser.find_element(By.CSS_SELECTOR, "input[name=schedule][value=daily]").click()
    screenshot(browser, "save-as", docs=True)
    try:
        browser.find_element(By.ID, "save").click()
        saved = wait(browser).until(ec.presence_of_element_located((By.ID, "saved")))
        assert "timecard_seoul-daily-check" in saved.text
        definition = load_definition(written)  # validated: it loads as the loader loads it
        assert (definition.name, definition.routing_profiles) == ("Seoul check", ("Billing",))
        assert definition.schedule == "daily" and definition.published
        bag = DagBag(dag_folder=str(DAGS))  # the next parse of the reports folder
        assert bag.import_errors == {} and "timecard_seoul-daily-check" in bag.dags
        screenshot(browser, "saved")
    finally:
        written.unlink(missing_ok=True)


def test_a_filter_typo_and_an_unadded_picker_entry_are_caught_before_the_run(browser, server):
    browser.get(f"{server}/timecard/generate")
    # Typed, not added: the submit stops and says so; nothing is dropped.
    browser.find_element(By.ID, "pick-routing_profiles").send_keys("bil")
    browser.find_element(By.CSS_SELECTOR, "#generate button[type=submit]").click()
    message = wait(browser).until(ec.visibility_of_element_located((By.ID, "pending-error")))
    assert message.text.startswith('Routing profiles: "bil" is typed but not added.')
    assert browser.current_url.endswith("/timecard/generate")  # no run was started
    # Enter adds it as typed (a chip in the box), marked as not in the data.
    browser.find_element(By.ID, "pick-routing_profiles").send_keys(Keys.ENTER)
    assert browser.find_element(By.NAME, "routing_profiles").get_attribute("value") == "bil"
    status = browser.find_element(By.ID, "status-routing_profiles").text
    assert (
        status == '"bil" is not one of the 2 values in the data; it is checked when you generate.'
    )
    pick(browser, "agents", "agnet-06")
    browser.find_element(By.CSS_SELECTOR, "#generate button[type=submit]").click()
    problems = wait(browser).until(ec.presence_of_element_located((By.ID, "filter-problems")))
    assert "Agents: 'agnet-06' matches no value in the data; closest known values: agent-06," in (
        problems.text
    )
    assert (
        "Routing profiles: 'bil' matches no value in the data; closest known values: Billing, "
        "Sales Inbound." in problems.text
    )
    assert browser.find_element(By.NAME, "routing_profiles").get_attribute("value") == "bil"
    screenshot(browser, "filter-typo", docs=True)


def expected_yesterday(zone: str) -> str:
    from datetime import UTC, datetime

    from timecard.timerange import preset_range

    # A date/time field's value leaves out seconds that are 0.
    return preset_range("yesterday", zone, datetime.now(UTC)).local_start.strftime("%Y-%m-%dT%H:%M")


def test_readable_windows_pickers_and_every_column_at_1366_px_in_new_york(browser, server):
    browser.get(f"{server}/timecard/generate")
    zone = browser.find_element(By.NAME, "timezone")
    assert zone.get_attribute("list") == "zones"  # searchable: the browser filters as you type
    assert browser.find_element(By.NAME, "start").get_attribute("type") == "datetime-local"
    # The greyed start and end show the preset's dates, and follow the zone.
    # Kiritimati (UTC+14) and Pago Pago (UTC-11) are 25 hours apart: "yesterday" is never
    # the same date in both.
    choose_zone(browser, "Pacific/Kiritimati")
    wait(browser).until(
        lambda d: (
            d.find_element(By.NAME, "start").get_attribute("value")
            == expected_yesterday("Pacific/Kiritimati")
        )
    )
    kiritimati_start = browser.find_element(By.NAME, "start").get_attribute("value")
    choose_zone(browser, "Pacific/Pago_Pago")
    wait(browser).until(
        lambda d: d.find_element(By.NAME, "start").get_attribute("value") != kiritimati_start
    )
    start = browser.find_element(By.NAME, "start").get_attribute("value")
    end = browser.find_element(By.NAME, "end").get_attribute("value")
    assert start.endswith("T00:00") and end.endswith("T00:00") and start < end
    Select(browser.find_element(By.NAME, "preset")).select_by_value("last-24-hours")
    wait(browser).until(lambda d: d.find_element(By.NAME, "start").get_attribute("value") != start)

    generate(browser, server, "New York check", "Sales Inbound", zone="America/New_York")
    report = wait_for_report(browser)
    window = browser.find_element(By.ID, "window").text
    assert window == "2026-11-02 00:00 to 2026-11-03 00:00 (America/New_York), 1 day"
    browser.set_window_size(1366, 900)
    try:
        framed = report.replace(
            f"{server}/timecard", f"{server}/plugin/login-logout-reports/timecard"
        )
        browser.get(framed)
        enter_plugin_frame(browser)
        scroller = wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".scroll")))
        wait(browser).until(lambda d: len(rows(d)) > 0)
        assert browser.execute_script(
            "return arguments[0].scrollWidth <= arguments[0].clientWidth", scroller
        )
        shown = [th for th in browser.find_elements(By.CSS_SELECTOR, "#report th") if th.text]
        last = shown[-1]
        assert last.text.startswith("Last activity")
        assert browser.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return r.right <= document.documentElement.clientWidth;",
            last,
        )
        browser.switch_to.default_content()
        screenshot(browser, "report-view-new-york")
        enter_plugin_frame(browser)
        browser.find_element(By.LINK_TEXT, "Timeline").click()
        chart = wait(browser).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, "#logged-in-chart svg"))
        )
        # Every axis label lies inside its chart: the last one is not clipped.
        assert browser.execute_script(
            "const box = arguments[0].getBoundingClientRect();"
            "return [...arguments[0].querySelectorAll('text.axis')].every((t) => {"
            "  const r = t.getBoundingClientRect();"
            "  return r.left >= box.left - 0.5 && r.right <= box.right + 0.5; });",
            chart,
        )
        browser.switch_to.default_content()
        screenshot(browser, "timeline-new-york")
    finally:
        browser.set_window_size(1600, 1100)
    # The dates list shows each output's window and rows.
    browser.get(report.rsplit("/", 1)[0])
    [row] = browser.find_elements(By.CSS_SELECTOR, "#dates tbody tr")
    assert "2026-11-02 00:00 to 2026-11-03 00:00 (America/New_York), 1 day" in row.text
