"""Healing: a raw file that lands after a window was published changes it within one check."""

import hashlib
import json
from datetime import UTC, datetime

import pytest

from tests.builders import (
    DAILY_SEOUL,
    event,
    final_table,
    parse_dags,
    published,
    write_definition,
    write_ndjson,
)
from timecard import storage

SLUG = "daily-seoul"
# The runs at 00:00 Seoul on 2026-11-03 and 2026-11-04: the windows of 2026-11-02 and 11-03.
RUNS = {
    "2026-11-02": datetime(2026, 11, 2, 15, tzinfo=UTC),
    "2026-11-03": datetime(2026, 11, 3, 15, tzinfo=UTC),
}


def asset_events() -> list[dict]:
    from airflow import settings
    from airflow.models.asset import AssetEvent, AssetModel
    from sqlalchemy import select

    with settings.Session() as session:
        return list(
            session.scalars(
                select(AssetEvent.extra)
                .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                .where(AssetModel.name == f"timecard_{SLUG}")
                .order_by(AssetEvent.id)
            ).all()
        )


def outputs(local_date: str) -> tuple[bytes, dict]:
    urls = published(DAILY_SEOUL, SLUG, local_date)
    return storage.read_bytes(urls["csv"]), json.loads(storage.read_bytes(urls["manifest"]))


def test_the_late_data_check_is_one_hourly_task_announcing_through_an_alias(reports_dir):
    dag = parse_dags().dags["timecard_late_data"]
    assert dag.schedule == "@hourly" and dag.max_active_runs == 1
    [task] = dag.tasks
    assert task.task_id == "check_late_data" and task.doc_md
    assert [(type(outlet).__name__, outlet.name) for outlet in task.outlets] == [
        ("AssetAlias", "timecard_republished")
    ]


@pytest.mark.slow
@pytest.mark.parametrize("paused_by_default", ["True", "False"])
def test_healing_ad_hoc_and_report_dags_start_active_whatever_the_environment_default(
    tmp_path, paused_by_default
):
    """As `make run`/`make ui` (Airflow's default: paused) and compose (paused, set explicitly)
    store newly parsed DAGs: a private metadata database, the real `airflow` commands."""
    import sqlalchemy

    from tests.airflow_processes import AirflowProcesses, component_environment

    reports = tmp_path / "reports"
    reports.mkdir()
    write_definition(reports, SLUG, DAILY_SEOUL)
    env = component_environment(
        tmp_path / "home",
        {
            "TIMECARD_HOME": str(tmp_path / "home"),
            "TIMECARD_REPORTS_DIR": str(reports),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": paused_by_default,
        },
    )
    airflow = AirflowProcesses(env, tmp_path / "logs")
    airflow.run("db", "migrate")
    airflow.run("dags", "reserialize")
    engine = sqlalchemy.create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("SELECT dag_id, is_paused FROM dag"))
        paused = {dag_id: bool(value) for dag_id, value in rows}
    engine.dispose()
    assert paused == {
        "timecard_late_data": False,
        "timecard_adhoc": False,
        f"timecard_{SLUG}": False,
    }


