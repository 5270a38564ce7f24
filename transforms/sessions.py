"""Normalized events → the condensed per-day data → user sessions with their Last activity.

Sessions follow the report semantics exactly (README, "How sessions are built"):
per agent, LOGIN/LOGOUT events ordered by (time, LOGIN before LOGOUT, EventId) are walked with one
open session at a time. Each LOGIN opens a session; the next event of that agent decides how it
ends: a LOGOUT closes it, another LOGIN ends it with no logout, nothing leaves it open. A LOGOUT
that does not follow a LOGIN is a session whose login lies before the lookback.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from schemas.columns import SESSION_COLUMNS, TIMESTAMP
from transforms.normalize import KNOWN_EVENT_TYPES, SESSION_EVENT_TYPES

# Where a session's attributes come from: its LOGIN, or its LOGOUT when the login is unknown.
ATTRIBUTE_SOURCE = ["partition_day", "source_file", "source_row"]


# -- condensing one raw partition -------------------------------------------------------------


def session_events(events: pl.LazyFrame) -> pl.LazyFrame:
    """LOGIN and LOGOUT events: what sessions are built from."""
    return events.filter(pl.col("event_type").is_in(SESSION_EVENT_TYPES))


def activity(events: pl.LazyFrame) -> pl.LazyFrame:
    """When each agent did anything at all (any event type): what Last activity is built from.

    Repeated instants are harmless to a "latest instant" question, so they are not removed.
    """
    return events.select("agent_arn", "event_ts")


def partition_counts(events: pl.LazyFrame) -> pl.LazyFrame:
    """Events, extra copies of an EventId (duplicates), and records of unknown types.

    Duplicates are found on a 64-bit hash of the id, then counted exactly on the text of only
    the rows whose hash repeats: on a day of a million events, a set of every id's text took
    140 MB, the hashes a tenth of that.
    """
    repeated = pl.col("event_id").hash().is_duplicated()
    return events.select(
        pl.len().alias("events"),
        (repeated.sum() - pl.col("event_id").filter(repeated).n_unique()).alias("duplicates"),
        (~pl.col("event_type").is_in(KNOWN_EVENT_TYPES)).sum().alias("unknown_event_types"),
    )


# -- building sessions ------------------------------------------------------------------------


def deduplicate(events: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Keep one copy of each EventId: the first by (partition day, file, row), so every rerun
    keeps the same one. `events` carry the `partition_day` they were read from."""
    kept = events.sort("event_id", "partition_day", "source_file", "source_row").unique(
        subset="event_id", keep="first", maintain_order=True
    )
    return kept, events.height - kept.height


def build_sessions(
    events: pl.DataFrame,
    window_start: datetime,
    window_end: datetime,
) -> pl.DataFrame:
    """Sessions with a login or logout in `[window_start, window_end)`.

    `events` are the deduplicated LOGIN/LOGOUT events from the lookback start to the window end,
    each with the `partition_day` (raw partition) it was read from. Sessions carry the source
    of their attributes; `with_attributes` adds them.
    """
    order = ["event_ts", "logout_first_rank", "event_id"]
    ordered = events.with_columns(
        (pl.col("event_type") == "LOGOUT").cast(pl.Int8).alias("logout_first_rank")
    ).with_columns(
        *(
            pl.col(column).shift(shift).over("agent_arn", order_by=order).alias(alias)
            for column, shift, alias in (
                ("event_type", -1, "next_type"),
                ("event_ts", -1, "next_ts"),
                ("event_type", 1, "previous_type"),
            )
        )
    )
    from_logins = ordered.filter(pl.col("event_type") == "LOGIN").select(
        "agent_arn",
        *ATTRIBUTE_SOURCE,
        pl.col("event_ts").alias("login_ts"),
        pl.when(pl.col("next_type") == "LOGOUT").then(pl.col("next_ts")).alias("logout_ts"),
        pl.when(pl.col("next_type") == "LOGIN")
        .then(pl.col("next_ts"))
        .when(pl.col("next_type").is_null())
        .then(pl.lit(window_end).cast(TIMESTAMP))
        .alias("bound_ts"),
    )
    unknown_logins = ordered.filter(
        (pl.col("event_type") == "LOGOUT") & (pl.col("previous_type").fill_null("") != "LOGIN")
    ).select(
        "agent_arn",
        *ATTRIBUTE_SOURCE,
        pl.lit(None, TIMESTAMP).alias("login_ts"),
        pl.col("event_ts").alias("logout_ts"),
        pl.lit(None, TIMESTAMP).alias("bound_ts"),
    )
    start, end = pl.lit(window_start).cast(TIMESTAMP), pl.lit(window_end).cast(TIMESTAMP)
    in_window = lambda column: (pl.col(column) >= start) & (pl.col(column) < end)  # noqa: E731
    return pl.concat([from_logins, unknown_logins]).filter(
        in_window("login_ts").fill_null(False) | in_window("logout_ts").fill_null(False)
    )


def with_last_activity(
    sessions: pl.DataFrame, agent_activity: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """Add `last_activity_ts`: for a session with no logout, the latest instant in
    `[login, bound)` at which its agent did anything; null for every other session.

    `agent_activity` must cover the window (a session with no logout has its login in it); its
    agents may be text or categories. Lazy (a scan of the condensed days), it is streamed:
    what is held is a row per open session, never the activity.
    """
    activity_agents = agent_activity.collect_schema()["agent_arn"]
    open_sessions = sessions.filter(pl.col("logout_ts").is_null()).with_row_index("session")
    # Each activity row meets the open sessions of its agent (usually one), keeps the instants
    # in [login, bound) (the bound itself belongs to the next session) and folds into the
    # session's latest: a streaming join and group-by, so the activity is never held, nor its
    # agents as text; only a row per open session is.
    bounds = open_sessions.select(
        "session", pl.col("agent_arn").cast(activity_agents), "login_ts", "bound_ts"
    )
    latest = (
        agent_activity.lazy()
        .select("agent_arn", "event_ts")
        .join(bounds.lazy(), on="agent_arn", how="inner")
        .filter(
            (pl.col("event_ts") >= pl.col("login_ts")) & (pl.col("event_ts") < pl.col("bound_ts"))
        )
        .group_by("session")
        .agg(pl.col("event_ts").max().alias("last_activity_ts"))
        .collect(engine="streaming")
    )
    open_with_activity = open_sessions.join(latest, on="session", how="left").drop("session")
    closed = sessions.filter(pl.col("logout_ts").is_not_null()).with_columns(
        pl.lit(None, TIMESTAMP).alias("last_activity_ts")
    )
    return pl.concat([open_with_activity, closed])


def attribute_days(sessions: pl.DataFrame) -> list:
    """The raw partitions holding the attributes these sessions need."""
    return sorted(sessions["partition_day"].unique().to_list())


def with_attributes(sessions: pl.DataFrame, attributes: pl.DataFrame) -> pl.DataFrame:
    """The session table: each session with the attributes of its LOGIN (or LOGOUT) event."""
    return sessions.join(attributes, on=["source_file", "source_row"], how="left").select(
        list(SESSION_COLUMNS)
    )
