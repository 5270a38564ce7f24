"""timecard.generate.events: events made a window at a time are the events of whole sessions,
and the arrival stream hands each delivery on once, in filing order."""

from __future__ import annotations

import polars as pl
import pytest

from timecard.generate.draws import Draws
from timecard.generate.events import (
    EVENT_COLUMNS,
    WINDOW_MS,
    anchors,
    arrivals,
    deliver,
    in_filing_order,
    window_events,
)
from timecard.generate.model import DAY_MS, HEARTBEAT_MS, MAX_DELIVERY_MS
from timecard.generate.roster import make_roster
from timecard.generate.shifts import ShiftPlan

MONDAY_MS = 1_793_577_600_000  # 2026-11-02T00:00Z
SEED = 9


@pytest.fixture(scope="module")
def plan() -> ShiftPlan:
    return ShiftPlan(make_roster(25, SEED).agents, SEED)


@pytest.fixture(scope="module")
def day_anchors(plan) -> pl.DataFrame:
    return anchors(plan.sessions(MONDAY_MS), Draws(SEED))


def _all_events(day_anchors: pl.DataFrame) -> pl.DataFrame:
    """Every event of the sessions: one window wider than any session."""
    return window_events(day_anchors, MONDAY_MS - 3 * DAY_MS, MONDAY_MS + 3 * DAY_MS)


def test_windows_split_the_events_of_whole_sessions_without_loss_or_overlap(day_anchors):
    whole = _all_events(day_anchors)
    edges = range(MONDAY_MS - 3 * DAY_MS, MONDAY_MS + 3 * DAY_MS + 1, 7_000_001)  # odd lengths
    pieces = [window_events(day_anchors, a, b) for a, b in zip(edges, edges[1:], strict=False)]
    for (start, end), piece in zip(zip(edges, edges[1:], strict=False), pieces, strict=True):
        assert piece["event_ms"].is_between(start, end, "left").all()
    joined = pl.concat(pieces)
    assert joined.sort("key").equals(whole.filter(pl.col("event_ms") < edges[-1]).sort("key"))
    assert joined["key"].is_unique().all()


def test_heartbeats_fill_gaps_every_120_seconds(day_anchors):
    events = _all_events(day_anchors).sort("key")
    beats = events.filter(pl.col("event_type") == "HEART_BEAT")
    assert beats.height > 10 * events.filter(pl.col("event_type") == "LOGIN").height
    # A heartbeat's key is its anchor's plus its number; its time the anchor's plus 120 s each.
    anchor_of = events.filter(pl.col("event_type") != "HEART_BEAT").select(
        anchor_key="key", anchor_ms="event_ms"
    )
    joined = beats.with_columns(anchor_key=pl.col("key") // (1 << 12) * (1 << 12)).join(
        anchor_of, on="anchor_key", how="left"
    )
    beat = (pl.col("key") - pl.col("anchor_key")).cast(pl.Int64)
    assert joined.filter(
        pl.col("anchor_ms").is_not_null()
        & (pl.col("event_ms") != pl.col("anchor_ms") + beat * HEARTBEAT_MS)
    ).is_empty()
    assert list(events.columns) == list(EVENT_COLUMNS)


def test_deliveries_arrive_after_the_event_and_some_twice(day_anchors):
    delivered = deliver(_all_events(day_anchors), MONDAY_MS, Draws(SEED))
    delay = delivered["arrival_ms"] - delivered["event_ms"]
    assert delay.min() > 0 and delay.max() <= MAX_DELIVERY_MS
    copies = delivered.filter(pl.col("key").is_duplicated())
    assert copies.height > 0 and copies.height % 2 == 0


def test_the_stream_gives_every_arrival_once_in_filing_order(plan):
    draws = Draws(SEED)
    start_ms, end_ms = MONDAY_MS, MONDAY_MS + DAY_MS + 5 * 3_600_000
    batches = list(arrivals(plan.sessions, start_ms, end_ms, draws))

    given_until = start_ms
    for batch, complete_until_ms in batches:
        assert batch["arrival_ms"].is_between(given_until, complete_until_ms, "left").all()
        given_until = complete_until_ms
    assert given_until == end_ms
    stream = pl.concat([batch for batch, _ in batches])
    # The same deliveries as the whole days' events delivered at once and sorted.
    expected = pl.concat(
        [
            deliver(
                window_events(
                    anchors(plan.sessions(day), draws), day - MAX_DELIVERY_MS, day + DAY_MS
                ),
                start_ms,
                draws,
            ).filter(pl.col("arrival_ms").is_between(day, min(day + DAY_MS, end_ms), "left"))
            for day in (MONDAY_MS, MONDAY_MS + DAY_MS)
        ]
    )
    assert stream.equals(in_filing_order(expected, draws))
    assert len(batches) > DAY_MS // WINDOW_MS
