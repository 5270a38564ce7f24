"""Formatting, ordering, filters and the formula guard of the report."""

from datetime import UTC, datetime

import polars as pl
import pytest

from schemas.columns import REPORT_HEADER, SESSION_COLUMNS
from transforms.filters import Filters
from transforms.report import build_report, row_limit_breakdown, to_csv_bytes


def session(username="a", login=None, logout=None, last=None, **attributes) -> dict:
    def instant(text):
        return None if text is None else datetime.fromisoformat(text).astimezone(UTC)

    return {
        "agent_arn": attributes.pop("agent_arn", f"arn:{username}"),
        "username": username,
        "first_name": attributes.pop("first_name", "First"),
        "last_name": attributes.pop("last_name", "Last"),
        "routing_profile": attributes.pop("routing_profile", "Sales"),
        **{f"hierarchy_{i}": attributes.pop(f"hierarchy_{i}", None) for i in range(1, 6)},
        "login_ts": instant(login),
        "logout_ts": instant(logout),
        "bound_ts": None,
        "last_activity_ts": instant(last),
    }


def table(*sessions) -> pl.DataFrame:
    return pl.DataFrame(list(sessions), schema=SESSION_COLUMNS)


def test_header_is_exactly_the_contract():
    report = build_report(table(session(login="2026-11-02T08:15:00Z")), "UTC", Filters())
    assert to_csv_bytes(report).decode().splitlines()[0] == ",".join(REPORT_HEADER)


def test_times_are_iso_with_offset_in_report_zone_truncated_to_seconds():
    report = build_report(
        table(session(login="2026-11-02T08:15:00.999Z", logout="2026-11-02T09:15:01.001Z")),
        "Asia/Seoul",
        Filters(),
    )
    row = report.row(0, named=True)
    assert row["Login time"] == "2026-11-02T17:15:00+09:00"
    assert row["Logout time"] == "2026-11-02T18:15:01+09:00"
    # Truncated first, then subtracted: 18:15:01 - 17:15:00.
    assert (row["Session duration"], row["Session duration (seconds)"]) == ("1:00:01", 3601)


def test_half_hour_zone():
    report = build_report(table(session(login="2026-11-02T08:00:00Z")), "Asia/Kolkata", Filters())
    assert report["Login time"].to_list() == ["2026-11-02T13:30:00+05:30"]


def test_offsets_follow_dst_within_one_report():
    report = build_report(
        table(session(login="2026-11-01T05:30:00Z", logout="2026-11-01T06:30:00Z")),
        "America/New_York",
        Filters(),
    )
    row = report.row(0, named=True)
    # 01:30 happens twice on 2026-11-01 in New York; the offsets tell them apart.
    assert (row["Login time"], row["Logout time"]) == (
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:30:00-05:00",
    )
    assert row["Session duration"] == "1:00:00"


def test_duration_hours_are_not_wrapped_and_unknowns_are_empty():
    report = build_report(
        table(
            session("a", login="2026-11-01T00:00:00Z", logout="2026-11-02T03:03:09Z"),
            session("b", login="2026-11-02T00:00:00Z", last="2026-11-02T05:00:00Z"),
        ),
        "UTC",
        Filters(),
    )
    assert report["Session duration"].to_list() == ["27:03:09", None]
    assert report["Session duration (seconds)"].to_list() == [97389, None]
    lines = to_csv_bytes(report).decode().splitlines()
    assert lines[2].split(",")[10:14] == ["", "", "", "2026-11-02T05:00:00+00:00"]


