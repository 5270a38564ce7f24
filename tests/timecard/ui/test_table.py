"""timecard/ui/table.py, directly: the published CSV read back for the pages, with its session
flags, sorted and paged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.columns import REPORT_HEADER
from tests.builders import session_table, utc
from timecard.errors import TimecardError, UsageError
from timecard.ui import table
from transforms.filters import Filters
from transforms.report import build_report, to_csv_bytes
from transforms.typed import typed_sessions

TZ = "America/New_York"
# 2026-11-01 in New York: daylight saving time ends at 02:00 local (06:00 UTC).
WINDOW = (utc("2026-11-01T04:00:00Z"), utc("2026-11-02T05:00:00Z"))


def sessions():
    return session_table(
        [
            # a: closed, across the DST change (01:30 EDT to 01:10 EST: 40 minutes later).
            dict(agent_arn="arn:a", username="a", routing_profile="Sales",
                 login_ts="2026-11-01T05:30:00Z", logout_ts="2026-11-01T06:10:00Z"),
            # b: no logout, silent from 09:00 UTC to the window end: possibly abandoned.
            dict(agent_arn="arn:b", username="b", routing_profile="Billing",
                 login_ts="2026-11-01T08:00:00Z", last_activity_ts="2026-11-01T09:00:00Z"),
            # c: no logout, but c logged in again 10 minutes after the last activity: not.
            dict(agent_arn="arn:c", username="c", routing_profile="Billing",
                 login_ts="2026-11-01T10:00:00Z", last_activity_ts="2026-11-01T11:00:00Z"),
            dict(agent_arn="arn:c", username="c", routing_profile="Billing",
                 login_ts="2026-11-01T11:10:00Z", logout_ts="2026-11-01T12:00:00Z"),
            # e: closed; logged in at 01:05 EST, after a's login at 01:30 EDT.
            dict(agent_arn="arn:e", username="e", routing_profile="Sales",
                 login_ts="2026-11-01T06:05:00Z", logout_ts="2026-11-01T06:20:00Z"),
            # d: no logout, active until 20 minutes before the window end: not.
            dict(agent_arn="arn:d", username="d", routing_profile="Sales",
                 login_ts="2026-11-01T12:00:00Z", last_activity_ts="2026-11-02T04:40:00Z"),
        ]
    )  # fmt: skip


def csv() -> bytes:
    return to_csv_bytes(build_report(sessions(), TZ, Filters()))


def flags(report) -> dict[tuple[str, str], tuple[bool, bool]]:
    return {
        (row["Username"], row["Login time"]): (row["_no_logout"], row["_abandoned"])
        for row in report.iter_rows(named=True)
    }


def test_the_csv_is_read_back_in_file_order_with_its_flags():
    report = table.load_report(csv(), *WINDOW)
    assert report["_row"].to_list() == list(range(6))
    assert report.columns[1:16] == list(REPORT_HEADER)
    # Positive control: b is flagged; every other session, with or without a logout, is not.
    assert list(flags(report).values()) == [
        (False, False),  # a
        (True, True),  # b
        (True, False),  # c's first session: ended by c's next login
        (False, False),  # c's second
        (True, False),  # d
        (False, False),  # e
    ]
    assert report["_seconds"].to_list() == [2400, None, None, 3000, None, 900]


def test_the_ui_and_the_typed_file_flag_the_same_sessions():
    typed = typed_sessions(
        sessions(), tz=TZ, filters=Filters(), slug="s", window_start=WINDOW[0],
        window_end=WINDOW[1], abandoned_after=table.abandoned_after(),
    )  # fmt: skip
    report = table.load_report(csv(), *WINDOW)
    assert report["_abandoned"].to_list() == typed["possibly_abandoned"].to_list()
    assert report["_abandoned"].any()


def test_the_threshold_setting_moves_the_flag(monkeypatch):
    monkeypatch.setenv("TIMECARD_ABANDONED_AFTER_MINUTES", "5")
    assert table.abandoned_after() == timedelta(minutes=5)
    report = table.load_report(csv(), *WINDOW)
    # c's first session had 10 silent minutes before its next login, d's 20 before the end.
    assert report["_abandoned"].to_list() == [False, True, True, False, True, False]
    monkeypatch.setenv("TIMECARD_ABANDONED_AFTER_MINUTES", str(24 * 60))
    assert not table.load_report(csv(), *WINDOW)["_abandoned"].any()


def test_a_csv_without_the_report_columns_is_refused():
    with pytest.raises(TimecardError, match="does not have the Login/Logout report columns"):
        table.load_report(b"Username,Login time\na,2026-11-01T01:00:00-04:00\n", *WINDOW)


def test_times_sort_as_instants_across_the_dst_change():
    report = table.load_report(csv(), *WINDOW)
    by_login = table.table_page(report, "login-time", "asc", 1, 25).rows
    # e's "01:05-05:00" sorts before a's "01:30-04:00" as text, but is 35 minutes later.
    assert by_login["Username"].to_list() == ["a", "e", "b", "c", "c", "d"]
    descending = table.table_page(report, "login-time", "desc", 1, 25).rows
    assert descending["Username"].to_list() == ["d", "c", "c", "b", "e", "a"]
    # Unknown values last in both directions.
    by_logout = table.table_page(report, "logout-time", "desc", 1, 25).rows
    assert by_logout["Username"].to_list()[:3] == ["c", "e", "a"]
    assert by_logout["Logout time"].to_list()[3:] == [None, None, None]


def test_pages_and_their_bounds():
    report = table.load_report(csv(), *WINDOW)
    many = report.vstack(report).vstack(report).vstack(report).vstack(report)  # 30 rows
    many = many.with_row_index("_r").drop("_row").rename({"_r": "_row"})
    page = table.table_page(many, None, "asc", 2, 25)
    assert (page.number, page.count, page.first_row, page.last_row) == (2, 2, 26, 30)
    # A page past the end shows the last one.
    assert table.table_page(many, None, "asc", 9, 25).number == 2
    empty = table.table_page(report.clear(), None, "asc", 1, 25)
    assert (empty.count, empty.first_row, empty.last_row) == (1, 0, 0)


@pytest.mark.parametrize(
    ("sort", "order", "number", "rows", "problem"),
    [
        (None, "asc", 1, 30, "Rows per page must be one of 25, 50, 100, 500, 1000; got 30."),
        (None, "asc", 0, 25, "Pages are numbered from 1; got page 0."),
        (None, "up", 1, 25, "The sort order is 'asc' or 'desc'; got 'up'."),
        ("password", "asc", 1, 25, "There is no column 'password' to sort by."),
    ],
)
def test_bad_table_parameters_are_refused_with_the_choices(sort, order, number, rows, problem):
    report = table.load_report(csv(), *WINDOW)
    with pytest.raises(UsageError) as refusal:
        table.table_page(report, sort, order, number, rows)
    assert str(refusal.value).startswith(problem)


def test_column_keys_and_the_columns_shown():
    assert table.column_key("Session duration (seconds)") == "session-duration-seconds"
    assert table.COLUMN_BY_KEY["hierarchy-level-1"] == "Hierarchy level 1"
    report = table.load_report(csv(), *WINDOW)
    shown = table.shown_columns(report)
    assert "Routing profile" in shown and "Hierarchy level 1" not in shown  # all empty
    assert table.shown_columns(report.clear()) == list(REPORT_HEADER)
