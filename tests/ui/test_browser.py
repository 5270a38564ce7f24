"""The Login/Logout reports pages as a person uses them: a real `airflow api-server` with the
plugin, headless Chromium (Debian's `chromium` and `chromium-driver`, driven by Selenium), the
simple auth manager's login form, and the outputs of real DAG runs (tests/ui/conftest.py).

Screenshots go to tests/artifacts/ui/ (not committed); docs/images/ holds the README's copies.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.airflow_processes import AirflowProcesses, component_environment
from tests.ui.conftest import DAILY_ROWS, PASSWORDS, REPORT_DATE
from timecard import storage
from timecard.pipeline import ReportSpec, output_urls

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
    """`airflow api-server` on a free loopback port, on a copy of this session's metadata
    database (where the DAG runs of `report_home` are) and the same timecard home; stopped
    afterwards. A copy, in a home of its own: the server writes to its database and is killed at
    the end, which must never touch the database the rest of the test session keeps using."""
    home = tmp_path_factory.mktemp("api-server-home")
    session_db = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    server_db = home / "airflow.db"
    with sqlite3.connect(session_db) as source, sqlite3.connect(server_db) as target:
        source.backup(target)
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
    processes = AirflowProcesses(env, tmp_path_factory.mktemp("api-server-logs"))
    processes.start("api-server", "api-server")
    try:
        with processes.logs_on_failure():
            processes.wait_until(processes.execution_api_is_up, "the api-server", timeout=180)
            yield f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}"
    finally:
        processes.stop()


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


def screenshot(driver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def rows(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "#report tbody tr")


def enter_plugin_frame(driver) -> None:
    frame = wait(driver).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "iframe[title='Login/Logout reports']"))
    )
    driver.switch_to.frame(frame)


def test_the_navigation_entry_shows_the_reports_inside_airflow(browser, server):
    browser.get(f"{server}/")
    entry = wait(browser).until(
        ec.element_to_be_clickable((By.XPATH, "//a[contains(., 'Login/Logout reports')]"))
    )
    entry.click()
    enter_plugin_frame(browser)
    names = wait(browser).until(
        lambda d: [
            a.text for a in d.find_elements(By.CSS_SELECTOR, "#reports tbody td:first-child")
        ]
    )
    assert names == ["Daily Seoul", "Draft billing check", "Payroll"]
    screenshot(browser, "report-list")
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
    screenshot(browser, "report-view")
    enter_plugin_frame(browser)
    browser.find_element(By.LINK_TEXT, "Timeline").click()
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#agents-chart svg")))
    browser.switch_to.default_content()
    browser.set_window_size(1600, 1750)  # both charts in one picture
    try:
        screenshot(browser, "timeline")
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


def test_generate_triggers_a_run_and_follows_it(browser, server):
    browser.get(f"{server}/timecard/generate")
    name = browser.find_element(By.NAME, "name")
    name.clear()
    name.send_keys("Billing yesterday")
    Select(browser.find_element(By.NAME, "timezone")).select_by_visible_text("Asia/Seoul")
    browser.find_element(By.NAME, "routing_profiles").send_keys("Billing")
    screenshot(browser, "generate")
    browser.find_element(By.CSS_SELECTOR, "#generate button[type=submit]").click()
    state = wait(browser).until(ec.presence_of_element_located((By.ID, "run-state")))
    # No scheduler runs in this test: the run waits in the queue, and the page keeps checking.
    assert state.text == "queued"
    assert "/timecard/runs/manual__" in browser.current_url
    screenshot(browser, "run")
