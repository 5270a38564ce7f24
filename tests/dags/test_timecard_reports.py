"""The report DAGs: parsing (cheap, isolated from broken files) and real runs with dag.test()."""

import hashlib
import json

import pytest
from sqlalchemy import event as sqlalchemy_event

from tests.builders import (
    DAILY_SEOUL,
    RUN_DAY_MIDNIGHT,
    event,
    parse_dags,
    published,
    write_definition,
)
from timecard import storage


def test_one_dag_per_scheduled_report_and_nothing_for_unscheduled(reports_dir):
    write_definition(reports_dir, "daily-seoul", DAILY_SEOUL)
    write_definition(reports_dir, "weekly", "name: W\nschedule: {weekly: [mon, thu]}\n")
    write_definition(reports_dir, "adhoc-only", "name: Only by hand\n")
    bag = parse_dags()
    assert bag.import_errors == {}
    assert sorted(bag.dags) == [
        "timecard_adhoc",
        "timecard_daily-seoul",
        "timecard_late_data",
        "timecard_weekly",
    ]
    dag = bag.dags["timecard_daily-seoul"]
    assert dag.timetable.summary == "daily at 00:00 Asia/Seoul"
    assert [t.task_id for t in dag.topological_sort()] == [
        "wait_for_events",
        "plan_scheduled_window",
        "plan_shards",
        "condense_shard",
        "combine_day",
        "build_report",
        "validate_report",
        "publish_report",
    ]
    assert all(task.doc_md for task in dag.tasks)
    [outlet] = dag.get_task("publish_report").outlets
    assert (outlet.name, outlet.uri) == (
        "timecard_daily-seoul",
        "x-timecard://reports/daily-seoul",
    )


def test_broken_definition_is_an_import_error_and_spares_the_others(reports_dir):
    write_definition(reports_dir, "good", DAILY_SEOUL)
    write_definition(reports_dir, "bad", "name: Bad\ntimezone: Mars/Olympus\nschedule: daily\n")
    bag = parse_dags()
    assert "timecard_good" in bag.dags
    [(path, message)] = bag.import_errors.items()
    assert path.endswith("timecard_definition_check.py")
    assert "bad.yaml" in message and "Mars/Olympus" in message


def test_a_prefix_into_the_adhoc_namespace_is_an_import_error_and_is_not_scheduled(reports_dir):
    write_definition(reports_dir, "good", DAILY_SEOUL)
    write_definition(reports_dir, "sneaky", "name: Sneaky\nschedule: daily\nprefix: AdHoc\n")
    bag = parse_dags()
    assert "timecard_good" in bag.dags and "timecard_sneaky" not in bag.dags
    [(path, message)] = bag.import_errors.items()
    assert path.endswith("timecard_definition_check.py")
    assert "sneaky.yaml" in message and "Reports/adhoc/" in message


def test_parsing_queries_no_metadata_database(reports_dir, airflow_db):
    """As Airflow's own example-DAG tests do: count every SQL statement issued while parsing."""
    from airflow import settings

    write_definition(reports_dir, "daily-seoul", DAILY_SEOUL)
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sqlalchemy_event.listen(settings.engine, "before_cursor_execute", count)
    try:
        bag = parse_dags()
    finally:
        sqlalchemy_event.remove(settings.engine, "before_cursor_execute", count)
    assert "timecard_daily-seoul" in bag.dags
    assert statements == []


