"""Generate → rendered table, through the real `make ui` stack and a real browser.

    make bench-ui      # .venv/bin/python -m bench.generate_latency
    .venv/bin/python -m bench.generate_latency --runs 5 --agents 200 --days 14

1. A fresh timecard home in a temporary folder: sample events (`timecard generate-events`, the
   same 200 agents x 14 days `make run` writes, ending today) and no saved reports, so that no
   scheduled run competes with the ad hoc ones.
2. `python -m timecard.local_airflow` (what `make ui` runs: api-server, scheduler, dag-processor,
   triggerer) on a free loopback port, on that home.
3. Headless Chromium (Debian's `chromium` and `chromium-driver`) logs in with the simple auth
   manager's form, opens Generate, keeps the defaults ("yesterday", UTC, no filter), submits,
   and waits until the report's table is on the page. The figure is the time from the click
   to the table: the trigger, the run, the run page's polling and the report page.
4. `--runs` cold runs, each on an empty condensed cache (the cache folder is removed before the
   click), then `--runs` warm runs on the cache the last cold run left. One untimed run before
   them lets every component finish starting up (the first parse, the first imports).

For each run, the metadata database tells where the time went: from the click to the run
starting (the scheduler picking it up), each task's queue wait and run time, and from the run's
end to the table (the run page noticing it, the redirect and the report page).

Results go to bench/results/generate_latency.json (median, min and max per cache state, and
every run); the markdown table on stdout is docs/performance.md's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "generate_latency.json"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1366,900",
)
STARTUP_SECONDS = 300
RUN_TIMEOUT_SECONDS = 600
TARGET_WARM_SECONDS = 10


@dataclass
class Run:
    cache: str  # "cold", "warm" or "first" (untimed start-up run)
    seconds: float
    run_id: str
    tasks: int
    to_start: float | None = None  # click → the run's start_date
    # The run's start → end; None when the page opened the report (every task done) before
    # the scheduler had marked the run itself successful.
    in_run: float | None = None
    after_run: float | None = None  # the run's end → the table on the page
    task_seconds: dict[str, float] = field(default_factory=dict)
    # Each task's queued, start and end instants, in seconds after the click.
    timeline: dict[str, list[float | None]] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_events(home: Path, agents: int, days: int) -> None:
    today = datetime.now(UTC).date()
    start = today - timedelta(days=days - 1)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "timecard.cli",
            "generate-events",
            "--out",
            str(home / "events"),
            "--agents",
            str(agents),
            "--start",
            start.isoformat(),
            "--days",
            str(days),
        ],
        check=True,
        env={**os.environ, "TIMECARD_HOME": str(home)},
        stdout=subprocess.DEVNULL,
    )


class Stack:
    """`python -m timecard.local_airflow` on a private home and a free loopback port."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (home / "reports").mkdir(parents=True, exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "TIMECARD"))},
            "TIMECARD_HOME": str(home),
            "TIMECARD_REPORTS_DIR": str(home / "reports"),
        }
        self.log = home / "local_airflow.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Stack:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "timecard.local_airflow", "--port", str(self.port)],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while "log in as" not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log.read_text()
                raise SystemExit(f"`make ui` did not start; see {self.log}:\n{log}")
            time.sleep(0.5)
        return self

    def __exit__(self, *_exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout=120)

    @property
    def password(self) -> str:
        path = self.home / "airflow" / "simple_auth_manager_passwords.json.generated"
        return json.loads(path.read_text())["admin"]

    @property
    def database(self) -> Path:
        return self.home / "airflow" / "airflow.db"

    def clear_cache(self) -> None:
        shutil.rmtree(self.home / "cache", ignore_errors=True)


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium must never fetch a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def log_in(driver, stack: Stack) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.wait import WebDriverWait

    driver.get(f"{stack.url}/auth/login")
    field = WebDriverWait(driver, 60).until(ec.presence_of_element_located((By.NAME, "username")))
    field.send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(stack.password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 60).until(lambda d: d.get_cookie("_token"))


