"""Sessions → the typed sessions dataset published next to each CSV, for warehouses.

The same rows as the CSV, in the same order (both start from `report.ordered_sessions`), with
snake_case columns and real types: instants as UTC timestamps, the same instants as the report
zone's wall-clock time (zone named in `timezone`), the duration as whole seconds, and the
"possibly abandoned" flag the UI shows. Text values are the agents' own, without the CSV's
spreadsheet formula guard: a warehouse must be able to join on them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from schemas.columns import TEXT_NAMES, TIME_NAMES, TIMESTAMP
from transforms.abandoned import activity_bound, possibly_abandoned
from transforms.filters import Filters
from transforms.report import ordered_sessions


def typed_sessions(
    sessions: pl.DataFrame,
    *,
    tz: str,
    filters: Filters,
    slug: str,
    window_start: datetime,
    window_end: datetime,
    abandoned_after: timedelta,
) -> pl.DataFrame:
    """The typed rows of one report, in the CSV's row order."""
    # The bound is the agent's next login among ALL the window's sessions, taken before the
    # filters: a session ended by a login in a routing profile the report filters out was still
    # ended by it, and must not look abandoned only because that login is not shown.
    bound = activity_bound("login_ts", "logout_ts", "agent_arn", window_start, window_end)
    bounded = sessions.with_columns(bound.dt.truncate("1s").alias("bound_ts"))
    flagged = ordered_sessions(bounded, filters).with_columns(
        possibly_abandoned(
            "login_ts", "logout_ts", "last_activity_ts", "bound_ts", abandoned_after
        ).alias("possibly_abandoned")
    )
    return flagged.select(
        *(pl.col(src).alias(dst) for src, dst in TEXT_NAMES.items()),
        *(pl.col(src).alias(f"{dst}_utc") for src, dst in TIME_NAMES.items()),
        *(
            pl.col(src).dt.convert_time_zone(tz).dt.replace_time_zone(None).alias(f"{dst}_local")
            for src, dst in TIME_NAMES.items()
        ),
        pl.lit(tz, pl.String).alias("timezone"),
        pl.col("duration_seconds").cast(pl.Int64).alias("session_duration_seconds"),
        pl.col("possibly_abandoned"),
        pl.col("agent_arn"),
        pl.lit(slug, pl.String).alias("report_slug"),
        pl.lit(window_start).cast(TIMESTAMP).alias("window_start_utc"),
    )