@pytest.mark.slow
def test_a_real_run_publishes_csv_then_manifest_and_reruns_identically(
    reports_dir, small_events, airflow_db
):
    write_definition(reports_dir, "daily-seoul", DAILY_SEOUL)
    dag = parse_dags().dags["timecard_daily-seoul"]
    assert dag.test(logical_date=RUN_DAY_MIDNIGHT).state == "success"

    urls = published(DAILY_SEOUL, "daily-seoul", "2026-11-02")
    assert (
        "/connect/my-instance/Reports/team/daily/date=2026-11-02/daily-seoul-2026-11-02.csv"
        in urls["csv"]
    )
    csv = storage.read_bytes(urls["csv"])
    lines = csv.decode().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["a", "b", "c"]
    assert lines[2].split(",")[9:14] == [
        "2026-11-02T10:00:00+09:00",
        "",
        "",
        "",
        "2026-11-02T12:00:00+09:00",
    ]

    manifest = json.loads(storage.read_bytes(urls["manifest"]))
    assert manifest["rows"] == 3
    assert manifest["csv"]["sha256"] == hashlib.sha256(csv).hexdigest()
    assert manifest["window"] == {
        "start_utc": "2026-11-01T15:00:00Z",
        "end_utc": "2026-11-02T15:00:00Z",
        "start_local": "2026-11-02T00:00:00+09:00",
        "end_local": "2026-11-03T00:00:00+09:00",
        "timezone": "Asia/Seoul",
    }
    assert manifest["dag_id"] == "timecard_daily-seoul" and manifest["run_id"]
    # A window whose deadline passed long before the run started is not waited for.
    assert (manifest["completeness"], manifest["revision"]) == ("elapsed", 1)
    assert set(manifest["event_cache_fingerprints"]) >= {"2026-11-01", "2026-11-02"}
    assert not storage.list_files(
        storage.join(storage.normalize(str(small_events.parent)), "output", "_staging")
    )

    assert dag.test(logical_date=RUN_DAY_MIDNIGHT).state == "success"
    assert storage.read_bytes(urls["csv"]) == csv

    # Each publish is an asset event that tells a warehouse DAG exactly what to load.
    from airflow import settings
    from airflow.models.asset import AssetEvent, AssetModel
    from sqlalchemy import select

    with settings.Session() as session:
        extras = session.scalars(
            select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == "timecard_daily-seoul")
        ).all()
    assert extras and extras[-1]["csv"] == urls["csv"]
    assert extras[-1]["manifest"] == urls["manifest"] and extras[-1]["local_date"] == "2026-11-02"


@pytest.mark.slow
def test_over_the_row_limit_nothing_is_published_and_the_earlier_file_stays(
    reports_dir, small_events, airflow_db
):
    write_definition(reports_dir, "daily-seoul", DAILY_SEOUL)
    dag = parse_dags().dags["timecard_daily-seoul"]
    assert dag.test(logical_date=RUN_DAY_MIDNIGHT).state == "success"
    urls = published(DAILY_SEOUL, "daily-seoul", "2026-11-02")
    good_csv, good_manifest = storage.read_bytes(urls["csv"]), storage.read_bytes(urls["manifest"])

    write_definition(reports_dir, "daily-seoul", DAILY_SEOUL + "max_rows: 2\n")
    dag = parse_dags().dags["timecard_daily-seoul"]
    run = dag.test(logical_date=RUN_DAY_MIDNIGHT)
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["validate_report"] == "failed"
    assert states["publish_report"] == "upstream_failed"
    assert storage.read_bytes(urls["csv"]) == good_csv
    assert storage.read_bytes(urls["manifest"]) == good_manifest


@pytest.mark.slow
def test_a_window_with_no_raw_file_fails_the_run_and_publishes_nothing(
    reports_dir, timecard_home, airflow_db
):
    # Events exist, but under a prefix no known layout matches.
    folder = timecard_home / "events" / "clientname=acme" / "rowdate=2026-11-02"
    folder.mkdir(parents=True)
    (folder / "part.json").write_text(json.dumps(event("LOGIN", "2026-11-02T01:00:00Z")) + "\n")
    write_definition(reports_dir, "daily-seoul", DAILY_SEOUL)

    run = parse_dags().dags["timecard_daily-seoul"].test(logical_date=RUN_DAY_MIDNIGHT)

    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["build_report"] == "failed"
    assert states["publish_report"] == "upstream_failed"
    assert not storage.list_files(str(timecard_home / "output" / "connect"))


@pytest.mark.slow
def test_a_manifest_counts_records_per_shape_and_warns_about_empty_days(
    reports_dir, timecard_home, airflow_db, caplog
):
    folder = timecard_home / "events" / "clientname=acme" / "rowdate=2026-11-01"
    folder.mkdir(parents=True)
    records = [event("LOGIN", "2026-11-01T16:00:00Z"), event("LOGOUT", "2026-11-01T17:00:00Z")]
    (folder / "stream-1").write_bytes(b"".join(json.dumps(r).encode() for r in records))
    body = DAILY_SEOUL + "layout: clientname=acme/rowdate={date}\n"
    write_definition(reports_dir, "daily-seoul", body)

    run = parse_dags().dags["timecard_daily-seoul"].test(logical_date=RUN_DAY_MIDNIGHT)

    assert run.state == "success"
    manifest = json.loads(
        storage.read_bytes(published(body, "daily-seoul", "2026-11-02")["manifest"])
    )
    assert manifest["rows"] == 1
    assert manifest["records_by_format"] == {"json": 2}
    assert manifest["records_by_shape"] == {"concatenated": 2}
    # The Seoul day spans two UTC days; nothing landed for the second one.
    assert manifest["empty_days"] == ["2026-11-02"]
    assert "no raw event file for UTC day 2026-11-02" in manifest["warnings"][0]
    assert "no raw event file for UTC day 2026-11-02" in caplog.text
