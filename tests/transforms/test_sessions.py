"""Each session rule on a handful of hand-built events."""

from datetime import UTC, datetime

import polars as pl
import pytest

from schemas.columns import EVENT_COLUMNS
from transforms.sessions import build_sessions, deduplicate, with_last_activity

START = datetime(2026, 11, 2, tzinfo=UTC)
END = datetime(2026, 11, 3, tzinfo=UTC)


def events(*rows) -> pl.DataFrame:
    """rows: (event_type, 'HH:MM:SS' on 2026-11-02 or a full ISO instant, agent[, event_id])."""
    records = []
    for number, (event_type, when, agent, *rest) in enumerate(rows, start=1):
        instant = when if "T" in when else f"2026-11-02T{when}+00:00"
        records.append(
            {
                "event_id": rest[0] if rest else f"e{number:03d}",
                "event_type": event_type,
                "event_ts": datetime.fromisoformat(instant).astimezone(UTC),
                "agent_arn": f"arn:{agent}",
                "source_file": "f",
                "source_row": number,
            }
        )
    return pl.DataFrame(records, schema=EVENT_COLUMNS).with_columns(
        partition_day=pl.lit(START.date())
    )


def spans(sessions: pl.DataFrame) -> list[tuple]:
    """(agent, login, logout) as 'MM-DD HH:MM:SS' or None, sorted with None first."""

    def hms(value):
        return None if value is None else value.strftime("%m-%d %H:%M:%S")

    return sorted(
        (
            (r["agent_arn"].removeprefix("arn:"), hms(r["login_ts"]), hms(r["logout_ts"]))
            for r in sessions.iter_rows(named=True)
        ),
        key=lambda span: tuple(value or "" for value in span),
    )


def test_login_and_logout_in_window_make_one_closed_session():
    result = build_sessions(
        events(("LOGIN", "09:00:00", "a"), ("LOGOUT", "17:00:00", "a")), START, END
    )
    assert spans(result) == [("a", "11-02 09:00:00", "11-02 17:00:00")]


def test_login_without_logout_stays_open_until_window_end():
    result = build_sessions(events(("LOGIN", "09:00:00", "a")), START, END)
    assert spans(result) == [("a", "11-02 09:00:00", None)]
    assert result["bound_ts"].to_list() == [END]


def test_login_before_window_with_logout_inside_shows_both():
    rows = events(("LOGIN", "2026-11-01T20:00:00+00:00", "a"), ("LOGOUT", "02:00:00", "a"))
    assert spans(build_sessions(rows, START, END)) == [("a", "11-01 20:00:00", "11-02 02:00:00")]


def test_session_spanning_the_whole_window_is_left_out():
    rows = events(
        ("LOGIN", "2026-11-01T20:00:00+00:00", "a"), ("LOGOUT", "2026-11-03T02:00:00+00:00", "a")
    )
    assert build_sessions(rows, START, END).is_empty()


def test_login_while_open_ends_the_open_session_without_logout():
    rows = events(
        ("LOGIN", "09:00:00", "a"), ("LOGIN", "10:00:00", "a"), ("LOGOUT", "11:00:00", "a")
    )
    result = build_sessions(rows, START, END)
    assert spans(result) == [
        ("a", "11-02 09:00:00", None),
        ("a", "11-02 10:00:00", "11-02 11:00:00"),
    ]
    open_session = result.filter(pl.col("logout_ts").is_null())
    assert open_session["bound_ts"].to_list() == [datetime(2026, 11, 2, 10, tzinfo=UTC)]


def test_logout_with_nothing_open_has_unknown_login():
    rows = events(("LOGOUT", "03:00:00", "a"), ("LOGOUT", "04:00:00", "a"))
    assert spans(build_sessions(rows, START, END)) == [
        ("a", None, "11-02 03:00:00"),
        ("a", None, "11-02 04:00:00"),
    ]


