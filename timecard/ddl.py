"""`timecard ddl`: ready-to-run definitions of a report's published typed sessions dataset.

Every dialect describes the same thing: the report's `{slug}-YYYY-MM-DD.parquet` files below its
delivery folder, one `date=YYYY-MM-DD` partition per published day (the local date of the window
start). The column list comes from the typed file's own contract (`transforms.typed`), so a
definition cannot drift from what publish writes. PostgreSQL gets a plain table instead, the
target of the `timecard_load_postgres` DAG. Values come from a validated definition (slug and
prefix are restricted to safe characters), so they can be quoted into SQL text as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from timecard.spec import ReportSpec

DIALECTS = ("athena", "bigquery", "snowflake", "duckdb", "postgres")
PARTITION_KEY = "date"
# Column types per dialect, by kind of typed column.
_TYPES = {
    "athena": {"text": "string", "utc": "timestamp", "local": "timestamp", "int": "bigint",
               "bool": "boolean"},
    "bigquery": {"text": "STRING", "utc": "TIMESTAMP", "local": "DATETIME", "int": "INT64",
                 "bool": "BOOL"},
    "snowflake": {"text": "VARCHAR", "utc": "TIMESTAMP_TZ", "local": "TIMESTAMP_NTZ",
                  "int": "NUMBER(19,0)", "bool": "BOOLEAN"},
    "postgres": {"text": "text", "utc": "timestamptz", "local": "timestamp", "int": "bigint",
                 "bool": "boolean"},
}  # fmt: skip


def table_name(slug: str) -> str:
    """The table of a report in every dialect: `timecard_` and the slug, '-' as '_'."""
    return "timecard_" + slug.replace("-", "_")


def typed_columns() -> list[tuple[str, str]]:
    """(name, kind) of every column of the typed file, in file order."""
    import polars as pl

    from schemas.columns import TYPED_COLUMNS

    def kind(dtype) -> str:
        if dtype == pl.String:
            return "text"
        if dtype == pl.Boolean:
            return "bool"
        if dtype == pl.Int64:
            return "int"
        return "utc" if dtype.time_zone else "local"

    return [(name, kind(dtype)) for name, dtype in TYPED_COLUMNS.items()]


def _folder(spec: ReportSpec) -> str:
    # Imported here: the command line builds its parser from DIALECTS without loading storage.
    from timecard.publishing import report_folder

    return report_folder(spec)


def file_glob(spec: ReportSpec) -> str:
    """This report's Parquet files only: other reports may share the folder (same prefix), and
    the folder also holds the CSVs and manifests. The pattern matches the public copy of each
    day's committed revision, never a revision object (those start with `_`): a globbing reader
    sees exactly one whole revision of each day (`timecard.publishing`)."""
    from timecard import storage

    return storage.join(_folder(spec), "date=*", f"{spec.slug}-????-??-??.parquet")


def render(spec: ReportSpec, dialect: str) -> str:
    return {
        "athena": _athena,
        "bigquery": _bigquery,
        "snowflake": _snowflake,
        "duckdb": _duckdb,
        "postgres": _postgres,
    }[dialect](spec)


def _column_lines(dialect: str, indent: str = "  ") -> str:
    types = _TYPES[dialect]
    return ",\n".join(f"{indent}{name} {types[kind]}" for name, kind in typed_columns())


def _athena(spec: ReportSpec) -> str:
    folder = _folder(spec)
    return f"""-- Athena / AWS Glue: {spec.name}. Partition projection on `date`: new days are
