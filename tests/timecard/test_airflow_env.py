"""The Airflow settings `make run` uses, and the shell lines that give them to `airflow`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from timecard.airflow_env import airflow_environment, shell_exports
from timecard.settings import REPO_ROOT


def _shell_env(home) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    return env | {"TIMECARD_HOME": str(home)}


def test_the_shell_lines_set_exactly_the_settings_make_run_uses(tmp_path):
    home = tmp_path / "a home with 'quotes' and spaces"
    script = f'eval "$({sys.executable} -m timecard.airflow_env)" && env'
    shown = subprocess.run(
        ["bash", "-c", script], env=_shell_env(home), capture_output=True, text=True, check=True
    ).stdout.splitlines()
    wanted = airflow_environment(str(home))
    assert wanted["AIRFLOW_HOME"] == f"{home}/airflow"
    exported = dict(line.split("=", 1) for line in shown if line.startswith("AIRFLOW"))
    assert exported == wanted


def test_values_already_in_the_environment_win(monkeypatch):
    for name in airflow_environment("/srv/timecard"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "16")
    assert "export AIRFLOW__CORE__PARALLELISM=16\n" in shell_exports("/srv/timecard")
    assert "export AIRFLOW_HOME=/srv/timecard/airflow\n" in shell_exports("/srv/timecard")


@pytest.mark.slow
def test_the_airflow_command_then_uses_make_runs_home_and_dags(tmp_path):
    """What the README's "Using the CLI" says: after the eval, `airflow` reads var/airflow."""
    script = (
        f'eval "$({sys.executable} -m timecard.airflow_env)" && '
        f"{sys.executable} -m airflow config get-value database sql_alchemy_conn && "
        f"{sys.executable} -m airflow config get-value core dags_folder"
    )
    shown = subprocess.run(
        ["bash", "-c", script],
        env=_shell_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == [
        f"sqlite:///{tmp_path}/airflow/airflow.db",
        str(REPO_ROOT / "dags"),
    ]


def test_the_dag_folder_is_read_from_airflows_configuration(tmp_path, monkeypatch):
    from timecard.airflow_env import dags_folder, reports_dag_file

    # The tests' Airflow runs on the default the environment above sets: the checkout's dags/.
    assert dags_folder() == REPO_ROOT / "dags"
    assert reports_dag_file().is_file()
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path / "deployed-dags"))
    assert dags_folder() == tmp_path / "deployed-dags"
    assert reports_dag_file() == tmp_path / "deployed-dags" / "timecard_reports.py"
