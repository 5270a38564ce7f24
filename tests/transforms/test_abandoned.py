"""transforms/abandoned.py: the "possibly abandoned" rule, with a positive control.

A broken flag that is never true would pass a test that only checks unflagged sessions, so
every test here names the rows that MUST be flagged as well as the ones that must not.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from tests.builders import session_table, utc
from transforms.abandoned import activity_bound, no_logout, possibly_abandoned

WINDOW = (utc("2026-11-02T00:00:00+00:00"), utc("2026-11-03T00:00:00+00:00"))
HOUR = timedelta(hours=1)


def at(hhmm: str) -> str:
    return f"2026-11-02T{hhmm}:00+00:00"


# Each session with the flag it must get at a one-hour threshold, and why. Listed out of
# order on purpose: the next login of an agent is found by login time, not by row position.
SESSIONS = [
    # Closed sessions are never flagged, however long their silence.
    ("closed", dict(agent_arn="a", login_ts=at("01:00"), logout_ts=at("02:00")), False),
    # No logout, last seen at 03:00, no later login: bound is the window end, 21 h of silence.
    (
        "silent-until-window-end",
        dict(agent_arn="b", login_ts=at("01:00"), last_activity_ts=at("03:00")),
        True,
    ),
    # No logout but active until 30 minutes before the window end.
    (
        "active-to-the-end",
        dict(agent_arn="c", login_ts=at("01:00"), last_activity_ts=at("23:30")),
        False,
    ),
    # A later login of d's ends this session 30 minutes after its last activity: a dropped
    # connection and a fresh login, not an abandoned CCP.
    (
        "dropped-then-relogin",
        dict(agent_arn="d", login_ts=at("01:00"), last_activity_ts=at("02:00")),
        False,
    ),
    ("d-second", dict(agent_arn="d", login_ts=at("02:30"), logout_ts=at("05:00")), False),
    # No activity at all: the silence runs from the login to e's next login, 9 hours.
    ("no-activity", dict(agent_arn="e", login_ts=at("01:00")), True),
    ("e-second", dict(agent_arn="e", login_ts=at("10:00"), logout_ts=at("11:00")), False),
    # Exactly the threshold is not more than it.
    (
        "exactly-the-threshold",
        dict(agent_arn="f", login_ts=at("21:00"), last_activity_ts=at("23:00")),
        False,
    ),
    # A logout with no login (the login was before the lookback) has a logout: not flagged.
    ("logout-only", dict(agent_arn="g", logout_ts=at("03:00")), False),
    # Another agent's later login does not end b's or e's sessions.
    ("other-agent", dict(agent_arn="h", login_ts=at("02:00"), logout_ts=at("03:00")), False),
]
SESSIONS.insert(0, SESSIONS.pop(5))  # e's first session before everything else


def flagged(rows, threshold=HOUR, window=WINDOW) -> dict[str, bool]:
    names = [name for name, _, _ in rows]
    table = session_table([row for _, row, _ in rows])
    bound = activity_bound("login_ts", "logout_ts", "agent_arn", *window)
    flags = table.with_columns(bound.alias("bound_ts")).select(
        possibly_abandoned("login_ts", "logout_ts", "last_activity_ts", "bound_ts", threshold)
    )
    return dict(zip(names, flags.to_series().to_list(), strict=True))


def test_exactly_the_silent_sessions_without_logout_are_flagged():
    got = flagged(SESSIONS)
    assert [name for name, flag in got.items() if flag] == [
        "no-activity",
        "silent-until-window-end",
    ]
    assert got == {name: expected for name, _, expected in SESSIONS}


def test_the_flag_is_a_boolean_column_with_no_nulls():
    table = session_table([row for _, row, _ in SESSIONS])
    bound = activity_bound("login_ts", "logout_ts", "agent_arn", *WINDOW)
    flags = (
        table.with_columns(bound.alias("bound_ts"))
        .select(possibly_abandoned("login_ts", "logout_ts", "last_activity_ts", "bound_ts", HOUR))
        .to_series()
    )
    assert flags.dtype == pl.Boolean and flags.null_count() == 0


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (
            timedelta(minutes=29),
            {
                "no-activity",
                "silent-until-window-end",
                "active-to-the-end",
                "dropped-then-relogin",
                "exactly-the-threshold",
            },
        ),
        (timedelta(hours=2), {"no-activity", "silent-until-window-end"}),
        (timedelta(hours=9), {"silent-until-window-end"}),
        (timedelta(hours=21), set()),
    ],
)
def test_the_threshold_moves_the_flag_both_ways(threshold, expected):
    got = flagged(SESSIONS, threshold)
    assert {name for name, flag in got.items() if flag} == expected


def test_the_bound_is_the_agents_next_login_else_the_window_end():
    table = session_table([row for _, row, _ in SESSIONS])
    names = [name for name, _, _ in SESSIONS]
    bounds = table.select(activity_bound("login_ts", "logout_ts", "agent_arn", *WINDOW))
    got = dict(zip(names, bounds.to_series().to_list(), strict=True))
    assert got == {
        "no-activity": utc(at("10:00")),
        "closed": None,  # only sessions without a logout have a bound
        "silent-until-window-end": WINDOW[1],
        "active-to-the-end": WINDOW[1],
        "dropped-then-relogin": utc(at("02:30")),
        "d-second": None,
        "e-second": None,
        "exactly-the-threshold": WINDOW[1],
        "logout-only": None,
        "other-agent": None,
    }


def test_a_window_given_in_another_zone_is_the_same_instants():
    seoul = ZoneInfo("Asia/Seoul")
    local = tuple(moment.astimezone(seoul) for moment in WINDOW)
    assert flagged(SESSIONS, window=local) == flagged(SESSIONS)
    # A window ending an hour later leaves c's 23:30 activity 90 minutes before its end.
    later = (WINDOW[0], WINDOW[1] + HOUR)
    assert flagged(SESSIONS, window=later)["active-to-the-end"] is True


def test_no_logout_needs_a_login():
    table = session_table(
        [
            dict(agent_arn="a", login_ts=at("01:00")),
            dict(agent_arn="a", login_ts=at("02:00"), logout_ts=at("03:00")),
            dict(agent_arn="a", logout_ts=at("04:00")),
        ]
    )
    assert table.select(no_logout("login_ts", "logout_ts")).to_series().to_list() == [
        True,
        False,
        False,
    ]