@pytest.mark.slow
def test_a_late_file_republishes_only_its_window_once(
    reports_dir, small_events, airflow_db, monkeypatch
):
    monkeypatch.setenv("TIMECARD_LATE_DATA_HORIZON_DAYS", "400")  # the test windows are old
    write_definition(reports_dir, SLUG, DAILY_SEOUL)
    bag = parse_dags()
    report_dag, check_dag = bag.dags[f"timecard_{SLUG}"], bag.dags["timecard_late_data"]
    # The session's Airflow database may hold events of this report from earlier tests.
    earlier = len(asset_events())
    for logical_date in RUNS.values():
        assert report_dag.test(logical_date=logical_date).state == "success"
    before = {day: outputs(day) for day in RUNS}
    assert before["2026-11-02"][1]["revision"] == 1
    assert "previous_sha256" not in before["2026-11-02"][1]
    events_before = asset_events()

    # Nothing landed late: a check changes nothing published. The windows of the schedule
    # around the raw days that were never published (10-31, 11-01 and 11-04, which read UTC
    # days 11-01 and 11-02 as neighbours) are published and announced, once.
    assert check_dag.test().state == "success"
    assert {day: outputs(day) for day in RUNS} == before
    assert [e["local_date"] for e in asset_events()[len(events_before) :]] == [
        "2026-10-31",
        "2026-11-01",
        "2026-11-04",
    ]
    events_before = asset_events()
    assert check_dag.test().state == "success"
    assert asset_events() == events_before

    # Agent b's LOGOUT (15:00 in Seoul on 11-02) lands late, in the 11-02 UTC partition, which
    # both windows read (11-02 is a neighbouring partition of the 11-03 window).
    write_ndjson(
        small_events,
        "2026-11-02",
        [event("LOGOUT", "2026-11-02T06:00:00Z", "b", routing_profile="Billing")],
        name="part-late.json",
    )
    assert check_dag.test().state == "success"

    csv, manifest = outputs("2026-11-02")
    old_csv, old_manifest = before["2026-11-02"]
    assert "2026-11-02T15:00:00+09:00" in csv.decode() and csv != old_csv
    assert manifest["revision"] == 2
    assert manifest["csv"]["sha256"] == hashlib.sha256(csv).hexdigest()
    assert manifest["previous_sha256"] == old_manifest["csv"]["sha256"]
    assert manifest["completeness"] == old_manifest["completeness"] == "elapsed"
    assert (
        manifest["event_cache_fingerprints"]["2026-11-02"]
        != (old_manifest["event_cache_fingerprints"]["2026-11-02"])
    )
    # The other window read the changed day too, but its CSV did not change: only checked_at.
    same_csv, rechecked = outputs("2026-11-03")
    assert same_csv == before["2026-11-03"][0]
    assert rechecked.pop("checked_at")
    assert rechecked["revision"] == 1
    rechecked_only = ("event_cache_fingerprints", "inputs_listed_at")  # what was listed, when
    assert {key: value for key, value in rechecked.items() if key not in rechecked_only} == {
        key: value for key, value in before["2026-11-03"][1].items() if key not in rechecked_only
    }
    # Exactly one new Asset event, for the republished window, as a normal publish makes it.
    [new_event] = asset_events()[len(events_before) :]
    [first_event] = [e for e in events_before[earlier:] if e["local_date"] == "2026-11-02"]
    assert new_event == {**first_event, "rows": manifest["rows"], "revision": 2}
    assert new_event["csv"] == published(DAILY_SEOUL, SLUG, "2026-11-02")["csv"]

    # A second check finds nothing new.
    after = {day: outputs(day) for day in RUNS}
    events_after = asset_events()
    assert check_dag.test().state == "success"
    assert {day: outputs(day) for day in RUNS} == after
    assert asset_events() == events_after


@pytest.mark.slow
def test_timecard_republish_cli_heals_one_report_and_announces_it(
    reports_dir, small_events, airflow_db, capsys
):
    from timecard.cli import main

    write_definition(reports_dir, SLUG, DAILY_SEOUL)
    assert parse_dags().dags[f"timecard_{SLUG}"].test(logical_date=RUNS["2026-11-02"]).state == (
        "success"
    )
    old_csv, old_manifest = outputs("2026-11-02")
    write_ndjson(
        small_events,
        "2026-11-02",
        [event("LOGOUT", "2026-11-02T06:00:00Z", "b", routing_profile="Billing")],
        name="part-late.json",
    )
    events_before = asset_events()
    capsys.readouterr()

    assert main(["republish", SLUG, "--since", "2026-11-01"]) == 0

    stderr = capsys.readouterr().err
    assert "[####################] done" in stderr
    table = final_table(stderr)
    assert table["2026-11-02"] == {
        "status": "republished",
        "rows": "3",
        "detail": "revision 2; raw days changed: 2026-11-02",
    }
    # Every other window of the schedule since 11-01: published now if raw files lie around
    # it, else nothing to build from.
    assert {day: row["status"] for day, row in table.items() if day != "2026-11-02"} == {
        day: "published" if day in ("2026-11-01", "2026-11-03", "2026-11-04") else "no raw events"
        for day in table
        if day != "2026-11-02"
    }
    csv, manifest = outputs("2026-11-02")
    assert (manifest["revision"], manifest["previous_sha256"]) == (2, old_manifest["csv"]["sha256"])
    assert manifest["dag_id"] == "timecard republish" and csv != old_csv
    new_events = asset_events()[len(events_before) :]
    assert sorted((e["local_date"], e["revision"]) for e in new_events) == [
        ("2026-11-01", 1),
        ("2026-11-02", 2),
        ("2026-11-03", 1),
        ("2026-11-04", 1),
    ]

    assert main(["republish", SLUG, "--since", "2026-11-01"]) == 0
    assert final_table(capsys.readouterr().err)["2026-11-02"]["status"] == "unchanged"
    assert len(asset_events()) == len(events_before) + 4  # nothing more
