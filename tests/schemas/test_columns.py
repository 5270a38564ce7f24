"""schemas/columns.py: the one list of every contract's columns, and how they relate."""

from __future__ import annotations

import polars as pl

from schemas import columns
from schemas.events import NORMALIZED_EVENTS, SESSION_EVENT_ATTRIBUTES
from schemas.sessions import SESSIONS
from schemas.typed import TYPED_SESSIONS


def test_each_contract_holds_exactly_its_columns_in_order():
    assert list(NORMALIZED_EVENTS.columns) == list(columns.EVENT_COLUMNS)
    assert list(SESSION_EVENT_ATTRIBUTES.columns) == list(columns.ATTRIBUTE_COLUMNS)
    assert list(SESSIONS.columns) == list(columns.SESSION_COLUMNS)
    assert list(TYPED_SESSIONS.columns) == list(columns.TYPED_COLUMNS)


def test_instants_are_utc_microseconds_and_local_times_are_wall_clock():
    assert pl.Datetime("us", "UTC") == columns.TIMESTAMP
    assert pl.Datetime("us") == columns.WALL_CLOCK
    assert columns.EVENT_COLUMNS["event_ts"] == columns.TIMESTAMP
    for name in ("login_ts", "logout_ts", "bound_ts", "last_activity_ts"):
        assert columns.SESSION_COLUMNS[name] == columns.TIMESTAMP


def test_the_source_key_is_in_every_frame_that_points_back_at_a_record():
    for frame in (columns.EVENT_COLUMNS, columns.QUARANTINE_COLUMNS, columns.ATTRIBUTE_COLUMNS):
        assert set(columns.SOURCE_KEY) <= set(frame)
        assert frame["source_row"] == pl.Int64()


def test_the_report_header_is_the_attributes_then_times_duration_and_arn():
    assert columns.REPORT_HEADER == (
        "Username",
        "First name",
        "Last name",
        "Routing profile",
        "Hierarchy level 1",
        "Hierarchy level 2",
        "Hierarchy level 3",
        "Hierarchy level 4",
        "Hierarchy level 5",
        "Login time",
        "Logout time",
        "Session duration",
        "Session duration (seconds)",
        "Last activity",
        "Agent ARN",
    )
    assert list(columns.TEXT_COLUMNS) == list(columns.AGENT_ATTRIBUTES)
    assert set(columns.TIME_COLUMNS.values()) <= set(columns.REPORT_HEADER)


def test_typed_names_are_the_csv_header_in_snake_case():
    assert {
        "username": "username",
        "first_name": "first_name",
        "last_name": "last_name",
        "routing_profile": "routing_profile",
        **{f"hierarchy_{n}": f"hierarchy_level_{n}" for n in range(1, 6)},
    } == columns.TEXT_NAMES
    assert list(columns.TYPED_COLUMNS) == [
        *columns.TEXT_NAMES.values(),
        "login_time_utc",
        "logout_time_utc",
        "last_activity_utc",
        "login_time_local",
        "logout_time_local",
        "last_activity_local",
        "timezone",
        "session_duration_seconds",
        "possibly_abandoned",
        "agent_arn",
        "report_slug",
        "window_start_utc",
    ]
    assert all(name == name.lower() and " " not in name for name in columns.TYPED_COLUMNS)


def test_the_formula_triggers_are_the_spreadsheet_ones():
    assert set(columns.FORMULA_TRIGGERS) == {"=", "+", "-", "@", "\t", "\r"}
