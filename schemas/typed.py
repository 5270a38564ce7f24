"""Contract for the typed sessions file published next to each CSV."""

import polars as pl

from schemas.columns import TIME_NAMES, TYPED_COLUMNS
from schemas.pandera_polars import pa

_REQUIRED = ("timezone", "possibly_abandoned", "agent_arn", "report_slug", "window_start_utc")


def _one_zone(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col("timezone").n_unique() <= 1)


def _utc_and_local_agree(data: pa.PolarsData) -> pl.LazyFrame:
    """Each local column is its UTC instant on the wall clock of the report's zone."""
    zones = data.lazyframe.select(pl.col("timezone").unique()).collect().to_series().to_list()
    if len(zones) != 1:  # empty, or several zones (refused by the one-zone check)
        return data.lazyframe.select(pl.lit(True))
    local = lambda name: pl.col(name).dt.convert_time_zone(zones[0]).dt.replace_time_zone(None)  # noqa: E731
    return data.lazyframe.select(
        pl.all_horizontal(
            (local(f"{name}_utc") == pl.col(f"{name}_local")).fill_null(
                pl.col(f"{name}_utc").is_null() & pl.col(f"{name}_local").is_null()
            )
            for name in TIME_NAMES.values()
        )
    )


def _duration_is_logout_minus_login(data: pa.PolarsData) -> pl.LazyFrame:
    span = (pl.col("logout_time_utc") - pl.col("login_time_utc")).dt.total_seconds()
    return data.lazyframe.select(
        (pl.col("session_duration_seconds") == span).fill_null(
            pl.col("session_duration_seconds").is_null() & span.is_null()
        )
    )


def _abandoned_only_without_logout(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        ~pl.col("possibly_abandoned") | pl.col("logout_time_utc").is_null()
    )


TYPED_SESSIONS = pa.DataFrameSchema(
    {
        name: pa.Column(
            dtype,
            nullable=name not in _REQUIRED,
            checks=pa.Check.ge(0) if name == "session_duration_seconds" else None,
        )
        for name, dtype in TYPED_COLUMNS.items()
    },
    checks=[
        pa.Check(_one_zone, name="one report zone"),
        pa.Check(_utc_and_local_agree, name="local times are the UTC times in the zone"),
        pa.Check(_duration_is_logout_minus_login, name="duration is logout minus login"),
        pa.Check(_abandoned_only_without_logout, name="abandoned only without logout"),
    ],
    strict=True,
    ordered=True,
    name="typed sessions",
)
