"""The Login/Logout reports pages as a person uses them: what `make ui` starts (a real
api-server with the plugin, scheduler, dag-processor and triggerer), headless Chromium (Debian's
`chromium` and `chromium-driver`, driven by Selenium), the simple auth manager's login form, and
the outputs of real DAG runs (tests/ui/conftest.py).

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

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.airflow_processes import AirflowProcesses, component_environment, free_port
from tests.ui.conftest import DAILY_ROWS, PASSWORDS, REPORT_DATE
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
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "ui"
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
    """What `make ui` starts (`timecard.ui_server`: api-server, scheduler, dag-processor and
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
            [sys.executable, "-m", "timecard.ui_server", "--port", str(port)],
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


def test_download_csv_gives_the_complete_file(browser, server, downloads):
    browser.get(f"{server}{DAILY}?rows=25")
    browser.find_element(By.ID, "download").click()
    downloaded = downloads / "Login_Logout report.csv"
    deadline = time.monotonic() + 30
    while not downloaded.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    published = output_urls(
        ReportSpec("daily-seoul", "Daily Seoul", "Asia/Seoul", prefix="team/daily"), REPORT_DATE
    )
    assert downloaded.read_bytes() == storage.read_bytes(published["csv"])
    assert len(downloaded.read_text().splitlines()) == DAILY_ROWS + 1  # not just the 25 shown


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


def generate(browser, server, name: str, routing_profile: str) -> str:
    """Fill Generate for 2026-11-02 in Seoul, submit, and return the run page's address."""
    browser.get(f"{server}/timecard/generate")
    field = browser.find_element(By.NAME, "name")
    field.clear()
    field.send_keys(name)
    Select(browser.find_element(By.NAME, "preset")).select_by_value("custom")
    browser.find_element(By.NAME, "start").send_keys("2026-11-02T00:00")
    browser.find_element(By.NAME, "end").send_keys("2026-11-03T00:00")
    Select(browser.find_element(By.NAME, "timezone")).select_by_visible_text("Asia/Seoul")
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
    pick(browser, "routing_profiles", "Billing")
    pick(browser, "routing_profiles", "Support")  # not in the data: not taken
    box = browser.find_element(By.NAME, "routing_profiles")
    assert box.get_attribute("value") == "Billing"
    assert browser.current_url.endswith("/timecard/generate")  # Enter did not submit the form
    browser.find_element(By.ID, "pick-routing_profiles").clear()
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
        screenshot(browser, "run-paused", docs=True)
    finally:
        server.set_paused("timecard_adhoc", False)
    wait_for_report(browser)  # unpaused, the same page goes on to the report


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
        shown = [name.split(" (")[0] for name in shown if name]
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
    browser.find_element(By.ID, "back").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "reports")))


def test_save_as_saved_report_offers_the_yaml_and_the_command(browser, server):
    browser.get(f"{server}/timecard/")
    browser.find_element(By.CSS_SELECTOR, "#adhoc tbody tr:last-child a").click()
    browser.find_element(By.ID, "save-as").click()
    command = browser.find_element(By.ID, "create-command").text
    assert command.startswith("timecard reports create seoul-check --name 'Seoul check' ")
    assert "name: " in browser.find_element(By.ID, "definition-yaml").text
    screenshot(browser, "save-as", docs=True)
