"""The completeness gate under a real scheduler, dag-processor and api-server (LocalExecutor).

Two saved reports run at once for their most recent window, each with its own raw landing (a
fixed `site=` folder in its layout) and a gate measured in seconds rather than minutes:

- **busy**: the last 20 minutes of the day, with a LOGOUT at 23:57, land only after the run has
  started. The run waits (its gate task is seen `up_for_reschedule`), then publishes a CSV with
  the logout; the manifest says `watermark`, and the gate did not pass before window end + settle.
- **quiet**: no event after the window end ever lands. The run passes at the deadline; the
  manifest says `deadline`.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest

from tests.airflow_processes import AirflowProcesses, MetadataDatabase, component_environment
from tests.builders import event, write_definition
from timecard import storage
from timecard.pipeline import ReportSpec, output_urls

# The scheduler needs about a minute to come up: the gates are anchored this far after the
# test starts, so both runs are waiting before their thresholds.
STARTUP_BUDGET = timedelta(seconds=150)
QUIET_EXTRA_WAIT = timedelta(seconds=60)
BUSY_EXTRA_WAIT = timedelta(seconds=240)


def latest_local_midnight(now: datetime) -> tuple[str, datetime, datetime]:
    """The zone whose latest local midnight is the most recent, and that window: a window the
    scheduler would have just started."""
    from airflow import plugins_manager

    plugins_manager.ensure_plugins_loaded()  # as the scheduler does: it provides the timetable
    from timecard.airflow_timetable import previous_window

    zones = sorted(name for name in available_timezones() if "/" in name and "Etc/" not in name)
    windows = [(previous_window(now, name), name) for name in zones]
    window, name = max(windows, key=lambda pair: pair[0].end)
    return name, window.start, window.end


def definition(site: str, zone: str, settle: timedelta, max_wait: timedelta) -> str:
    return (
        f"name: {site.capitalize()} night\ntimezone: {zone}\nschedule: daily\n"
        f"prefix: {site}\nlookback_days: 1\nlayout: 'site={site}/date={{date}}'\n"
        f"completeness:\n  settle_minutes: {settle.total_seconds() / 60:.4f}\n"
        f"  max_wait_minutes: {max_wait.total_seconds() / 60:.4f}\n"
    )


def land(events_root, site: str, name: str, records: list[dict], arrived: datetime) -> None:
    """Deliver one raw file into the arrival-day partition, whole at once, as Firehose does."""
    url = storage.join(str(events_root), f"site={site}", f"date={arrived.date().isoformat()}", name)
    storage.write_bytes(url, "".join(json.dumps(r) + "\n" for r in records).encode())


@pytest.fixture
def components(timecard_home, reports_dir, tmp_path):
    env = component_environment(
        timecard_home,
        {
            # Only the runs this test triggers.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            # Seconds, not the default minute; much shorter looks race the scheduler, which
            # could queue the next look before it has heard that the last one ended.
            "TIMECARD_GATE_POKE_SECONDS": "10",
        },
    )
    processes = AirflowProcesses(env, tmp_path / "airflow-components")
    yield processes
    processes.stop()


def gate_state(db: MetadataDatabase, dag_id: str):
    rows = db.rows(
        "SELECT state, end_date FROM task_instance "
        "WHERE dag_id = :d AND task_id = 'wait_for_events'",
        d=dag_id,
    )
    return rows[0] if rows else None


def finished_run(db: MetadataDatabase, dag_id: str) -> str | None:
    rows = db.rows("SELECT state FROM dag_run WHERE dag_id = :d", d=dag_id)
    return rows[0].state if rows and rows[0].state in ("success", "failed") else None


def as_utc(value) -> datetime:
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@pytest.mark.slow
def test_a_scheduled_run_waits_for_late_events_or_its_deadline(
    components, reports_dir, timecard_home
):
    started = datetime.now(UTC)
    zone, start, end = latest_local_midnight(started)
    local_date = start.astimezone(ZoneInfo(zone)).date().isoformat()
    anchor = started + STARTUP_BUDGET  # window end + settle, for both reports
    settle = anchor - end
    write_definition(
        reports_dir, "busy", definition("busy", zone, settle, settle + BUSY_EXTRA_WAIT)
    )
    write_definition(
        reports_dir, "quiet", definition("quiet", zone, settle, settle + QUIET_EXTRA_WAIT)
    )
    events = timecard_home / "events"
    day = end - timedelta(seconds=1)
    # What had landed when the run started: the day up to 20 minutes before its end.
    for site in ("busy", "quiet"):
        land(
            events,
            site,
            "early.json",
            [
                event("LOGIN", (end - timedelta(hours=8)).isoformat(), "kim"),
                event("HEART_BEAT", (end - timedelta(minutes=25)).isoformat(), "kim"),
                event("LOGIN", (end - timedelta(hours=10)).isoformat(), "lee"),
                event("LOGOUT", (end - timedelta(hours=9)).isoformat(), "lee"),
            ],
            arrived=day,
        )
    db = MetadataDatabase(components.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    dag_ids = ("timecard_busy", "timecard_quiet")

    with components.logs_on_failure():
        components.run("db", "migrate")
        components.start("api-server", "api-server", "--apps", "execution")
        components.start("dag-processor", "dag-processor")
        components.start("scheduler", "scheduler")
        for dag_id in dag_ids:
            components.wait_until(
                lambda dag_id=dag_id: db.rows(
                    "SELECT 1 FROM serialized_dag WHERE dag_id = :d", d=dag_id
                ),
                f"the dag-processor to serialize {dag_id}",
                timeout=120,
            )
        components.wait_until(components.execution_api_is_up, "the api-server", timeout=120)
        for dag_id in dag_ids:
            components.run("dags", "unpause", dag_id)
            components.run("dags", "trigger", dag_id)

        # Both runs wait: their gates give the worker slot back between looks.
        for dag_id in dag_ids:
            components.wait_until(
                lambda dag_id=dag_id: (gate_state(db, dag_id) or (None,))[0] == "up_for_reschedule",
                f"{dag_id}'s gate to be up_for_reschedule",
                timeout=150,
            )
        busy = ReportSpec(slug="busy", name="Busy night", timezone=zone, prefix="busy")
        urls = output_urls(busy, local_date)
        assert not storage.exists(urls["csv"])

        # The last 20 minutes of the day land late, with events up to window end + settle
        # (a little past it: the settings hold minutes to four decimals).
        stamp = anchor + timedelta(seconds=2)
        while datetime.now(UTC) < stamp:
            time.sleep(0.5)
        land(
            events,
            "busy",
            "late.json",
            [
                event("HEART_BEAT", (end - timedelta(minutes=15)).isoformat(), "kim"),
                event("LOGOUT", (end - timedelta(minutes=3)).isoformat(), "kim"),
                event("LOGIN", stamp.isoformat(), "park"),
            ],
            arrived=datetime.now(UTC),
        )

        states = {
            dag_id: components.wait_until(
                lambda dag_id=dag_id: finished_run(db, dag_id), f"{dag_id} to finish", 300
            )
            for dag_id in dag_ids
        }
        assert states == {"timecard_busy": "success", "timecard_quiet": "success"}

    manifest = json.loads(storage.read_bytes(urls["manifest"]))
    assert manifest["completeness"] == "watermark"
    assert as_utc(gate_state(db, "timecard_busy").end_date) >= anchor
    csv = storage.read_bytes(urls["csv"]).decode()
    logout = (end - timedelta(minutes=3)).astimezone(ZoneInfo(zone))
    assert logout.strftime("%H:%M") == "23:57"
    assert logout.isoformat() in csv, csv

    quiet = ReportSpec(slug="quiet", name="Quiet night", timezone=zone, prefix="quiet")
    quiet_manifest = json.loads(storage.read_bytes(output_urls(quiet, local_date)["manifest"]))
    assert quiet_manifest["completeness"] == "deadline"
    assert as_utc(gate_state(db, "timecard_quiet").end_date) >= anchor + QUIET_EXTRA_WAIT