-- queryable at once, with no MSCK REPAIR TABLE and no crawler.
-- Athena reads every object in a partition folder: give this report its own `prefix` and
-- `formats: [parquet]`, or Athena also meets the CSV and manifest files there.
CREATE EXTERNAL TABLE IF NOT EXISTS {table_name(spec.slug)} (
{_column_lines("athena")}
)
PARTITIONED BY (`{PARTITION_KEY}` string)
STORED AS PARQUET
LOCATION '{folder}/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.{PARTITION_KEY}.type' = 'date',
  'projection.{PARTITION_KEY}.format' = 'yyyy-MM-dd',
  'projection.{PARTITION_KEY}.range' = '2020-01-01,NOW',
  'projection.{PARTITION_KEY}.interval' = '1',
  'projection.{PARTITION_KEY}.interval.unit' = 'DAYS',
  'storage.location.template' = '{folder}/{PARTITION_KEY}=${{{PARTITION_KEY}}}/'
);
"""


def _bigquery(spec: ReportSpec) -> str:
    folder = _folder(spec)
    return f"""-- BigQuery external table: {spec.name}, hive-partitioned on `date`.
-- Replace `my_dataset`; for files in S3, add WITH CONNECTION `<region>.<aws connection>`.
CREATE OR REPLACE EXTERNAL TABLE `my_dataset.{table_name(spec.slug)}` (
{_column_lines("bigquery")}
)
WITH PARTITION COLUMNS ({PARTITION_KEY} DATE)
OPTIONS (
  format = 'PARQUET',
  uris = ['{folder}/*/{spec.slug}-*.parquet'],
  hive_partition_uri_prefix = '{folder}/',
  require_hive_partition_filter = false
);
"""


def _snowflake(spec: ReportSpec) -> str:
    folder = _folder(spec)
    types = _TYPES["snowflake"]
    columns = ",\n".join(
        f"  {name} {types[kind]} AS (value:{name}::{types[kind]})" for name, kind in typed_columns()
    )
    date_from_path = (
        f"TO_DATE(REGEXP_SUBSTR(metadata$filename, '{PARTITION_KEY}=([0-9-]+)', 1, 1, 'e'))"
    )
    day = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
    stage = f"{table_name(spec.slug)}_stage"
    return f"""-- Snowflake external table: {spec.name}, partitioned on `date` from the file path.
-- Fill in the stage's storage integration (or credentials) before running.
CREATE STAGE IF NOT EXISTS {stage}
  URL = '{folder}/'
  STORAGE_INTEGRATION = <your_storage_integration>
  FILE_FORMAT = (TYPE = PARQUET);

CREATE OR REPLACE EXTERNAL TABLE {table_name(spec.slug)} (
  {PARTITION_KEY} DATE AS {date_from_path},
{columns}
)
PARTITION BY ({PARTITION_KEY})
LOCATION = @{stage}
PATTERN = '.*{PARTITION_KEY}={day}/{spec.slug}-{day}[.]parquet'
FILE_FORMAT = (TYPE = PARQUET)
AUTO_REFRESH = FALSE;
"""


def _duckdb(spec: ReportSpec) -> str:
    setup = ""
    if _folder(spec).startswith("s3://"):
        setup = "LOAD httpfs;\nCREATE SECRET (TYPE s3, PROVIDER credential_chain);\n"
    return f"""-- DuckDB: {spec.name}, one view over every published day (`date` from the path).
{setup}CREATE OR REPLACE VIEW {table_name(spec.slug)} AS
SELECT * FROM read_parquet('{file_glob(spec)}', hive_partitioning = true);
"""  # noqa: S608


def _postgres(spec: ReportSpec) -> str:
    return (
        f"-- PostgreSQL: {spec.name}, the table the timecard_load_postgres DAG loads.\n"
        "-- Each load replaces one (report_slug, date) in one transaction.\n"
        + postgres_table(spec.slug)
    )


def postgres_table(slug: str) -> str:
    table = table_name(slug)
    return f"""CREATE TABLE IF NOT EXISTS {table} (
  {PARTITION_KEY} date NOT NULL,
{_column_lines("postgres")}
);
CREATE INDEX IF NOT EXISTS {table}_report_date ON {table} (report_slug, {PARTITION_KEY});
"""
