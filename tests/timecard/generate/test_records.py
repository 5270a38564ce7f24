"""timecard.generate.records: each event becomes a record in real records' key order."""

from __future__ import annotations

import re

import polars as pl

from tests.builders import STREAM_KEYS
from timecard.generate.draws import Draws
from timecard.generate.events import anchors, deliver, window_events
from timecard.generate.records import iso_ms, records, uuid4
from timecard.generate.roster import make_roster
from timecard.generate.shifts import ShiftPlan

MONDAY_MS = 1_793_577_600_000
UUID4 = re.compile("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _events(seed: int = 3) -> pl.DataFrame:
    roster, draws = make_roster(20, seed), Draws(seed)
    day = anchors(ShiftPlan(roster.agents, seed).sessions(MONDAY_MS), draws)
    return deliver(window_events(day, MONDAY_MS, MONDAY_MS + 86_400_000), MONDAY_MS, draws)


def test_records_have_the_stream_keys_in_order_and_one_row_per_event():
    events = _events()
    made = records(events, make_roster(20, 3), Draws(3))
    assert made.height == events.height
    assert made.columns == STREAM_KEYS
    assert made["EventType"].to_list() == events["event_type"].to_list()
    activity = made["EventType"].is_in(["HEART_BEAT", "STATE_CHANGE"])
    assert made.filter(~activity)["PreviousAgentSnapshot"].is_null().all()
    assert made.filter(activity)["PreviousAgentSnapshot"].is_not_null().all()


def test_a_record_is_the_same_whatever_batch_it_is_made_in():
    events = _events()
    roster, draws = make_roster(20, 3), Draws(3)
    whole = records(events, roster, draws)
    part = records(events.slice(1000, 500), roster, draws)
    assert part.equals(whole.slice(1000, 500))


def test_event_ids_are_uuid4_and_the_same_for_both_deliveries():
    events = _events()
    made = records(events, make_roster(20, 3), Draws(3)).with_columns(key=events["key"])
    assert made["EventId"].str.contains(f"^{UUID4.pattern}$").all()
    per_key = made.group_by("key").agg(pl.col("EventId").n_unique())
    assert (per_key["EventId"] == 1).all()
    assert made["EventId"].n_unique() == events["key"].n_unique()


def test_iso_ms_and_uuid4_expressions():
    frame = pl.DataFrame({"ms": [0, 1_793_577_600_123], "key": pl.Series([1, 2], dtype=pl.UInt64)})
    texts = frame.select(iso_ms(pl.col("ms")).alias("t"))["t"].to_list()
    assert texts == ["1970-01-01T00:00:00.000Z", "2026-11-02T00:00:00.123Z"]
    ids = frame.select(uuid4(pl.col("key"), Draws(0)).alias("id"))["id"].to_list()
    assert all(UUID4.fullmatch(value) for value in ids) and ids[0] != ids[1]