def generate_once(driver, stack: Stack, name: str) -> tuple[datetime, float]:
    """Fill Generate with `name` and the defaults, click, wait for the table: when the click
    was, and the seconds from it to the table."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.wait import WebDriverWait

    driver.get(f"{stack.url}/timecard/generate")
    field = WebDriverWait(driver, 60).until(ec.presence_of_element_located((By.NAME, "name")))
    field.clear()
    field.send_keys(name)
    button = driver.find_element(By.CSS_SELECTOR, "#generate button[type=submit]")
    clicked_at, started = datetime.now(UTC), time.monotonic()
    button.click()
    WebDriverWait(driver, RUN_TIMEOUT_SECONDS, poll_frequency=0.05).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#report tbody tr"))
    )
    return clicked_at, time.monotonic() - started


def latest_run(database: Path, clicked_at: datetime, seconds: float, cache: str) -> Run:
    """The newest ad hoc run and where its time went, from the metadata database."""
    with sqlite3.connect(database, timeout=30) as db:
        run_id, start, end = db.execute(
            "SELECT run_id, start_date, end_date FROM dag_run WHERE dag_id = 'timecard_adhoc' "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
        tasks = db.execute(
            "SELECT task_id, map_index, start_date, end_date, queued_dttm FROM task_instance "
            "WHERE dag_id = 'timecard_adhoc' AND run_id = ?",
            (run_id,),
        ).fetchall()

    def instant(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None

    start, end = instant(start), instant(end)

    def after_click(text):
        return round((instant(text) - clicked_at).total_seconds(), 2) if text else None

    durations: dict[str, float] = {}
    timeline: dict[str, list[float | None]] = {}
    for task_id, map_index, task_start, task_end, queued in sorted(tasks, key=lambda t: t[2] or ""):
        if task_start and task_end:
            spent = (instant(task_end) - instant(task_start)).total_seconds()
            durations[task_id] = round(durations.get(task_id, 0) + spent, 2)
        name = task_id if map_index < 0 else f"{task_id}[{map_index}]"
        timeline[name] = [after_click(queued), after_click(task_start), after_click(task_end)]
    finished_at = clicked_at + timedelta(seconds=seconds)
    return Run(
        cache=cache,
        seconds=round(seconds, 2),
        run_id=run_id,
        tasks=len(tasks),
        to_start=round((start - clicked_at).total_seconds(), 2) if start else None,
        in_run=round((end - start).total_seconds(), 2) if start and end else None,
        after_run=round((finished_at - end).total_seconds(), 2) if end else None,
        task_seconds=durations,
        timeline=timeline,
    )


def measure(driver, stack: Stack, cache: str, number: int) -> Run:
    if cache in ("cold", "first"):
        stack.clear_cache()
    clicked_at, seconds = generate_once(driver, stack, f"bench {cache} {number}")
    run = latest_run(stack.database, clicked_at, seconds, cache)
    print(
        f"{cache:>5} {number}: {run.seconds:6.2f} s  (to start {run.to_start} s, run "
        f"{run.in_run} s, after {run.after_run} s; {run.tasks} task instances)",
        flush=True,
    )
    return run


def summary(runs: list[Run]) -> dict:
    seconds = [run.seconds for run in runs]
    return {
        "runs": len(seconds),
        "median_seconds": round(statistics.median(seconds), 2),
        "min_seconds": min(seconds),
        "max_seconds": max(seconds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.generate_latency", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per cache state (5)")
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        print("needs Debian's chromium and chromium-driver", file=sys.stderr)
        return 1
    home = Path(tempfile.mkdtemp(prefix="timecard-generate-latency-"))
    runs: list[Run] = []
    try:
        write_events(home, args.agents, args.days)
        with Stack(home) as stack:
            driver = browser()
            try:
                log_in(driver, stack)
                runs.append(measure(driver, stack, "first", 0))
                runs += [measure(driver, stack, "cold", n) for n in range(1, args.runs + 1)]
                runs += [measure(driver, stack, "warm", n) for n in range(1, args.runs + 1)]
            finally:
                driver.quit()
    finally:
        if args.keep:
            print(f"home kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "what": "Generate click to the rendered table, real `make ui` stack, headless Chromium",
        "workload": {"agents": args.agents, "days": args.days, "preset": "yesterday"},
        "target_warm_median_seconds": TARGET_WARM_SECONDS,
        "machine": {
            "cpus": os.cpu_count(),
            # Other work on the machine slows every step: the 1-minute load average at the end.
            "load_average_1min": round(os.getloadavg()[0], 1),
            "python": platform.python_version(),
            "airflow": version("apache-airflow"),
            "polars": version("polars"),
        },
        "warm": summary([r for r in runs if r.cache == "warm"]),
        "cold": summary([r for r in runs if r.cache == "cold"]),
        "runs": [asdict(run) for run in runs],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    return 0


def markdown(result: dict) -> str:
    lines = [
        "| Cache | Runs | Median | Min | Max | Target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for cache in ("warm", "cold"):
        s = result[cache]
        target = f"≤ {TARGET_WARM_SECONDS} s" if cache == "warm" else "as fast as condensing allows"
        lines.append(
            f"| {cache} | {s['runs']} | {s['median_seconds']:.1f} s | {s['min_seconds']:.1f} s "
            f"| {s['max_seconds']:.1f} s | {target} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
