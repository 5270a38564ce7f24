"""`make ui` as a person runs it: from the Makefile, on a fresh home, stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.airflow_processes import free_port
from timecard.settings import REPO_ROOT

pytestmark = pytest.mark.slow


def _family(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _connections(process: psutil.Process) -> list:
    """A component's sockets; a short-lived child (a task runner, a parse process) may have exited
    between the listing and this look, and then it listens on nothing."""
    try:
        return process.net_connections("inet")
    except psutil.NoSuchProcess:
        return []


def _left_behind(airflow_home: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() != psutil.STATUS_ZOMBIE and (
                process.environ().get("AIRFLOW_HOME") == airflow_home
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _request(url: str, token: str | None = None, body: dict | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=30) as reply:
        return reply.status, reply.read().decode()


def test_make_ui_serves_the_reports_on_loopback_and_stops_everything_on_ctrl_c(tmp_path):
    home = tmp_path / "home"
    port = free_port()
    # Only what a person's shell has: no Airflow settings of the test session.
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env |= {"TIMECARD_HOME": str(home), "PATH": "/usr/bin:/bin"}
    env.pop("TIMECARD_REPORTS_DIR", None)
    output = tmp_path / "make-ui.log"
    with open(output, "wb") as log:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "ui", f"UI_PORT={port}"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own terminal-like group, for the Ctrl-C below
        )
    airflow_home = str(home / "airflow")
    try:
        deadline = time.monotonic() + 240
        while "log in as" not in output.read_text():
            assert make.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(1)
        printed = output.read_text()
        assert f"http://127.0.0.1:{port}/timecard/" in printed
        password = re.search(r"log in as:\s+admin / (\S+)", printed)[1]
        generated = home / "airflow" / "simple_auth_manager_passwords.json.generated"
        assert json.loads(generated.read_text())["admin"] == password

        status, reply = _request(
            f"http://127.0.0.1:{port}/auth/token", body={"username": "admin", "password": password}
        )
        assert status == 201
        token = json.loads(reply)["access_token"]
        # The saved reports appear once the dag-processor has parsed them.
        deadline = time.monotonic() + 180
        while True:
            status, page = _request(f"http://127.0.0.1:{port}/timecard/", token)
            assert status == 200
            if "Daily login/logout (UTC)" in page:
                break
            assert time.monotonic() < deadline, page
            time.sleep(2)
        assert "Weekly Sales Inbound login/logout (Seoul)" in page

        processes = _family(psutil.Process(make.pid))
        [server] = psutil.Process(make.pid).children()
        started = " ".join(" ".join(child.cmdline()) for child in server.children())
        for component in ("api_server", "scheduler", "dag-processor", "triggerer"):
            assert component in started
        listening = {
            connection.laddr.ip
            for process in processes
            for connection in _connections(process)
            if connection.status == psutil.CONN_LISTEN
        }
        assert listening == {"127.0.0.1"}
    finally:
        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        make.wait(timeout=90)
    # make passes the Ctrl-C on to its own exit status once the server has stopped.
    assert make.returncode in (0, -signal.SIGINT), output.read_text()
    assert output.read_text().endswith("==> stopped.\n")
    assert "Warning" not in output.read_text()
    assert _left_behind(airflow_home) == []
    assert Path(home, "airflow", "airflow.db").stat().st_size > 0  # on `make run`'s database


def test_the_components_find_airflow_on_path_and_talk_over_loopback(monkeypatch, tmp_path):
    """`airflow standalone` failed with FileNotFoundError: 'airflow' unless the venv's bin was
    on PATH: the components start children by that bare name."""
    import sys

    from timecard.local_airflow import component_environment

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    env = component_environment("127.0.0.1", 18080)
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert Path(env["PATH"].split(os.pathsep)[0], "airflow").exists()
    assert (env["AIRFLOW__API__HOST"], env["AIRFLOW__API__PORT"]) == ("127.0.0.1", "18080")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    exposed = component_environment("0.0.0.0", 18080)  # on purpose: tasks still use loopback
    assert exposed["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://127.0.0.1:")
