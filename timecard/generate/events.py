"""Events, vectorized in Polars: each session's anchors (LOGIN, state changes, LOGOUT or the
moment events stop), the heartbeats between them in any window of event time, and their
deliveries, streamed in filing order one window at a time.

Columns of an event frame: agent, event_ms, event_type, status, status_start_ms,
previous_status, previous_start_ms (the status before this event and when it began), key
(unique per event); deliveries add arrival_ms and is_copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import polars as pl

from timecard.generate.draws import Draws
from timecard.generate.model import (
    AVAILABLE,
    AWAY_SHARE,
    DAY_MS,
    DUPLICATE_SHARE,
    FAST_DELAY_MS,
    FAST_DELIVERY_SHARE,
    FIRST_AWAY,
    HEARTBEAT_MS,
    MAX_DELIVERY_MS,
    OFFLINE,
    REDELIVERY_DELAY_MS,
    SLOW_DELAY_MS,
    STATUSES,
)

EVENT_COLUMNS = (
    "agent",
    "event_ms",
    "event_type",
    "status",
    "status_start_ms",
    "previous_status",
    "previous_start_ms",
    "key",
)
# Events are made one window of event time at a time, and deliveries are handed on once no
# later window can deliver before them. A window must divide a day.
WINDOW_MS = 1_800_000


def anchors(sessions: pl.DataFrame, draws: Draws) -> pl.DataFrame:
    """Every anchor of the sessions, in order, with the status it sets and the number of
    heartbeats that follow it. An anchor with a null event_type is where events stop."""
    frame = pl.concat([_bounds(sessions), _changes(sessions, draws)])
    frame = frame.sort("session_key", "event_ms", "order")
    return _with_statuses(frame, draws)


def _changes(sessions: pl.DataFrame, draws: Draws) -> pl.DataFrame:
    """The state changes: the first (to Available) follows the LOGIN; a logging-out agent goes
    Offline last."""
    login, end, ordinal = pl.col("login_ms"), pl.col("end_ms"), pl.col("k")
    change_key = pl.col("session_key") * (1 << 24) + ordinal.cast(pl.UInt64)
    is_last_change = pl.col("logs_out") & (ordinal == pl.col("changes") - 1)
    settle = draws.between(change_key, "settle", (3_000, 43_000))
    spread = draws.uniform(change_key, "change") * (end - login - 120_000)
    return (
        sessions.with_columns(k=pl.int_ranges(0, "changes"))
        .explode("k")
        .select(
            "session_key",
            "agent",
            event_ms=pl.when(ordinal == 0)
            .then(login + settle)
            .when(is_last_change)
            .then(end - settle)
            .otherwise(login + 60_000 + spread.cast(pl.Int64)),
            event_type=pl.lit("STATE_CHANGE"),
            is_last_change=is_last_change,
            order=ordinal + 1,
        )
    )


def _bounds(sessions: pl.DataFrame) -> pl.DataFrame:
    """The session's LOGIN, and its end: a LOGOUT, or (null type) the moment events stop."""
    login, end = pl.col("login_ms"), pl.col("end_ms")
    return sessions.select(
        "session_key",
        "agent",
        event_ms=pl.concat_list(login, end),
        event_type=pl.concat_list(
            pl.lit("LOGIN"), pl.when("logs_out").then(pl.lit("LOGOUT")).otherwise(pl.lit(None))
        ),
        is_last_change=pl.lit(False),
        order=pl.concat_list(pl.lit(0, pl.Int64), pl.lit(1 << 12, pl.Int64)),
    ).explode("event_ms", "event_type", "order")


