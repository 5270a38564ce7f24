"""`make run`: sample events that cover every example window and stop at now, and runs that the
scheduler of the next `make ui` does not start again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from timecard import main_job
from timecard.settings import REPO_ROOT

# Every weekday, around midnight in Seoul and in UTC, and across the DST changes of 2026.
NOWS = [
    datetime(2026, 11, 30, 0, 5, tzinfo=UTC) + timedelta(days=day, hours=hour)
    for day in range(7)
    for hour in (0, 14, 15, 16, 23)
] + [datetime(2026, 3, 8, 7, 0, tzinfo=UTC), datetime(2026, 11, 1, 6, 0, tzinfo=UTC)]


@pytest.fixture
def example_reports(tmp_path, monkeypatch, timecard_home):
    monkeypatch.setenv("TIMECARD_REPORTS_DIR", str(tmp_path / "reports"))
    main_job.ensure_example_reports(str(tmp_path / "reports"))


@pytest.mark.parametrize("now", NOWS, ids=lambda now: now.strftime("%a-%H%M"))
def test_the_sample_covers_every_example_window_and_stops_at_now(example_reports, now):
    runs = main_job.example_runs(now)
    assert {run.definition.slug for run in runs} == set(main_job.EXAMPLE_REPORTS)
    first_day, until = main_job.sample_span(runs, now)
    assert until == now
    for run in runs:
        # The window's first UTC day and the day before it (read as its arrival neighbour).
        assert first_day <= run.window.start.astimezone(UTC).date() - timedelta(days=1)
        assert run.window.end <= now
    assert first_day >= min(run.window.start for run in runs).date() - timedelta(days=1)


def _shell_env(home: Path) -> dict[str, str]:
    """What a person's shell has: none of the test session's Airflow settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env |= {"TIMECARD_HOME": str(home), "TIMECARD_REPORTS_DIR": str(home / "reports")}
    for name in ("EVENTS_ROOT", "OUTPUT_ROOT", "CACHE_ROOT"):
        env.pop(f"TIMECARD_{name}", None)
    return env


# What `make ui` does first: its dag-processor parses the DAG folder into the database, then its
# scheduler asks which DAGs need a run now. Printed as JSON for the test.
UI_STARTUP = """
import json
from timecard import airflow_env
airflow_env.configure()
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from sqlalchemy import select

manager = DagBundlesManager()
manager.sync_bundles_to_db()
for bundle in manager.get_all_dag_bundles():
    bundle.initialize()
    bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
    sync_bag_to_db(bag, bundle.name, bundle.version)
with create_session() as session:
    query, _ = DagModel.dags_needing_dagruns(session)
    needing = sorted(model.dag_id for model in query)
    runs = [
        [run.dag_id, run.run_type, run.logical_date.isoformat(),
         run.data_interval_start.isoformat(), run.data_interval_end.isoformat(), run.state]
        for run in session.scalars(select(DagRun).order_by(DagRun.dag_id))
    ]
print(json.dumps({"needing": needing, "runs": runs}))
"""


@pytest.mark.slow
def test_make_run_then_make_ui_runs_no_window_twice(tmp_path):
    home = tmp_path / "home"
    env = _shell_env(home)
    started = datetime.now(UTC)
    made = subprocess.run(
        [sys.executable, "-m", "timecard.main_job"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    finished = datetime.now(UTC)
    output = made.stdout + made.stderr
    assert made.returncode == 0, output
    assert "no raw event file" not in output  # the sample covers the weekly window too
    assert "warning" not in output.lower()

    marker = json.loads((home / "events" / main_job.SAMPLE_MARKER).read_text())
    assert started - timedelta(seconds=1) <= datetime.fromisoformat(marker["until"]) <= finished
    newest = max(path.name for path in (home / "events").glob("date=*"))
    assert newest == f"date={datetime.fromisoformat(marker['until']).date()}"  # none ahead

    windows = {
        run.definition.slug: run.window
        for run in _example_runs_at(home, datetime.fromisoformat(marker["until"]))
    }
    ui = subprocess.run(
        [sys.executable, "-c", UI_STARTUP],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ui.returncode == 0, ui.stderr
    state = json.loads(ui.stdout.splitlines()[-1])
    runs = {run[0]: run for run in state["runs"]}
    assert len(state["runs"]) == 2 and set(runs) == {f"timecard_{slug}" for slug in windows}
    for slug, window in windows.items():
        dag_id, run_type, logical, start, end, status = runs[f"timecard_{slug}"]
        assert (run_type, status) == ("scheduled", "success")
        assert datetime.fromisoformat(logical) == datetime.fromisoformat(start) == window.start
        assert datetime.fromisoformat(end) == window.end
    # The scheduler would start none of the report DAGs now: their next window is still ahead.
    assert not [dag_id for dag_id in state["needing"] if dag_id in runs], state["needing"]


def _example_runs_at(home: Path, now: datetime) -> list[main_job.ExampleRun]:
    previous = os.environ.get("TIMECARD_REPORTS_DIR")
    os.environ["TIMECARD_REPORTS_DIR"] = str(home / "reports")
    try:
        return main_job.example_runs(now)
    finally:
        if previous is None:
            del os.environ["TIMECARD_REPORTS_DIR"]
        else:
            os.environ["TIMECARD_REPORTS_DIR"] = previous