def test_same_instant_login_sorts_before_logout():
    # Open since 08:00; at 09:00 a LOGIN and a LOGOUT share the instant. LOGIN first: the 08:00
    # session ends with no logout, and the LOGOUT closes the new, zero-length session.
    rows = events(
        ("LOGIN", "08:00:00", "a"), ("LOGOUT", "09:00:00", "a"), ("LOGIN", "09:00:00", "a")
    )
    assert spans(build_sessions(rows, START, END)) == [
        ("a", "11-02 08:00:00", None),
        ("a", "11-02 09:00:00", "11-02 09:00:00"),
    ]


def test_equal_instant_and_type_are_ordered_by_event_id():
    rows = events(
        ("LOGIN", "09:00:00", "a", "id-b"),
        ("LOGIN", "09:00:00", "a", "id-a"),
        ("LOGOUT", "10:00:00", "a"),
    )
    result = build_sessions(rows, START, END).sort("logout_ts", nulls_last=False)
    # id-a opens first, is ended by id-b with no logout; id-b is closed at 10:00.
    assert spans(result) == [
        ("a", "11-02 09:00:00", None),
        ("a", "11-02 09:00:00", "11-02 10:00:00"),
    ]


def test_out_of_order_input_is_ordered_by_time():
    rows = events(("LOGOUT", "17:00:00", "a"), ("LOGIN", "09:00:00", "a"))
    assert spans(build_sessions(rows, START, END)) == [("a", "11-02 09:00:00", "11-02 17:00:00")]


def test_agents_are_walked_separately():
    rows = events(
        ("LOGIN", "09:00:00", "a"), ("LOGIN", "09:30:00", "b"), ("LOGOUT", "10:00:00", "a")
    )
    assert spans(build_sessions(rows, START, END)) == [
        ("a", "11-02 09:00:00", "11-02 10:00:00"),
        ("b", "11-02 09:30:00", None),
    ]


def test_logout_at_window_end_is_outside_the_window():
    rows = events(
        ("LOGIN", "2026-11-01T22:00:00+00:00", "a"), ("LOGOUT", "2026-11-03T00:00:00+00:00", "a")
    )
    assert build_sessions(rows, START, END).is_empty()


def test_deduplicate_keeps_first_copy_by_source_order():
    frame = events(("LOGIN", "09:00:00", "a", "same"), ("LOGIN", "09:05:00", "a", "same"))
    kept, removed = deduplicate(frame)
    assert removed == 1
    assert kept["source_row"].to_list() == [1]


@pytest.mark.parametrize(
    ("activity_times", "expected"),
    [
        (["09:00:00", "09:30:00", "11:59:59"], "11:59:59"),  # latest before the bound
        (["09:00:00", "12:00:00"], "09:00:00"),  # the bound itself belongs to the next session
        (["08:59:59"], None),  # nothing since the login
    ],
)
def test_last_activity_is_latest_instant_in_login_to_bound(activity_times, expected):
    rows = events(
        ("LOGIN", "09:00:00", "a"), ("LOGIN", "12:00:00", "a"), ("LOGOUT", "13:00:00", "a")
    )
    sessions = build_sessions(rows, START, END)
    activity = events(*[("HEART_BEAT", t, "a") for t in activity_times]).select(
        "agent_arn", "event_ts"
    )
    result = with_last_activity(sessions, activity).sort("login_ts")
    first = result.row(0, named=True)
    assert first["logout_ts"] is None
    got = first["last_activity_ts"]
    assert (got and got.strftime("%H:%M:%S")) == expected
    # A session with a logout never has a Last activity.
    assert result.row(1, named=True)["last_activity_ts"] is None


def test_last_activity_of_open_session_stops_at_window_end():
    sessions = build_sessions(events(("LOGIN", "22:00:00", "a")), START, END)
    activity = events(("HEART_BEAT", "23:58:00", "a"), ("HEART_BEAT", "23:59:59.999", "b")).select(
        "agent_arn", "event_ts"
    )
    result = with_last_activity(sessions, activity)
    assert result["last_activity_ts"].to_list() == [datetime(2026, 11, 2, 23, 58, tzinfo=UTC)]