def _with_statuses(frame: pl.DataFrame, draws: Draws) -> pl.DataFrame:
    session = pl.col("session_key")
    opens_session = session.ne_missing(session.shift(1))
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    position = row - pl.when(opens_session).then(row).forward_fill()
    key = session * (1 << 24) + position.cast(pl.UInt64) * (1 << 12)
    # Every second change may step away (Break, Lunch, ...); the ones between return to Available.
    away_kinds = len(STATUSES) - FIRST_AWAY
    away = FIRST_AWAY + (draws.uniform(key, "away kind") * away_kinds).cast(pl.Int64)
    status = (
        pl.when(pl.col("event_type") != "STATE_CHANGE")
        .then(OFFLINE)
        .when("is_last_change")
        .then(OFFLINE)
        .when((position % 2 == 0) & (draws.uniform(key, "away") < AWAY_SHARE))
        .then(away)
        .otherwise(AVAILABLE)
    )
    frame = frame.with_columns(key=key, status=status, opens_session=opens_session)
    changed = pl.col("opens_session") | pl.col("status").ne_missing(pl.col("status").shift(1))
    frame = frame.with_columns(status_start_ms=pl.when(changed).then("event_ms").forward_fill())
    return frame.select(
        *EVENT_COLUMNS[:5],
        previous_status=pl.when("opens_session").then(OFFLINE).otherwise(pl.col("status").shift(1)),
        previous_start_ms=pl.when("opens_session")
        .then("event_ms")
        .otherwise(pl.col("status_start_ms").shift(1)),
        key="key",
        # Heartbeats fill each gap up to the next anchor of the same session, 120 s apart.
        heartbeats=pl.when(session.shift(-1) == session)
        .then((pl.col("event_ms").shift(-1) - pl.col("event_ms") - 1) // HEARTBEAT_MS)
        .otherwise(0),
    )


def window_events(anchor_frame: pl.DataFrame, start_ms: int, end_ms: int) -> pl.DataFrame:
    """Every event that happened in [start_ms, end_ms): the anchors there and the heartbeats."""
    event_ms = pl.col("event_ms")
    kept = anchor_frame.filter(
        pl.col("event_type").is_not_null(), event_ms >= start_ms, event_ms < end_ms
    ).select(EVENT_COLUMNS)
    # Heartbeat b of an anchor at t is at t + b * 120 s, for b in 1..heartbeats.
    first_beat = pl.max_horizontal(pl.lit(1, pl.Int64), -((event_ms - start_ms) // HEARTBEAT_MS))
    last_beat = pl.min_horizontal("heartbeats", (end_ms - 1 - event_ms) // HEARTBEAT_MS)
    beats = (
        anchor_frame.filter(pl.col("heartbeats") > 0, event_ms < end_ms)
        .with_columns(first=first_beat, last=last_beat)
        .filter(pl.col("last") >= pl.col("first"))
        .with_columns(beat=pl.int_ranges("first", pl.col("last") + 1))
        .explode("beat")
        .with_columns(
            event_ms=event_ms + pl.col("beat") * HEARTBEAT_MS,
            event_type=pl.lit("HEART_BEAT"),
            # Nothing changed since the anchor: the previous snapshot shows the same status.
            previous_status=pl.col("status"),
            previous_start_ms=pl.col("status_start_ms"),
            key=pl.col("key") + pl.col("beat").cast(pl.UInt64),
        )
        .select(EVENT_COLUMNS)
    )
    return pl.concat([kept, beats])


def deliver(events: pl.DataFrame, stream_start_ms: int, draws: Draws) -> pl.DataFrame:
    """Each event's delivery, and about 0.1% delivered a second time, later."""
    key = pl.col("key")
    delay = (
        pl.when(draws.uniform(key, "fast delivery") < FAST_DELIVERY_SHARE)
        .then(draws.between(key, "fast delay", FAST_DELAY_MS))
        .otherwise(draws.between(key, "slow delay", SLOW_DELAY_MS))
    )
    first = events.with_columns(arrival_ms=pl.col("event_ms") + delay, is_copy=pl.lit(False))
    again = first.filter(draws.uniform(key, "duplicate") < DUPLICATE_SHARE).with_columns(
        arrival_ms=pl.col("arrival_ms") + draws.between(key, "redelivery", REDELIVERY_DELAY_MS),
        # Where the first delivery came before the stream's start, this one is the only one.
        is_copy=pl.col("arrival_ms") >= stream_start_ms,
    )
    return pl.concat([first, again])


def in_filing_order(deliveries: pl.DataFrame, draws: Draws) -> pl.DataFrame:
    """Arrival order, shuffled within each second; key and is_copy make the order total, so
    batches split at whole seconds and put in order one after the other give the same order."""
    return (
        deliveries.with_columns(shuffle=draws.bits(pl.col("key"), "shuffle"))
        .sort(pl.col("arrival_ms") // 1000, "shuffle", "key", "is_copy")
        .drop("shuffle")
    )


def arrivals(
    sessions_for_day: Callable[[int], pl.DataFrame],
    stream_start_ms: int,
    stream_end_ms: int,
    draws: Draws,
) -> Iterator[tuple[pl.DataFrame, int]]:
    """The deliveries arriving in [stream_start_ms, stream_end_ms), in filing order, in batches:
    each with the time before which every delivery has now been given.

    `sessions_for_day(day_start_ms)` gives (at least) every session that can deliver into that
    UTC day. Events are made one window at a time; a delivery waits until no later window can
    arrive before it (an event arrives after it happens), which holds at most a window's events
    and the few slow and second deliveries still in flight.
    """
    lookback = -(-MAX_DELIVERY_MS // WINDOW_MS) * WINDOW_MS
    pending = None
    day_start_ms, day_anchors = None, None
    for start_ms in range(stream_start_ms - lookback, stream_end_ms, WINDOW_MS):
        day = max(start_ms, stream_start_ms) // DAY_MS * DAY_MS
        if day != day_start_ms or day_anchors is None:
            day_start_ms, day_anchors = day, None  # the day before's anchors go first
            day_anchors = anchors(sessions_for_day(day), draws)
        end_ms = start_ms + WINDOW_MS
        delivered = deliver(window_events(day_anchors, start_ms, end_ms), stream_start_ms, draws)
        arrival = pl.col("arrival_ms")
        delivered = delivered.filter(arrival >= stream_start_ms, arrival < stream_end_ms)
        pending = delivered if pending is None else pl.concat([pending, delivered])
        ready = pending.filter(arrival < end_ms)
        pending = pending.filter(arrival >= end_ms)
        yield in_filing_order(ready, draws), min(end_ms, stream_end_ms)
