"""Real Airflow components (scheduler, dag-processor, api-server, workers) as subprocesses.

For end-to-end tests that need Airflow as it runs in production rather than `dag.test()`:
`component_environment` builds the environment every component shares, `AirflowProcesses`
runs CLI commands, starts long-running components and stops every process they started, and
`MetadataDatabase` lets a test wait on what the components record.

Each component gets its own process group. Task processes make their own groups, so `stop()`
also finds every process started with this test's `AIRFLOW_HOME` in its environment, and
checks that none is left.

Components that stand for separate machines (Celery workers, say) are started with their own
`hostname`: each then records that name on the task instances it runs, as on a real cluster.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil
import sqlalchemy

from timecard.airflow_env import airflow_environment
from timecard.settings import REPO_ROOT

AIRFLOW = (sys.executable, "-m", "airflow")
# Where a component started with `hostname=` finds the name it reports.
HOSTNAME_VARIABLE = "AIRFLOW_PROCESSES_HOSTNAME"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def component_environment(home: Path, overrides: dict[str, str]) -> dict[str, str]:
    """The environment of every component: a private Airflow home and metadata database,
    the api-server on a free loopback port, and `overrides` (timecard settings, executor, ...).
    """
    api_port = free_port()
    return {
        **os.environ,
        **airflow_environment(str(home)),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        # Task processes report their state to the api-server's execution API.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        # The scheduler signs each task's token and the api-server checks it: one shared secret,
        # set here because components starting at once would otherwise each generate their own.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        # The scheduler serves task logs on a fixed port (8793) unless told otherwise: a free one
        # lets two test runs (or a local `airflow standalone`) share the machine.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        # Enough detail in the logs that `AirflowProcesses.logs()` explains a failure.
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        **overrides,
    }


def hostname_from_environment() -> str:
    """The `[core] hostname_callable` of a component started with `hostname=`."""
    return os.environ[HOSTNAME_VARIABLE]


def host_environment(hostname: str) -> dict[str, str]:
    """What makes a component behave as if it ran on a machine of its own called `hostname`:
    it (and every task it runs) reports that name, and it serves task logs on its own port."""
    return {
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.airflow_processes.hostname_from_environment",
        HOSTNAME_VARIABLE: hostname,
        # Task processes import the callable above, so the repository must be on their path.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
    }


@dataclass
class Component:
    name: str
    process: subprocess.Popen
    log_path: Path


class AirflowProcesses:
    """The Airflow commands and components one test runs, all with the same environment."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.components: list[Component] = []
        log_dir.mkdir(parents=True, exist_ok=True)
        Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)

    def run(self, *args: str, timeout: float = 120) -> str:
        """Run one `airflow` CLI command to completion; its output, or a failure that shows it."""
        done = subprocess.run(
            [*AIRFLOW, *args],
            env=self.env,
            cwd=self.log_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"`airflow {' '.join(args)}` exited with {done.returncode}:\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def start(self, name: str, *args: str, hostname: str | None = None) -> Component:
        """Start a long-running component (`airflow scheduler`, ...) in its own process group;
        with `hostname`, as if on a machine of that name (see `host_environment`)."""
        log_path = self.log_dir / f"{name}.log"
        env = self.env if hostname is None else {**self.env, **host_environment(hostname)}
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [*AIRFLOW, *args],
                env=env,
                cwd=self.log_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        component = Component(name, process, log_path)
        self.components.append(component)
        return component

    def wait_until(self, condition: Callable[[], object], what: str, timeout: float) -> object:
        """Poll `condition` until it returns something truthy; fail early if a component died."""
        deadline = time.monotonic() + timeout
        while True:
            result = condition()
            if result:
                return result
            dead = [c for c in self.components if c.process.poll() is not None]
            if dead:
                names = ", ".join(f"{c.name} (exit {c.process.returncode})" for c in dead)
                raise AssertionError(f"Waiting for {what}, but {names} stopped.")
            if time.monotonic() > deadline:
                raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {what}.")
            time.sleep(1)

    def execution_api_is_up(self) -> bool:
        url = self.env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] + "health"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def logs(self, tail_lines: int = 150) -> str:
        """The end of each component's log, and of every task log that records an error."""
        task_logs = Path(self.env["AIRFLOW_HOME"], "logs").glob("dag_id=*/**/*.log")
        failed_tasks = [path for path in sorted(task_logs) if _records_an_error(path)]
        sections = []
        for name, path in [(c.name, c.log_path) for c in self.components] + [
            (str(path), path) for path in failed_tasks
        ]:
            lines = path.read_text(errors="replace").splitlines()[-tail_lines:]
            sections.append(f"===== {name} (last {len(lines)} lines) =====")
            sections.extend(lines)
        return "\n".join(sections)

    @contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        """Print the components' logs if the block fails (pytest shows them with the failure)."""
        try:
            yield
        except BaseException:
            print(self.logs())
            raise

    def leftover_processes(self) -> list[psutil.Process]:
        """Live processes started with this Airflow home: components, workers, task processes."""
        home = self.env["AIRFLOW_HOME"]
        found = []
        for process in psutil.process_iter():
            if process.pid == os.getpid():
                continue
            try:
                if process.status() == psutil.STATUS_ZOMBIE:
                    continue
                if process.environ().get("AIRFLOW_HOME") == home:
                    found.append(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return found

    def stop(self, grace_seconds: float = 20) -> None:
        """Stop every component (SIGTERM to its process group, so it can shut down its workers),
        kill whatever outlives the grace period, and fail if any process is still there."""
        for component in self.components:
            if component.process.poll() is None:
                # The group may already be gone, with its leader, just before the signal.
                with suppress(ProcessLookupError, psutil.NoSuchProcess):
                    os.killpg(component.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for component in self.components:
            try:
                component.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError, psutil.NoSuchProcess):
                    os.killpg(component.process.pid, signal.SIGKILL)
                component.process.wait(timeout=10)
        for process in self.leftover_processes():
            with suppress(ProcessLookupError, psutil.NoSuchProcess):
                process.kill()
        deadline = time.monotonic() + 10
        while (leftovers := self.leftover_processes()) and time.monotonic() < deadline:
            time.sleep(0.2)
        if leftovers:
            raise AssertionError(f"Airflow processes still running after stop(): {leftovers}")


def _records_an_error(log_path: Path) -> bool:
    text = log_path.read_text(errors="replace")
    return '"level":"error"' in text or " ERROR " in text


class MetadataDatabase:
    """Read-only queries on the components' metadata database (SQLite or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        # No pool: never hold a connection (or a SQLite lock) between polls.
        self.engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)

    def rows(self, sql: str, **params: object) -> list[sqlalchemy.Row]:
        with self.engine.connect() as connection:
            return list(connection.execute(sqlalchemy.text(sql), params))