def test_row_order_username_login_unknown_first_logout_unknown_last_then_arn():
    report = build_report(
        table(
            session("b", login="2026-11-02T01:00:00Z"),
            session("a", login="2026-11-02T05:00:00Z", logout="2026-11-02T06:00:00Z"),
            session("a", login="2026-11-02T05:00:00Z"),
            session("a", logout="2026-11-02T02:00:00Z"),
            session(
                "a", login="2026-11-02T05:00:00Z", logout="2026-11-02T06:00:00Z", agent_arn="arn:0"
            ),
        ),
        "UTC",
        Filters(),
    )
    assert report.select("Username", "Login time", "Logout time", "Agent ARN").rows() == [
        ("a", None, "2026-11-02T02:00:00+00:00", "arn:a"),
        ("a", "2026-11-02T05:00:00+00:00", "2026-11-02T06:00:00+00:00", "arn:0"),
        ("a", "2026-11-02T05:00:00+00:00", "2026-11-02T06:00:00+00:00", "arn:a"),
        ("a", "2026-11-02T05:00:00+00:00", None, "arn:a"),
        ("b", "2026-11-02T01:00:00+00:00", None, "arn:b"),
    ]


def test_order_uses_instants_not_strings_across_fall_back():
    report = build_report(
        table(
            session("a", login="2026-11-01T06:15:00Z"),  # 01:15-05:00, the later instant
            session("a", login="2026-11-01T05:45:00Z"),  # 01:45-04:00, the earlier instant
        ),
        "America/New_York",
        Filters(),
    )
    assert report["Login time"].to_list() == [
        "2026-11-01T01:45:00-04:00",
        "2026-11-01T01:15:00-05:00",
    ]


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_guard_for_every_trigger(trigger):
    value = f"{trigger}SUM(A1)"
    report = build_report(
        table(
            session(
                value,
                first_name=value,
                routing_profile=value,
                hierarchy_1=value,
                login="2026-11-02T01:00:00Z",
            )
        ),
        "UTC",
        Filters(),
    )
    row = report.row(0, named=True)
    for column in ("Username", "First name", "Routing profile", "Hierarchy level 1"):
        assert row[column] == f"'{value}"


def test_csv_quotes_only_where_needed():
    report = build_report(
        table(
            session(
                'Kim, "MJ"', first_name="line\nbreak", last_name="김", login="2026-11-02T01:00:00Z"
            )
        ),
        "UTC",
        Filters(),
    )
    text = to_csv_bytes(report).decode("utf-8")
    assert '"Kim, ""MJ""","line\nbreak",김,Sales,' in text


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(agents=("a",)), ["a"]),
        (Filters(agents=("a", "c")), ["a", "c"]),
        (Filters(routing_profiles=("Support",)), ["b", "c"]),
        (Filters(agents=("a", "b"), routing_profiles=("Support",)), ["b"]),
        (Filters(hierarchies=("Americas",)), ["a", "b"]),
        (Filters(hierarchies=("Americas/Sales",)), ["a"]),
        (Filters(hierarchies=("Americas/Sales", "EMEA")), ["a", "c"]),
        (Filters(hierarchies=("Americas/Sales/Deep",)), []),
    ],
)
def test_filters_or_within_a_kind_and_across_kinds(filters, expected):
    sessions = table(
        session("a", login="2026-11-02T01:00:00Z", hierarchy_1="Americas", hierarchy_2="Sales"),
        session(
            "b", login="2026-11-02T01:00:00Z", routing_profile="Support", hierarchy_1="Americas"
        ),
        session("c", login="2026-11-02T01:00:00Z", routing_profile="Support", hierarchy_1="EMEA"),
        session("d", login="2026-11-02T01:00:00Z", hierarchy_1=None),
    )
    assert build_report(sessions, "UTC", filters)["Username"].to_list() == expected


def test_row_limit_breakdown_counts_per_profile_and_level_1():
    report = build_report(
        table(
            session("a", login="2026-11-02T01:00:00Z", hierarchy_1="EMEA"),
            session(
                "b", login="2026-11-02T01:00:00Z", routing_profile="Support", hierarchy_1="EMEA"
            ),
            session("c", login="2026-11-02T01:00:00Z", routing_profile="Support"),
        ),
        "UTC",
        Filters(),
    )
    assert row_limit_breakdown(report) == (
        "rows per routing profile: Support: 2, Sales: 1; "
        "rows per hierarchy level 1: EMEA: 2, (none): 1"
    )
