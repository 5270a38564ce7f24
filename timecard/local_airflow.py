"""`make ui`: the Airflow UI with the Login/Logout reports, on the home `make run` uses.

Starts what the UI and the report DAGs need, each as `python -m airflow <component>` with this
venv's `bin` first on PATH (Airflow starts some children by the bare name `airflow`):

    api-server      the UI, the REST API and the execution API the tasks report to
    scheduler       runs the scheduled reports and the ad hoc runs (LocalExecutor)
    dag-processor   parses the DAG files: saved reports become DAGs
    triggerer       deferred tasks

Everything listens on 127.0.0.1 unless `--host` says otherwise. The scheduler and the triggerer
run without their log servers (which listen on every interface): with a LocalExecutor the
api-server reads the task logs from the same disk. Ctrl-C (SIGINT) or SIGTERM stops every
component and every process it started; so does any component dying on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from timecard import airflow_env
from timecard.settings import get_settings

COMPONENTS = {
    "api-server": ("api-server",),
    "scheduler": ("scheduler", "--skip-serve-logs"),
    "dag-processor": ("dag-processor",),
    "triggerer": ("triggerer", "--skip-serve-logs"),
}
# A Generate click waits for the scheduler at each step of its run (the run starting, each task
# being queued, the run ending): when there is nothing to do, the scheduler sleeps this long
# between looks (Airflow's default is 1 s). Values already in the environment win.
QUICK_SCHEDULING = {"AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5"}
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080
ADMIN = "admin"
STARTUP_SECONDS = 180
STOP_GRACE_SECONDS = 20


class Stop(Exception):
    """A signal asked the server to stop."""


@dataclass
class Component:
    name: str
    process: subprocess.Popen


def component_environment(host: str, port: int) -> dict[str, str]:
    """The environment every component shares; values already set in the environment win."""
    env = dict(os.environ)
    for key, value in airflow_env.airflow_environment(get_settings().home).items():
        env.setdefault(key, value)
    for key, value in QUICK_SCHEDULING.items():
        env.setdefault(key, value)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
    url_host = f"[{host}]" if ":" in host else host
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "::") else url_host  # noqa: S104
    env.update(
        {
            "AIRFLOW__API__HOST": host,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{connect_host}:{port}/execution/",
        }
    )
    # The scheduler signs each task's token and the api-server checks it: one secret for all,
    # set here because components starting at once would otherwise each make their own.
    env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_hex(32))
    return env


def passwords_file(env: dict[str, str]) -> Path:
    """Where the simple auth manager keeps (and first generates) its users' passwords."""
    configured = env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
    default = Path(env["AIRFLOW_HOME"], "simple_auth_manager_passwords.json.generated")
    return Path(configured) if configured else default


def everyone_is_admin(env: dict[str, str]) -> bool:
    """`[core] simple_auth_manager_all_admins`: no login at all, so no password to print."""
    return env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "").lower() == "true"


def admin_password(env: dict[str, str]) -> str | None:
    try:
        return json.loads(passwords_file(env).read_text()).get(ADMIN)
    except (FileNotFoundError, json.JSONDecodeError):
        return None  # not written yet: the api-server writes it while it starts


def is_up(env: dict[str, str]) -> bool:
    url = env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] + "health"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own URL)
            return response.status == 200
    except OSError:
        return False


class UiServer:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.components: list[Component] = []

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, args in COMPONENTS.items():
            with open(self.log_dir / f"{name}.log", "ab") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "airflow", *args],
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    # Own process group: a Ctrl-C reaches this server only, which then stops
                    # each component in order instead of all of them dying mid-write at once.
                    start_new_session=True,
                )
            self.components.append(Component(name, process))

    def dead(self) -> list[Component]:
        return [c for c in self.components if c.process.poll() is not None]

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (is_up(self.env) and (everyone_is_admin(self.env) or admin_password(self.env))):
            self.check_alive()
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"The api-server did not answer within {STARTUP_SECONDS} s; "
                    f"see {self.log_dir / 'api-server.log'}."
                )
            time.sleep(1)

    def check_alive(self) -> None:
        if dead := self.dead():
            names = ", ".join(f"{c.name} (exit {c.process.returncode})" for c in dead)
            raise SystemExit(f"{names} stopped; its log is in {self.log_dir}. Stopping the rest.")

    def stop(self) -> None:
        """SIGTERM to every component's process group, then whatever they started that is
        left (task processes start groups of their own), then SIGKILL after the grace period."""
        from timecard.dependencies import psutil

        family = []
        for component in self.components:
            with suppress(psutil.NoSuchProcess):
                leader = psutil.Process(component.process.pid)
                family += [leader, *leader.children(recursive=True)]
            if component.process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(component.process.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(family, timeout=STOP_GRACE_SECONDS)
        for process in alive:
            with suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(alive, timeout=10)
        for component in self.components:
            component.process.wait(timeout=10)


def _raise_stop(signum, _frame) -> None:
    raise Stop(signal.Signals(signum).name)


def serve(host: str, port: int) -> int:
    settings = get_settings()
    airflow_env.configure(settings.home)
    airflow_env.migrate_database()  # a fresh clone may run `make ui` before `make run`
    env = component_environment(host, port)
    server = UiServer(env, Path(env["AIRFLOW_HOME"], "logs", "ui"))
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        server.start()
        print(f"==> starting {', '.join(COMPONENTS)} (logs in {server.log_dir})", flush=True)
        server.wait_until_up()
        url_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        print(f"==> Airflow UI:  http://{url_host}:{port}/", flush=True)
        print(f"==> reports:     http://{url_host}:{port}/timecard/", flush=True)
        if everyone_is_admin(env):
            print("==> log in as:   nobody needs to (simple_auth_manager_all_admins)", flush=True)
        else:
            print(f"==> log in as:   {ADMIN} / {admin_password(env)}", flush=True)
            print(f"    (passwords in {passwords_file(env)})", flush=True)
        print("==> Ctrl-C stops everything.", flush=True)
        while True:
            server.check_alive()
            time.sleep(1)
    except Stop as stop:
        print(f"\n==> {stop}: stopping {', '.join(COMPONENTS)} ...", flush=True)
        return 0
    except SystemExit as failure:
        print(f"==> {failure}", file=sys.stderr, flush=True)
        return 1
    finally:
        # A second Ctrl-C must not interrupt the shutdown and leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.stop()
        print("==> stopped.", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make ui", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to listen on (default 127.0.0.1; 0.0.0.0 exposes the UI to the network)",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    return serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
