"""schemas/events.py: the contracts of what condensing keeps (normalized events, attributes)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from schemas.columns import ATTRIBUTE_COLUMNS, EVENT_COLUMNS
from schemas.contract import ContractViolation, enforce
from schemas.events import NORMALIZED_EVENTS, SESSION_EVENT_ATTRIBUTES


def events(**values) -> pl.DataFrame:
    row = {
        "event_id": "e1",
        "event_type": "LOGIN",
        "event_ts": datetime(2026, 11, 2, 1, tzinfo=UTC),
        "agent_arn": "arn:a",
        "source_file": "f.json",
        "source_row": 1,
    }
    return pl.DataFrame([row | values], schema=EVENT_COLUMNS)


def attributes(*rows: dict) -> pl.DataFrame:
    base = {name: None for name in ATTRIBUTE_COLUMNS} | {"source_file": "f.json"}
    return pl.DataFrame([base | row for row in rows], schema=ATTRIBUTE_COLUMNS)


def test_normalized_events_pass():
    assert enforce(NORMALIZED_EVENTS, events(), "events").height == 1
    assert enforce(NORMALIZED_EVENTS, events(event_type="HEART_BEAT"), "events").height == 1


@pytest.mark.parametrize(
    "values",
    [
        {"event_id": ""},
        {"agent_arn": ""},
        {"event_type": "login"},  # normalize upper-cases every type
        {"event_type": "LOG IN"},
        {"source_row": 0},  # rows are numbered from 1
    ],
)
def test_events_normalize_could_not_have_made_break_the_contract(values):
    with pytest.raises(ContractViolation):
        enforce(NORMALIZED_EVENTS, events(**values), "events")


def test_extra_or_reordered_columns_break_the_contract():
    with pytest.raises(ContractViolation):
        enforce(NORMALIZED_EVENTS, events().with_columns(pl.lit(1).alias("extra")), "events")
    with pytest.raises(ContractViolation):
        enforce(NORMALIZED_EVENTS, events().select(reversed(EVENT_COLUMNS)), "events")


def test_attributes_may_be_blank_but_each_record_appears_once():
    one = {"source_row": 1, "username": "a"}
    assert enforce(SESSION_EVENT_ATTRIBUTES, attributes(one, {"source_row": 2}), "a").height == 2
    with pytest.raises(ContractViolation):
        enforce(SESSION_EVENT_ATTRIBUTES, attributes(one, one), "attributes")
    with pytest.raises(ContractViolation):
        enforce(SESSION_EVENT_ATTRIBUTES, attributes({"source_row": None}), "attributes")
