"""Example downstream DAG: load every newly published report day into PostgreSQL.

Scheduled on the report Assets (`timecard_<slug>`): a publish of any scheduled report triggers
a run, which loads the partitions named by the triggering asset events. Each partition is
replaced in one transaction (delete that report's rows for that date, then COPY the typed
Parquet rows), so a republish or a rerun never duplicates rows. The steps live in
`timecard.warehouse`.

Off unless `TIMECARD_POSTGRES_CONN_ID` names an Airflow connection: without it this file
defines no DAG.
"""

from datetime import datetime

from airflow.sdk import DAG, AssetAny, task

from timecard.dag_tasks import report_asset
from timecard.definitions import load_all
from timecard.settings import get_settings

settings = get_settings()
definitions, _broken = load_all(settings.reports_dir)
assets = [report_asset(d.slug) for d in definitions if d.is_scheduled and "parquet" in d.formats]

if settings.postgres_conn_id and assets:
    with DAG(
        dag_id="timecard_load_postgres",
        description="Example: load each published report day into PostgreSQL",
        schedule=AssetAny(*assets),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,  # loads of one day in publish order
        tags=["timecard", "warehouse", "example"],
        doc_md=__doc__,
    ) as dag:

        @task(
            inlets=assets,  # to read each report's events after the triggering ones
            retries=2,
            doc_md="""**Load the published days** named by the asset events that triggered
            this run: per report and date, one transaction deletes the old rows and COPYs the
            typed Parquet rows into `timecard_<slug>` (created on first use).""",
        )
        def load_published_days(triggering_asset_events=None, inlet_events=None) -> list[dict]:
            from timecard.warehouse import load_asset_events

            conn_id = get_settings().postgres_conn_id
            return load_asset_events(conn_id, triggering_asset_events, inlet_events)

        load_published_days()
