"""transforms/typed.py: sessions → the typed sessions rows, in the CSV's order, with the flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from schemas.columns import TYPED_COLUMNS
from tests.builders import session_table, utc
from transforms.filters import Filters
from transforms.report import build_report
from transforms.typed import typed_sessions

START, END = utc("2026-11-01T15:00:00+00:00"), utc("2026-11-02T15:00:00+00:00")


def sessions() -> pl.DataFrame:
    return session_table(
        [
            # b: no logout, last seen 20 minutes after login, then silent to the window end.
            dict(
                agent_arn="arn:b",
                username="b",
                routing_profile="Billing",
                login_ts="2026-11-01T16:00:00.700+00:00",
                last_activity_ts="2026-11-01T16:20:00+00:00",
            ),
            # =calc: a username a spreadsheet would run; closed after 2 h 30 min 5 s.
            dict(
                agent_arn="arn:c",
                username="=calc",
                routing_profile="Sales",
                hierarchy_1="Americas",
                login_ts="2026-11-01T17:00:00+00:00",
                logout_ts="2026-11-01T19:30:05.900+00:00",
            ),
            # a: no logout, active until the end: not flagged.
            dict(
                agent_arn="arn:a",
                username="a",
                routing_profile="Sales",
                login_ts="2026-11-02T10:00:00+00:00",
                last_activity_ts="2026-11-02T14:45:00+00:00",
            ),
        ]
    )


def typed(filters: Filters | None = None, threshold: timedelta = timedelta(hours=1)):
    return typed_sessions(
        sessions(),
        tz="Asia/Seoul",
        filters=filters or Filters(),
        slug="daily-seoul",
        window_start=START,
        window_end=END,
        abandoned_after=threshold,
    )


def test_the_rows_are_the_csvs_rows_in_its_order_with_typed_columns():
    rows = typed()
    assert rows.schema == pl.Schema(TYPED_COLUMNS)
    csv = build_report(sessions(), "Asia/Seoul", Filters())
    assert rows["agent_arn"].to_list() == csv["Agent ARN"].to_list() == ["arn:c", "arn:a", "arn:b"]
    # Text values are the agents' own: no formula guard, unlike the CSV's "'=calc".
    assert rows["username"].to_list() == ["=calc", "a", "b"]
    assert csv["Username"].to_list() == ["'=calc", "a", "b"]


def test_instants_are_whole_seconds_in_utc_and_on_the_zones_wall_clock():
    [c, _, b] = typed().to_dicts()
    assert c["login_time_utc"] == datetime(2026, 11, 1, 17, tzinfo=UTC)
    assert c["login_time_local"] == datetime(2026, 11, 2, 2, 0)  # Seoul is UTC+9
    assert c["logout_time_utc"] == datetime(2026, 11, 1, 19, 30, 5, tzinfo=UTC)  # truncated
    assert c["session_duration_seconds"] == 2 * 3600 + 30 * 60 + 5
    assert b["login_time_utc"] == datetime(2026, 11, 1, 16, tzinfo=UTC)
    assert b["logout_time_utc"] is None and b["session_duration_seconds"] is None
    assert b["last_activity_local"] == datetime(2026, 11, 2, 1, 20)
    assert c["hierarchy_level_1"] == "Americas" and c["routing_profile"] == "Sales"


def test_every_row_names_the_zone_slug_and_window():
    rows = typed()
    assert set(rows["timezone"]) == {"Asia/Seoul"}
    assert set(rows["report_slug"]) == {"daily-seoul"}
    assert set(rows["window_start_utc"]) == {START}


def test_possibly_abandoned_is_set_on_exactly_the_silent_session():
    # Positive control: b must be flagged; c (closed) and a (active to the end) must not.
    assert dict(zip(typed()["username"], typed()["possibly_abandoned"], strict=True)) == {
        "=calc": False,
        "a": False,
        "b": True,
    }
    # A threshold longer than b's silence (22 h 40 min) flags nothing.
    assert not typed(threshold=timedelta(hours=23))["possibly_abandoned"].any()


def test_a_filter_keeps_its_rows_with_their_flags():
    rows = typed(Filters(routing_profiles=("Billing",)))
    assert rows["username"].to_list() == ["b"]
    assert rows["possibly_abandoned"].to_list() == [True]


def test_a_session_ended_by_a_login_the_filter_hides_is_not_abandoned():
    """The bound is the agent's next login among all sessions, taken before the filters: b's
    Billing session was ended 5 minutes after its last activity by a login in Sales, which a
    Billing-only report does not show. It must not look abandoned in either report."""
    rows = session_table(
        [
            dict(
                agent_arn="arn:b",
                username="b",
                routing_profile="Billing",
                login_ts="2026-11-01T16:00:00+00:00",
                last_activity_ts="2026-11-01T16:20:00+00:00",
            ),
            dict(
                agent_arn="arn:b",
                username="b",
                routing_profile="Sales",
                login_ts="2026-11-01T16:25:00+00:00",
                logout_ts="2026-11-01T18:00:00+00:00",
            ),
        ]
    )

    def flags(filters: Filters) -> list[bool]:
        return typed_sessions(
            rows,
            tz="UTC",
            filters=filters,
            slug="s",
            window_start=START,
            window_end=END,
            abandoned_after=timedelta(hours=1),
        )["possibly_abandoned"].to_list()

    assert flags(Filters()) == [False, False]
    assert flags(Filters(routing_profiles=("Billing",))) == [False]
