"""The Airflow configuration timecard runs with locally: `make run`, `timecard backfill`, tests;
and how those two run a report window in-process (`run_as_scheduled`).

`python -m timecard.airflow_env` prints it as shell `export` lines, so the `airflow` command in a
shell works on `make run`'s home: `eval "$(python -m timecard.airflow_env)"`.

Airflow reads its configuration when it is first imported, so `configure()` must run before any
`airflow` import in the process. Values already in the environment win, so a deployment (or a
test that points at PostgreSQL) can override any of them.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from timecard.settings import REPO_ROOT, get_settings

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.timetables.base import DataInterval

# How far after the window's end the in-process run is dated while it runs (see run_as_scheduled).
TEST_RUN_OFFSET = timedelta(seconds=1)
# The DAG file that declares one DAG per saved report, in the DAG folder.
REPORTS_DAG_FILE = "timecard_reports.py"


def airflow_environment(home: str | None = None) -> dict[str, str]:
    airflow_home = os.path.join(home or get_settings().home, "airflow")
    return {
        "AIRFLOW_HOME": airflow_home,
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # Two cores: keep Airflow from starting more work than the machine can carry.
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }


def configure(home: str | None = None) -> dict[str, str]:
    """Set the defaults above into os.environ (keeping values already there); return the result."""
    # Airflow's execution API imports `svcs.fastapi`, which imports `fastapi.testclient`, which
    # warns on import that httpx should be httpx2. Nothing of ours uses that client, and the
    # line would end up on every command's terminal: silence exactly this warning, nothing else.
    warnings.filterwarnings(
        "ignore",
        message=r"Using `httpx` with `starlette\.testclient` is deprecated",
        module=r"fastapi\.testclient",
    )
    # The standard provider's PythonSensor (behind @task.sensor) imports a helper Airflow 3.3
    # has moved, and warns about it on every gate run: silence exactly that one too.
    warnings.filterwarnings(
        "ignore",
        message=r"The `airflow\.utils\.operator_helpers\.determine_kwargs` attribute is deprecated",
        module=r"airflow\.providers\.standard\.sensors\.python",
    )
    for key, value in airflow_environment(home).items():
        os.environ.setdefault(key, value)
    os.makedirs(os.environ["AIRFLOW_HOME"], exist_ok=True)
    return {key: os.environ[key] for key in airflow_environment(home)}


def dags_folder() -> Path:
    """The DAG folder Airflow is configured with (`[core] dags_folder`): the checkout's `dags/`
    unless the environment or airflow.cfg says otherwise (`configure()` only sets a default)."""
    from airflow.configuration import conf

    return Path(os.path.expanduser(conf.get("core", "dags_folder")))


def reports_dag_file() -> Path:
    """The saved reports' DAG file in the configured DAG folder."""
    return dags_folder() / REPORTS_DAG_FILE


def migrate_database() -> None:
    """Create or upgrade the Airflow metadata database (idempotent)."""
    from airflow.utils.db import initdb

    initdb()


def run_as_scheduled(dag, window: DataInterval) -> DagRun:
    """Run `dag` for `window` in-process with `dag.test()`; record it as the window's scheduled run.

    dag.test() derives the data interval from the logical date as a manual run does, and first
    clears and deletes any run of that logical date. The window's end is the logical date of the
    *next* window's scheduled run (the scheduler's or `airflow backfill create`'s), so the run is
    dated just after it: the same window is inferred, and no other window's run is in the way.
    Finished, it becomes the window's scheduled run (`record_as_scheduled`), failed or not.
    """
    # dag.test() logs "No tasks to run. unrunnable tasks: build_report, ..." at warning level on
    # the pass where a mapped step has nothing to map over (every day condensed, no day of
    # several shards) and is skipped; its next pass runs them and the run completes. The line
    # would tell a `make run` user that nothing ran, so warnings of that logger are not shown.
    dag_log = logging.getLogger("airflow.sdk.definitions.dag")
    level = dag_log.level
    dag_log.setLevel(logging.ERROR)
    try:
        run = dag.test(logical_date=window.end + TEST_RUN_OFFSET)
    finally:
        dag_log.setLevel(level)
    record_as_scheduled(dag.dag_id, run.run_id, window.start)
    return run


def record_as_scheduled(dag_id: str, run_id: str, window_start: datetime) -> None:
    """Make the run `dag.test()` recorded (a manual run) the window's scheduled run.

    The dag-processor plans a DAG's next run after its latest *scheduled* (or backfill) run, and
    with catchup off the scheduler otherwise creates the latest window's run when `make ui`
    starts: the window just built would run twice. So the run takes the scheduled run's type and
    logical date (the window start; a manual run's is the run time), as if the scheduler had
    run it. A run of that window recorded earlier (an earlier `make run` or backfill, or the
    scheduler's) gives way: the window has one run. No other window's run is touched.
    """
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunType
    from sqlalchemy import delete, select

    with create_session() as session:
        # A bulk delete: its task instances go with it by the database's ON DELETE CASCADE
        # (Airflow turns foreign keys on for SQLite too), and no ORM relationship is loaded.
        session.execute(
            delete(DagRun)
            .where(
                DagRun.dag_id == dag_id,
                DagRun.logical_date == window_start,
                DagRun.run_id != run_id,
            )
            .execution_options(synchronize_session=False)
        )
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        ).one()
        run.run_type = DagRunType.SCHEDULED
        run.logical_date = window_start


def shell_exports(home: str | None = None) -> str:
    """`export NAME=value` lines for a POSIX shell: the settings above, values already in the
    environment winning as they do in `configure()`."""
    settings = {key: os.environ.get(key, value) for key, value in airflow_environment(home).items()}
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in settings.items())


if __name__ == "__main__":
    sys.stdout.write(shell_exports())
