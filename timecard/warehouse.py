"""Loading published typed sessions into PostgreSQL, for the `timecard_load_postgres` DAG.

One published partition (a report's day) is loaded in one transaction: create the table if it
is missing (the `timecard ddl --dialect postgres` definition), delete that report's rows for
that date, COPY the Parquet rows. A republish or a rerun therefore replaces the day's rows and
never duplicates them, and a reader sees the old day or the new one, never a mix.
"""

from __future__ import annotations

import io
import logging
from datetime import date

from timecard import ddl, storage
from timecard.errors import TimecardError
from timecard.publishing import Published

log = logging.getLogger(__name__)


def load_partition(conn_id: str, slug: str, parquet_url: str, local_date: str) -> int:
    """Replace the report's rows of `local_date` with the rows of `parquet_url`; returns them."""
    import polars as pl
    import psycopg
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    typed = storage.read_parquet(parquet_url)
    columns = ["date", *typed.columns]
    # UTC instants as naive UTC text: the transaction reads them in its own UTC time zone.
    rows = typed.with_columns(
        pl.col(pl.Datetime(time_zone="UTC")).dt.replace_time_zone(None)
    ).select(pl.lit(date.fromisoformat(local_date)).alias("date"), pl.all())
    data = io.BytesIO()
    rows.write_csv(data, include_header=False, null_value="", quote_style="non_numeric")
    table = ddl.table_name(slug)
    # The provider types get_conn() as what psycopg 2 and 3 connections share, which has no
    # transaction(); with the pinned packages (SQLAlchemy 2, and psycopg 3, which the provider
    # requires) it is a psycopg 3 connection.
    connection = PostgresHook(postgres_conn_id=conn_id).get_conn()
    if not isinstance(connection, psycopg.Connection):
        raise TimecardError(
            f"The Airflow connection {conn_id!r} opened a {type(connection).__module__} "
            "connection, and loading the warehouse needs psycopg 3, which the Postgres provider "
            "uses with SQLAlchemy 2. Install the pinned requirements.txt (SQLAlchemy 2 and the "
            "provider's psycopg) into the Airflow environment, then run the load again."
        )
    with connection, connection.transaction(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute(ddl.postgres_table(slug))
        cursor.execute(
            f"DELETE FROM {table} WHERE report_slug = %s AND date = %s",  # noqa: S608
            (slug, local_date),
        )
        copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
        with cursor.copy(copy_sql) as copy:
            copy.write(data.getvalue())
    log.info("Loaded %d rows of %s %s into %s", rows.height, slug, local_date, table)
    return rows.height


def load_asset_events(conn_id: str, triggering_events: dict, inlet_events) -> list[dict]:
    """Load the partition of every report asset event that triggered this run, in event order.

    An event that arrives while the scheduler is creating this run can lose its queue entry:
    it is then neither among this run's triggering events nor the start of a run of its own.
    So each report's events after the newest triggering one are loaded too (`inlet_events`);
    an event loaded twice, here and by its own run, just replaces the same rows again.

    Each event's `extra` (written by the publish task) names the report, the day and the
    Parquet file; a report published without Parquet (`formats: [csv]`) has nothing to load.
    """
    events = {}
    for asset, triggered in triggering_events.items():
        later = inlet_events[asset].after(max(e.timestamp for e in triggered).isoformat())
        for event in [*triggered, *later]:
            events[(event.timestamp, event.source_run_id)] = event
    loaded = []
    for event in sorted(events.values(), key=lambda event: event.timestamp):
        extra = event.extra or {}
        published = Published.from_extra(extra) if extra.get("parquet") else None
        if published is None or not published.parquet:
            log.info("Asset event %s carries no Parquet file; nothing to load", event.extra)
            continue
        slug, local_date = published.report_slug, published.local_date
        rows = load_partition(conn_id, slug, published.parquet, local_date)
        loaded.append({"report": slug, "date": local_date, "rows": rows})
    return loaded
