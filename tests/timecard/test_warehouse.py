"""timecard/warehouse.py, directly: a published day's typed sessions loaded into a real
PostgreSQL database through an Airflow connection, replacing that day's rows on every load. The
`timecard_load_postgres` DAG driving it from Asset events is in
tests/dags/test_timecard_load_postgres.py."""

from __future__ import annotations

from contextlib import closing

import psycopg2

from tests.publishing import SEOUL, publish_day, write_day_events
from timecard.ddl import table_name
from timecard.publishing import output_urls
from timecard.warehouse import load_partition

DAYS = ("2026-11-02", "2026-11-03")


def rows_by_day(database: str) -> list[tuple]:
    query = (
        "SELECT date::text, count(*), count(*) FILTER (WHERE possibly_abandoned), "
        f"min(login_time_utc)::text FROM {table_name(SEOUL.slug)} GROUP BY date ORDER BY date"
    )
    db = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=database)
    with closing(db), db.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchall()


def test_a_day_is_loaded_and_reloading_it_replaces_its_rows(
    timecard_home, postgres_database, monkeypatch
):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TIMECARD_TEST_WAREHOUSE",
        f"postgres://postgres@127.0.0.1:5432/{postgres_database}",
    )
    for day in DAYS:
        write_day_events(timecard_home / "events", day)
        publish_day(SEOUL, day)
    parquet = {day: output_urls(SEOUL, day)["parquet"] for day in DAYS}

    # The first load creates the table.
    assert load_partition("timecard_test_warehouse", SEOUL.slug, parquet[DAYS[0]], DAYS[0]) == 4
    assert rows_by_day(postgres_database) == [
        (DAYS[0], 4, 1, "2026-11-02 00:10:00+00"),  # instants stay UTC, whatever the session zone
    ]
    # Another day is added beside it; loading a day again replaces its rows, never adds to them.
    assert load_partition("timecard_test_warehouse", SEOUL.slug, parquet[DAYS[1]], DAYS[1]) == 4
    write_day_events(timecard_home / "events", DAYS[0], late_agent="late")
    publish_day(SEOUL, DAYS[0])
    assert load_partition("timecard_test_warehouse", SEOUL.slug, parquet[DAYS[0]], DAYS[0]) == 5
    assert [(day, n, abandoned) for day, n, abandoned, _ in rows_by_day(postgres_database)] == [
        (DAYS[0], 5, 1),
        (DAYS[1], 4, 1),
    ]
