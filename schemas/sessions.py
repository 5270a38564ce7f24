"""Contract for the session table, before it is formatted as a report."""

import polars as pl

from schemas.columns import SESSION_COLUMNS
from schemas.pandera_polars import pa


def _login_known_or_logout_known(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        pl.col("login_ts").is_not_null() | pl.col("logout_ts").is_not_null()
    )


def _logout_not_before_login(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col("logout_ts") >= pl.col("login_ts")).fill_null(True))


def _last_activity_only_without_logout(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        pl.col("last_activity_ts").is_null() | pl.col("logout_ts").is_null()
    )


SESSIONS = pa.DataFrameSchema(
    {
        name: pa.Column(dtype, nullable=name != "agent_arn")
        for name, dtype in SESSION_COLUMNS.items()
    },
    checks=[
        pa.Check(_login_known_or_logout_known, name="login or logout known"),
        pa.Check(_logout_not_before_login, name="logout not before login"),
        pa.Check(_last_activity_only_without_logout, name="last activity only without logout"),
    ],
    strict=True,
    ordered=True,
    name="session table",
)
