"""`timecard ddl`: the DuckDB and PostgreSQL outputs run for real on published partitions; the
other dialects are checked for their table, every column and the partition key."""

import dataclasses
from contextlib import closing

import duckdb
import polars as pl
import psycopg2
import pytest

from schemas.columns import TYPED_COLUMNS
from tests.builders import write_definition
from tests.publishing import SEOUL, publish_day, write_day_events
from timecard import storage
from timecard.cli import main
from timecard.ddl import DIALECTS
from timecard.pipeline import output_urls

DAYS = ("2026-11-02", "2026-11-03")
SEOUL_YAML = "name: Daily Seoul\ntimezone: Asia/Seoul\nprefix: team/daily\nlookback_days: 1\n"


@pytest.fixture
def published_days(timecard_home, tmp_path, monkeypatch):
    """Two published days of `daily-seoul`, plus another report in the same folder whose
    files the definitions must not pick up."""
    reports = tmp_path / "reports"
    reports.mkdir()
    monkeypatch.setenv("TIMECARD_REPORTS_DIR", str(reports))
    write_definition(reports, SEOUL.slug, SEOUL_YAML)
    for day in DAYS:
        write_day_events(timecard_home / "events", day)
        publish_day(SEOUL, day)
    publish_day(dataclasses.replace(SEOUL, slug="daily"), DAYS[0])
    return {day: storage.read_parquet(output_urls(SEOUL, day)["parquet"]) for day in DAYS}


def ddl(capsys, dialect: str) -> str:
    assert main(["ddl", SEOUL.slug, "--dialect", dialect]) == 0
    return capsys.readouterr().out


def test_the_duckdb_view_reads_every_published_day(published_days, capsys):
    sql = ddl(capsys, "duckdb")
    with duckdb.connect() as db:
        db.execute(sql)
        counts = db.sql(
            "SELECT date, count(*), sum(session_duration_seconds), count(*) FILTER "
            "(WHERE possibly_abandoned) FROM timecard_daily_seoul GROUP BY date ORDER BY date"
        ).fetchall()
        columns = [row[0] for row in db.sql("DESCRIBE timecard_daily_seoul").fetchall()]
        first_rows = db.sql(
            "SELECT username, login_time_utc FROM timecard_daily_seoul "
            f"WHERE date = DATE '{DAYS[0]}'"
        ).fetchall()
    assert columns == [*TYPED_COLUMNS, "date"]
    assert [(str(day), n, total, abandoned) for day, n, total, abandoned in counts] == [
        (day, 4, frame["session_duration_seconds"].sum(), 1)
        for day, frame in published_days.items()
    ]
    expected = published_days[DAYS[0]].select("username", "login_time_utc").rows()
    assert sorted(first_rows, key=str) == sorted(expected, key=str)


def test_the_postgres_table_takes_the_published_rows(published_days, postgres_database, capsys):
    sql = ddl(capsys, "postgres")
    db = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=postgres_database)
    # closing(): a psycopg2 connection's own `with` ends a transaction, not the connection.
    with closing(db), db, db.cursor() as cursor:
        cursor.execute(sql)
        cursor.execute(sql)  # running it twice is harmless
        for day, frame in published_days.items():
            csv = frame.with_columns(
                pl.col(pl.Datetime(time_zone="UTC")).dt.replace_time_zone(None)
            ).write_csv(include_header=False, null_value="", quote_style="non_numeric")
            cursor.execute("SET TimeZone = 'UTC'")
            cursor.copy_expert(
                f"COPY timecard_daily_seoul ({', '.join(frame.columns)}, date) FROM STDIN "
                "(FORMAT csv)",
                _with_date(csv, day),
            )
        cursor.execute(
            "SELECT date::text, count(*), sum(session_duration_seconds), "
            "min(login_time_utc) FROM timecard_daily_seoul GROUP BY date ORDER BY date"
        )
        rows = cursor.fetchall()
    assert [(day, n, total) for day, n, total, _ in rows] == [
        (day, frame.height, frame["session_duration_seconds"].sum())
        for day, frame in published_days.items()
    ]
    assert [first for *_, first in rows] == [
        frame["login_time_utc"].min() for frame in published_days.values()
    ]


def _with_date(csv: str, day: str):
    import io

    return io.StringIO("".join(f"{line},{day}\n" for line in csv.splitlines()))


@pytest.mark.parametrize("dialect", ["athena", "bigquery", "snowflake"])
def test_every_dialect_names_the_table_every_column_and_the_partition_key(
    published_days, capsys, dialect
):
    sql = ddl(capsys, dialect)
    assert "timecard_daily_seoul" in sql
    for column in TYPED_COLUMNS:
        assert f"\n  {column} " in sql, column
    folder = output_urls(SEOUL, DAYS[0])["parquet"].split("/date=")[0]
    assert folder in sql
    partition = {
        "athena": "PARTITIONED BY (`date` string)",
        "bigquery": "WITH PARTITION COLUMNS (date DATE)",
        "snowflake": "PARTITION BY (date)",
    }[dialect]
    assert partition in sql
    if dialect == "athena":
        assert "'projection.date.type' = 'date'" in sql
        assert f"'storage.location.template' = '{folder}/date=${{date}}/'" in sql


def test_an_unknown_report_is_one_paragraph(published_days, capsys):
    assert main(["ddl", "no-such-report", "--dialect", "duckdb"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("timecard: error: ") and err.count("\n") == 1
    assert set(DIALECTS) == {"athena", "bigquery", "snowflake", "duckdb", "postgres"}
