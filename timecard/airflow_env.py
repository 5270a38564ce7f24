"""The Airflow configuration timecard runs with locally: `make run`, `timecard backfill`, tests.

Airflow reads its configuration when it is first imported, so `configure()` must run before any
`airflow` import in the process. Values already in the environment win, so a deployment (or a
test that points at PostgreSQL) can override any of them.
"""

from __future__ import annotations

import os
import warnings

from timecard.settings import REPO_ROOT, get_settings


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


def migrate_database() -> None:
    """Create or upgrade the Airflow metadata database (idempotent)."""
    from airflow.utils.db import initdb

    initdb()
