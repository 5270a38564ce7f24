"""One hand-built case per report rule for the DuckDB reference, each expected row hand-computed.

Unless a test says otherwise the window is 2026-11-02 in Asia/Seoul (+09:00), i.e.
[2026-11-01T15:00Z, 2026-11-02T15:00Z), with the default 31-day lookback.
"""

import gzip
import json
import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.reference.duckdb_reference import HEADER, reference_report, reference_report_csv

SEOUL = ZoneInfo("Asia/Seoul")
WINDOW_START = datetime(2026, 11, 2, tzinfo=SEOUL)
WINDOW_END = datetime(2026, 11, 3, tzinfo=SEOUL)
INSTANCE = "arn:aws:connect:ap-northeast-2:111122223333:instance/i-1"

AGENT_PROFILES = {
    "a1": {
        "Username": "alice",
        "FirstName": "Alice",
        "LastName": "Kim",
        "RoutingProfile": "Basic",
        "Hierarchy": ("Sales", "Seoul"),
    },
    "a2": {
        "Username": "bob",
        "FirstName": "Bob",
        "LastName": "Lee",
        "RoutingProfile": "Premium",
        "Hierarchy": None,
    },
    "a3": {
        "Username": "지민",
        "FirstName": "지민",
        "LastName": "박",
        "RoutingProfile": "Basic",
        "Hierarchy": ("Sales", "Busan", "Night"),
    },
}


def agent_arn(agent: str) -> str:
    return f"{INSTANCE}/agent/{agent}"


def record(event_id, event_type, timestamp, agent="a1", **profile_overrides) -> dict:
    """An agent event stream record whose snapshot is the agent's profile plus overrides."""
    profile = {**AGENT_PROFILES[agent], **profile_overrides}
    groups = None
    if profile["Hierarchy"] is not None:
        names = [*profile["Hierarchy"], None, None, None, None, None][:5]
        groups = {
            f"Level{n}": name and {"ARN": f"{INSTANCE}/agent-group/{name}", "Name": name}
            for n, name in enumerate(names, start=1)
        }
    return {
        "AWSAccountId": "111122223333",
        "AgentARN": agent_arn(agent),
        "EventId": event_id,
        "EventType": event_type,
        "EventTimestamp": timestamp,
        "InstanceARN": INSTANCE,
        "Version": "2019-05-25",
        "CurrentAgentSnapshot": {
            "Configuration": {
                "Username": profile["Username"],
                "FirstName": profile["FirstName"],
                "LastName": profile["LastName"],
                "RoutingProfile": {
                    "ARN": f"{INSTANCE}/routing-profile/{profile['RoutingProfile']}",
                    "Name": profile["RoutingProfile"],
                },
                "AgentHierarchyGroups": groups,
            },
            "AgentStatus": {"Name": "Available", "Type": "ROUTABLE"},
        },
    }


def expected_row(agent="a1", login="", logout="", duration="", seconds="", last_activity=""):
    profile = AGENT_PROFILES[agent]
    levels = [*(profile["Hierarchy"] or ()), "", "", "", "", ""][:5]
    values = [profile["Username"], profile["FirstName"], profile["LastName"]]
    values += [profile["RoutingProfile"], *levels, login, logout, duration, seconds]
    return dict(zip(HEADER, [*values, last_activity, agent_arn(agent)], strict=True))


def partition_folder(root, day: str, layout: str) -> str:
    year, month, day_of_month = day.split("-")
    parts = {
        "date": [f"date={day}"],
        "ymd": [f"year={year}", f"month={month}", f"day={day_of_month}"],
        "firehose": [year, month, day_of_month, "13"],
    }[layout]
    return os.path.join(root, *parts)


def lower_keys(value):
    if isinstance(value, dict):
        return {key.lower(): lower_keys(item) for key, item in value.items()}
    return value


def write_file(root, day: str, records, fmt="ndjson", layout="date", name="part-0") -> str:
    """Write records as one file of the UTC arrival `day`'s partition, in format `fmt`."""
    folder = partition_folder(root, day, layout)
    os.makedirs(folder, exist_ok=True)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    if fmt == "ndjson":
        path = os.path.join(folder, name + ".json")
        with open(path, "wb") as file:
            file.write(lines)
    elif fmt == "ndjson-gzip":  # Firehose's default: gzip, and no file extension
        path = os.path.join(folder, name)
        with open(path, "wb") as file:
            file.write(gzip.compress(lines))
    else:
        path = os.path.join(folder, name + ".parquet")
        rows = [lower_keys(r) for r in records] if fmt == "parquet-lowercase" else records
        frame = pl.DataFrame(rows, infer_schema_length=None)
        if fmt == "parquet-timestamp":
            frame = frame.with_columns(pl.col("EventTimestamp").str.to_datetime(time_zone="UTC"))
        frame.write_parquet(path)
    return path


def write_events(root, records, fmt="ndjson", layout="date") -> None:
    """Write records into the partitions of their own UTC dates."""
    by_day: dict[str, list] = {}
    for r in records:
        by_day.setdefault(r["EventTimestamp"][:10], []).append(r)
    for day, day_records in by_day.items():
        write_file(root, day, day_records, fmt, layout)


def report(root, start=WINDOW_START, end=WINDOW_END, tz="Asia/Seoul", **options):
    return reference_report(str(root), start, end, tz, **options)


FORMATS = ["ndjson", "ndjson-gzip", "parquet", "parquet-lowercase", "parquet-timestamp"]


@pytest.mark.parametrize("layout", ["date", "ymd", "firehose"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_login_and_logout_in_window_in_every_format_and_layout(tmp_path, fmt, layout):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-02T00:15:00.123Z", "a3"),
            record("e2", "LOGOUT", "2026-11-02T08:45:30.999Z", "a3"),
        ],
        fmt,
        layout,
    )
    assert report(tmp_path) == [
        expected_row(
            "a3",
            login="2026-11-02T09:15:00+09:00",
            logout="2026-11-02T17:45:30+09:00",
            duration="8:30:30",
            seconds="30630",
        )
    ]


def test_login_before_window_with_logout_in_window_shows_both(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-10-31T12:00:00Z"),
            record("e2", "LOGOUT", "2026-11-01T15:03:09Z"),
        ],
    )
    assert report(tmp_path) == [
        expected_row(
            login="2026-10-31T21:00:00+09:00",
            logout="2026-11-02T00:03:09+09:00",
            duration="27:03:09",
            seconds="97389",
        )
    ]


def test_session_spanning_the_whole_window_is_left_out(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-01T14:59:59Z"),
            record("e2", "LOGOUT", "2026-11-02T15:00:00Z"),
        ],
    )
    assert report(tmp_path) == []


def test_login_while_open_ends_the_session_without_logout(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-02T00:00:00Z"),
            record("e2", "STATE_CHANGE", "2026-11-02T01:00:00Z"),
            record("e3", "HEART_BEAT", "2026-11-02T01:30:00.700Z"),
            record("e4", "LOGIN", "2026-11-02T03:00:00Z"),
            record("e5", "HEART_BEAT", "2026-11-02T03:30:00Z"),
            record("e6", "LOGOUT", "2026-11-02T04:00:00Z"),
        ],
    )
    assert report(tmp_path) == [
        # Last activity is bounded by the second LOGIN: the 03:30 heartbeat belongs to the next.
        expected_row(login="2026-11-02T09:00:00+09:00", last_activity="2026-11-02T10:30:00+09:00"),
        expected_row(
            login="2026-11-02T12:00:00+09:00",
            logout="2026-11-02T13:00:00+09:00",
            duration="1:00:00",
            seconds="3600",
        ),
    ]


def test_logout_without_login_has_unknown_login_and_takes_the_logout_snapshot(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "HEART_BEAT", "2026-11-02T01:00:00Z", "a2"),
            record("e2", "LOGOUT", "2026-11-02T02:00:00Z", "a2", RoutingProfile="Evening"),
        ],
    )
    row = expected_row("a2", logout="2026-11-02T11:00:00+09:00")
    assert report(tmp_path) == [{**row, "Routing profile": "Evening"}]


def test_open_session_stays_open_with_last_activity_before_window_end(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-02T13:00:00Z"),
            record("e2", "HEART_BEAT", "2026-11-02T14:59:59.999Z"),
            record("e3", "HEART_BEAT", "2026-11-02T15:00:00Z"),  # at window end: outside
        ],
    )
    assert report(tmp_path) == [
        expected_row(login="2026-11-02T22:00:00+09:00", last_activity="2026-11-02T23:59:59+09:00")
    ]


def test_login_sorts_before_logout_at_the_same_instant(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-02T00:00:00Z"),
            record("e9", "LOGOUT", "2026-11-02T08:00:00Z"),
            record("e2", "LOGIN", "2026-11-02T08:00:00Z"),
        ],
    )
    # The LOGIN at 08:00 comes first: it ends the first session and its own is closed at once.
    assert report(tmp_path) == [
        expected_row(login="2026-11-02T09:00:00+09:00", last_activity="2026-11-02T09:00:00+09:00"),
        expected_row(
            login="2026-11-02T17:00:00+09:00",
            logout="2026-11-02T17:00:00+09:00",
            duration="0:00:00",
            seconds="0",
        ),
    ]


def test_equal_instants_of_one_type_are_ordered_by_event_id(tmp_path):
    write_events(
        tmp_path,
        [
            record("e2", "LOGIN", "2026-11-02T00:00:00Z", FirstName="Second"),
            record("e1", "LOGIN", "2026-11-02T00:00:00Z", FirstName="First"),
            record("e3", "LOGOUT", "2026-11-02T01:00:00Z"),
        ],
    )
    # e1 opens first and is ended by e2 at the same instant: [login, bound) is empty.
    first = expected_row(login="2026-11-02T09:00:00+09:00")
    second = expected_row(
        login="2026-11-02T09:00:00+09:00",
        logout="2026-11-02T10:00:00+09:00",
        duration="1:00:00",
        seconds="3600",
    )
    assert report(tmp_path) == [
        {**second, "First name": "Second"},
        {**first, "First name": "First"},
    ]


@pytest.mark.parametrize("fmt", ["ndjson", "parquet"])
def test_duplicate_event_ids_keep_the_first_copy(tmp_path, fmt):
    login = record("e1", "LOGIN", "2026-11-02T00:00:00Z")
    # A late copy in the next partition, and a differing copy later in the same file.
    write_file(tmp_path, "2026-11-02", [login, record("e2", "LOGOUT", "2026-11-02T05:00:00Z")], fmt)
    write_file(
        tmp_path,
        "2026-11-03",
        [
            record("e2", "LOGOUT", "2026-11-02T06:00:00Z", FirstName="Late"),
            record("e3", "LOGIN", "2026-11-02T07:00:00Z", "a2", FirstName="Original"),
            record("e3", "LOGIN", "2026-11-02T07:00:00Z", "a2", FirstName="Copy"),
            login,
        ],
        fmt,
    )
    alice = expected_row(
        login="2026-11-02T09:00:00+09:00",
        logout="2026-11-02T14:00:00+09:00",
        duration="5:00:00",
        seconds="18000",
    )
    bob = expected_row(
        "a2", login="2026-11-02T16:00:00+09:00", last_activity="2026-11-02T16:00:00+09:00"
    )
    assert report(tmp_path) == [alice, {**bob, "First name": "Original"}]


def test_first_copy_is_chosen_by_partition_date_before_file_path(tmp_path):
    # By path alone "date=2026-11-03/..." would come before "year=2026/month=11/day=02/...".
    write_file(
        tmp_path,
        "2026-11-03",
        [record("e1", "LOGIN", "2026-11-02T00:00:00Z", FirstName="Later day")],
        layout="date",
    )
    write_file(
        tmp_path,
        "2026-11-02",
        [record("e1", "LOGIN", "2026-11-02T00:00:00Z", FirstName="Earlier day")],
        layout="ymd",
    )
    row = expected_row(login="2026-11-02T09:00:00+09:00", last_activity="2026-11-02T09:00:00+09:00")
    assert report(tmp_path) == [{**row, "First name": "Earlier day"}]


def test_lookback_edge(tmp_path):
    # lookback_days=1: lookback_start is 2026-10-31T15:00Z; days 2026-10-30..2026-11-03 are read.
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-10-31T15:00:00Z", "a1"),
            record("e2", "LOGOUT", "2026-11-01T16:00:00Z", "a1"),
            record("e3", "LOGIN", "2026-10-31T14:59:59.999Z", "a2"),
            record("e4", "LOGOUT", "2026-11-01T16:00:00Z", "a2"),
        ],
    )
    # Inside the lookback by timestamp, but in a partition that is never read.
    write_file(
        tmp_path, "2026-10-29", [record("e5", "LOGIN", "2026-11-01T00:00:00Z", "a3")], name="early"
    )
    write_file(
        tmp_path, "2026-11-01", [record("e6", "LOGOUT", "2026-11-01T16:00:00Z", "a3")], name="a3"
    )
    assert report(tmp_path, lookback_days=1) == [
        expected_row(
            "a1",
            login="2026-11-01T00:00:00+09:00",
            logout="2026-11-02T01:00:00+09:00",
            duration="25:00:00",
            seconds="90000",
        ),
        expected_row("a2", logout="2026-11-02T01:00:00+09:00"),
        expected_row("a3", logout="2026-11-02T01:00:00+09:00"),
    ]


def test_dst_fall_back_day_in_new_york_orders_by_instant(tmp_path):
    # 2026-11-01 in New York has 25 hours: 01:00-02:00 happens at -04:00 and again at -05:00.
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-01T05:30:00Z"),  # 01:30-04:00
            record("e2", "LOGOUT", "2026-11-01T06:15:00Z"),  # 01:15-05:00
            record("e3", "LOGIN", "2026-11-01T06:20:00Z"),  # 01:20-05:00
            record("e4", "LOGIN", "2026-11-02T04:59:59Z", "a2"),  # 23:59:59-05:00
            record("e5", "LOGIN", "2026-11-01T03:59:59Z", "a2"),  # before the window
        ],
    )
    new_york = ZoneInfo("America/New_York")
    rows = report(
        tmp_path,
        datetime(2026, 11, 1, tzinfo=new_york),
        datetime(2026, 11, 2, tzinfo=new_york),
        "America/New_York",
    )
    assert rows == [
        expected_row(
            login="2026-11-01T01:30:00-04:00",
            logout="2026-11-01T01:15:00-05:00",
            duration="0:45:00",
            seconds="2700",
        ),
        expected_row(login="2026-11-01T01:20:00-05:00", last_activity="2026-11-01T01:20:00-05:00"),
        expected_row(
            "a2", login="2026-11-01T23:59:59-05:00", last_activity="2026-11-01T23:59:59-05:00"
        ),
    ]


def test_half_hour_zone_kolkata(tmp_path):
    kolkata = ZoneInfo("Asia/Kolkata")
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-01T18:29:59Z"),  # 23:59:59 the day before
            record("e2", "LOGOUT", "2026-11-01T18:30:00Z"),  # midnight: in the window
            record("e3", "LOGIN", "2026-11-01T18:30:00Z", "a2"),  # window start: inside
            record("e4", "LOGIN", "2026-11-02T18:30:00Z", "a3"),  # window end: outside
        ],
    )
    start = datetime(2026, 11, 2, tzinfo=kolkata)
    assert report(tmp_path, start, start + timedelta(days=1), "Asia/Kolkata") == [
        expected_row(
            login="2026-11-01T23:59:59+05:30",
            logout="2026-11-02T00:00:00+05:30",
            duration="0:00:01",
            seconds="1",
        ),
        expected_row(
            "a2", login="2026-11-02T00:00:00+05:30", last_activity="2026-11-02T00:00:00+05:30"
        ),
    ]


def test_instants_are_truncated_to_seconds_before_the_duration(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-02T00:00:00.900+09:00"),
            record("e2", "LOGOUT", "2026-11-02T00:00:01.100+09:00"),
        ],
    )
    assert report(tmp_path) == [
        expected_row(
            login="2026-11-02T00:00:00+09:00",
            logout="2026-11-02T00:00:01+09:00",
            duration="0:00:01",
            seconds="1",
        )
    ]


def test_last_activity_comes_from_any_event_type(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "HEART_BEAT", "2026-11-01T23:00:00Z"),  # before the login
            record("e2", "LOGIN", "2026-11-02T00:00:00Z"),
            record("e3", "STATE_CHANGE", "2026-11-02T00:05:00Z"),
            record("e4", "HEART_BEAT", "2026-11-02T02:07:00.999Z"),
            record("e5", "CONTACT_TRANSFER", "2026-11-02T02:00:00Z"),
            record("e6", "HEART_BEAT", "2026-11-02T01:00:00Z", "a2"),  # another agent
        ],
    )
    assert report(tmp_path) == [
        expected_row(login="2026-11-02T09:00:00+09:00", last_activity="2026-11-02T11:07:00+09:00")
    ]


def test_event_types_match_case_insensitively(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "login", "2026-11-02T00:00:00Z"),
            record("e2", "Logout", "2026-11-02T01:00:00Z"),
        ],
    )
    assert report(tmp_path) == [
        expected_row(
            login="2026-11-02T09:00:00+09:00",
            logout="2026-11-02T10:00:00+09:00",
            duration="1:00:00",
            seconds="3600",
        )
    ]


def test_invalid_records_are_ignored(tmp_path):
    missing_agent = record("e5", "LOGOUT", "2026-11-02T01:00:00Z")
    del missing_agent["AgentARN"]
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-02T00:00:00Z"),
            record(None, "LOGOUT", "2026-11-02T01:00:00Z"),
            record("e3", None, "2026-11-02T01:00:00Z"),
            missing_agent,
            record("e6", "LOGOUT", "2026-11-02T01:00:00"),  # no offset
            record("e7", "LOGOUT", "2026-11-02T25:00:00Z"),
            record("e8", "HEART_BEAT", "2026-11-02T03:00:00Z"),
        ],
    )
    assert report(tmp_path) == [
        expected_row(login="2026-11-02T09:00:00+09:00", last_activity="2026-11-02T12:00:00+09:00")
    ]


def test_row_order(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-02T02:00:00Z", "a1"),
            record("e2", "LOGOUT", "2026-11-02T03:00:00Z", "a1"),
            record("e3", "LOGIN", "2026-11-02T04:00:00Z", "a1"),
            record("e4", "LOGOUT", "2026-11-02T05:00:00Z", "a2", Username="alice"),
            record("e5", "LOGIN", "2026-11-02T06:00:00Z", "a2", Username=""),
            record("e6", "LOGIN", "2026-11-02T00:00:00Z", "a3"),
        ],
    )
    rows = report(tmp_path)
    assert [(r["Username"], r["Login time"][11:19], r["Logout time"][11:19]) for r in rows] == [
        ("alice", "", "14:00:00"),  # unknown login first, before a1's earlier sessions
        ("alice", "11:00:00", "12:00:00"),
        ("alice", "13:00:00", ""),
        ("지민", "09:00:00", ""),
        ("", "15:00:00", ""),  # empty usernames last
    ]


def test_usernames_sort_by_code_point(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-02T00:00:00Z", "a1"),
            record("e2", "LOGIN", "2026-11-02T00:00:00Z", "a2", Username="Zed"),
            record("e3", "LOGIN", "2026-11-02T00:00:00Z", "a3"),
        ],
    )
    assert [r["Username"] for r in report(tmp_path)] == ["Zed", "alice", "지민"]


def test_agents_with_the_same_username_are_ordered_by_arn(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-02T00:00:00Z", "a2", Username="alice"),
            record("e2", "LOGIN", "2026-11-02T00:00:00Z", "a1"),
        ],
    )
    assert [r["Agent ARN"] for r in report(tmp_path)] == [agent_arn("a1"), agent_arn("a2")]


@pytest.mark.parametrize(
    ("filters", "usernames"),
    [
        ({}, ["alice", "bob", "지민"]),
        ({"agents": ["bob", "지민"]}, ["bob", "지민"]),
        ({"routing_profiles": ["Basic"]}, ["alice", "지민"]),
        ({"hierarchies": ["Sales"]}, ["alice", "지민"]),
        ({"hierarchies": ["Sales/Busan"]}, ["지민"]),
        ({"hierarchies": ["Sales/Busan/Night/"]}, ["지민"]),
        ({"hierarchies": ["Sales/Seoul", "Sales/Busan"]}, ["alice", "지민"]),
        ({"hierarchies": ["Busan"]}, []),
        ({"hierarchies": ["Sales/Seoul/Night"]}, []),
        ({"agents": ["alice", "bob"], "routing_profiles": ["Basic", "Gold"]}, ["alice"]),
        ({"agents": ["alice"], "hierarchies": ["Sales/Busan"]}, []),
        ({"agents": ["Alice"]}, []),
    ],
)
def test_filters(tmp_path, filters, usernames):
    write_events(
        tmp_path,
        [record(f"e-{agent}", "LOGIN", "2026-11-02T00:00:00Z", agent) for agent in AGENT_PROFILES],
    )
    assert [r["Username"] for r in report(tmp_path, **filters)] == usernames


def test_filters_apply_to_the_rows_attributes(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-02T00:00:00Z", RoutingProfile="Old"),
            record("e2", "LOGOUT", "2026-11-02T01:00:00Z", RoutingProfile="New"),
            record("e3", "LOGOUT", "2026-11-02T02:00:00Z", RoutingProfile="New"),
        ],
    )
    rows = report(tmp_path, routing_profiles=["New"])
    assert [(r["Login time"], r["Logout time"]) for r in rows] == [
        ("", "2026-11-02T11:00:00+09:00")
    ]


def test_formula_guard(tmp_path):
    write_events(
        tmp_path,
        [
            record(
                "e1",
                "LOGIN",
                "2026-11-02T00:00:00Z",
                Username="=HYPERLINK()",
                FirstName="+1",
                LastName="-2",
                RoutingProfile="@rp",
                Hierarchy=("\t=Tab", "\rReturn", "Plain", "a=b"),
            )
        ],
    )
    [row] = report(tmp_path)
    # Edge white space is trimmed first, so a leading tab or carriage return never survives.
    assert [row[column] for column in HEADER[:9]] == [
        "'=HYPERLINK()",
        "'+1",
        "'-2",
        "'@rp",
        "'=Tab",
        "Return",
        "Plain",
        "a=b",
        "",
    ]


def test_text_fields_are_trimmed_of_edge_white_space(tmp_path):
    write_events(
        tmp_path,
        [
            record(
                "e1",
                " LOGIN\u3000",
                "2026-11-02T00:00:00Z ",
                Username=" alice\n",
                FirstName="\u00a0Alice Mae\t",
                Hierarchy=(" Sales ", "\u2003Seoul"),
            ),
            record(" ", "LOGOUT", "2026-11-02T01:00:00Z"),  # a blank EventId is missing
        ],
    )
    row = expected_row(login="2026-11-02T09:00:00+09:00", last_activity="2026-11-02T09:00:00+09:00")
    assert report(tmp_path, hierarchies=[" Sales / Seoul "]) == [{**row, "First name": "Alice Mae"}]


def test_empty_texts_are_unknown_and_sort_as_unknown(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-02T03:00:00Z", "a1", Username=None, LastName=""),
            record("e2", "LOGIN", "2026-11-02T01:00:00Z", "a2", Username=""),
            record("e3", "LOGIN", "2026-11-02T02:00:00Z", "a3", Username="지민"),
        ],
    )
    csv_lines = reference_report_csv(str(tmp_path), WINDOW_START, WINDOW_END, "UTC").splitlines()
    # A missing and an empty username sort together, last, by login; neither is quoted.
    assert [line.split(",")[:3] for line in csv_lines[1:]] == [
        ["지민", "지민", "박"],
        ["", "Bob", "Lee"],
        ["", "Alice", ""],
    ]


def test_sessions_that_tie_on_the_contract_keys_are_ordered_by_the_other_columns(tmp_path):
    write_events(
        tmp_path,
        [
            record("e1", "LOGIN", "2026-11-02T00:00:00.100Z", FirstName="Zoe"),
            record("e2", "LOGIN", "2026-11-02T00:00:00.200Z", FirstName="Amy"),
            record("e3", "LOGIN", "2026-11-02T00:00:00.300Z", FirstName="Amy", LastName="Ahn"),
            record("e4", "HEART_BEAT", "2026-11-02T00:00:01Z"),
        ],
    )
    # Same username, login second, no logout, same agent: Last activity decides (unknown first),
    # then First name, then Last name.
    rows = report(tmp_path)
    assert [(r["Last activity"][11:19], r["First name"], r["Last name"]) for r in rows] == [
        ("09:00:00", "Amy", "Kim"),
        ("09:00:00", "Zoe", "Kim"),
        ("09:00:01", "Amy", "Ahn"),
    ]


def test_csv_text_quotes_only_where_needed(tmp_path):
    write_events(
        tmp_path,
        [
            record(
                "e1", "LOGIN", "2026-11-02T00:00:00Z", FirstName='Al "Ace", Jr', LastName="K\nim"
            ),
            record("e2", "LOGOUT", "2026-11-02T00:30:00Z"),
        ],
    )
    csv_text = reference_report_csv(str(tmp_path), WINDOW_START, WINDOW_END, "Asia/Seoul")
    row = (
        'alice,"Al ""Ace"", Jr","K\nim",Basic,Sales,Seoul,,,,'
        "2026-11-02T09:00:00+09:00,2026-11-02T09:30:00+09:00,0:30:00,1800,,"
        f"{agent_arn('a1')}\n"
    )
    assert csv_text == ",".join(HEADER) + "\n" + row


def test_hidden_files_and_folders_are_ignored(tmp_path):
    write_file(tmp_path, "2026-11-02", [record("e1", "LOGIN", "2026-11-02T00:00:00Z")], name=".x")
    write_file(tmp_path, "2026-11-02", [record("e2", "LOGIN", "2026-11-02T00:00:00Z")], name="_x")
    hidden_folder = os.path.join(partition_folder(tmp_path, "2026-11-02", "date"), "_temporary")
    os.makedirs(hidden_folder)
    with open(os.path.join(hidden_folder, "part.json"), "w") as file:
        file.write(json.dumps(record("e3", "LOGIN", "2026-11-02T00:00:00Z")) + "\n")
    assert report(tmp_path) == []
    assert reference_report_csv(str(tmp_path), WINDOW_START, WINDOW_END, "UTC") == (
        ",".join(HEADER) + "\n"
    )


@pytest.mark.parametrize(
    ("start", "end", "tz", "message"),
    [
        (WINDOW_START, WINDOW_START, "Asia/Seoul", "not after"),
        (datetime(2026, 11, 2), WINDOW_END, "Asia/Seoul", "aware"),
        (WINDOW_START, WINDOW_END, "Mars/Olympus", "IANA"),
    ],
)
def test_bad_parameters_are_refused(tmp_path, start, end, tz, message):
    with pytest.raises(ValueError, match=message):
        reference_report(str(tmp_path), start, end, tz)


# -- real landings: every JSON style, Glue's Parquet, layout templates, event-time partitions ------

A3_SESSION = [
    record("e1", "LOGIN", "2026-11-02T00:15:00.123Z", "a3"),
    record("e2", "LOGOUT", "2026-11-02T08:45:30.999Z", "a3"),
]
A3_ROW = expected_row(
    "a3",
    login="2026-11-02T09:15:00+09:00",
    logout="2026-11-02T17:45:30+09:00",
    duration="8:30:30",
    seconds="30630",
)


def json_bytes(records, style: str) -> bytes:
    """Records as Firehose and friends write them: one a line, back to back, pretty, or mixed."""
    compact = [json.dumps(r, ensure_ascii=False) for r in records]
    pretty = [json.dumps(r, ensure_ascii=False, indent=2) for r in records]
    if style == "lines":
        text = "".join(line + "\n" for line in compact)
    elif style == "lower-case lines":
        text = "".join(json.dumps(lower_keys(r), ensure_ascii=False) + "\n" for r in records)
    elif style == "back to back":
        text = "".join(compact)
    elif style == "pretty":
        text = "\n".join(pretty)
    else:  # mixed: pretty, then a line, then glued to the next, in turn
        text = "".join(
            (pretty[n] + "\n", compact[n] + "\n", compact[n])[n % 3] for n in range(len(records))
        )
    return text.encode()


def write_bytes(root, folder: str, name: str, data: bytes) -> None:
    os.makedirs(os.path.join(root, folder), exist_ok=True)
    with open(os.path.join(root, folder, name), "wb") as file:
        file.write(data)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("style", ["lines", "lower-case lines", "back to back", "pretty", "mixed"])
def test_json_records_in_every_style_gzip_told_by_content(tmp_path, style, compress):
    # Three copies of the LOGIN around the LOGOUT, so "mixed" uses each style.
    records = [A3_SESSION[0], A3_SESSION[0], A3_SESSION[1], A3_SESSION[0]]
    data = json_bytes(records, style)
    if style == "back to back":
        assert b"}{" in data and b"\n" not in data
    # Firehose's object names have no extension, whether or not the content is gzip'd.
    name = "timecard-stream-1-2026-11-02-00-15-00-0f1e2d3c"
    write_bytes(tmp_path, "2026/11/02/00", name, gzip.compress(data) if compress else data)

    assert report(tmp_path) == [A3_ROW]


def glue_rows(records, shape: str) -> list[dict]:
    """Records as Firehose's Parquet conversion stores them with a Glue table (see PROVENANCE)."""
    rows = []
    for r in records:
        row = lower_keys(r)
        row["eventtimestamp"] = datetime.fromisoformat(r["EventTimestamp"])
        if shape == "glue-struct":  # agenthierarchygroups typed `string`
            configuration = row["currentagentsnapshot"]["configuration"]
            groups = configuration["agenthierarchygroups"]
            configuration["agenthierarchygroups"] = groups and json.dumps(groups)
        else:  # snapshots typed `string`: JSON text, lower-case or CamelCase keys
            snapshot = r["CurrentAgentSnapshot"]
            text = snapshot if shape == "glue-string-camel" else lower_keys(snapshot)
            row["currentagentsnapshot"] = json.dumps(text, ensure_ascii=False)
        rows.append(row)
    return rows


@pytest.mark.parametrize("shape", ["glue-struct", "glue-string", "glue-string-camel"])
def test_parquet_as_firehose_converts_it_with_a_glue_table(tmp_path, shape):
    table = pa.Table.from_pylist(glue_rows(A3_SESSION, shape))
    index = table.schema.get_field_index("eventtimestamp")
    timestamps = table.column(index).cast(pa.timestamp("ms", tz="UTC"))
    table = table.set_column(index, "eventtimestamp", timestamps)
    folder = os.path.join(tmp_path, "agent_events", "clientname=acme", "rowdate=2026-11-02")
    os.makedirs(folder)
    pq.write_table(table, os.path.join(folder, "part-0.parquet"), compression="snappy")

    assert report(tmp_path / "agent_events", layout="clientname=acme/rowdate={date}") == [A3_ROW]
    assert report(tmp_path / "agent_events") == []  # no preset layout sees it


def test_a_json_text_hierarchy_is_read_level_by_level(tmp_path):
    table = pa.Table.from_pylist(
        glue_rows([record("e1", "LOGIN", "2026-11-02T00:15:00Z", "a3")], "glue-struct")
    )
    os.makedirs(os.path.join(tmp_path, "date=2026-11-02"))
    pq.write_table(table, os.path.join(tmp_path, "date=2026-11-02", "part-0.parquet"))

    [row] = report(tmp_path)
    levels = [row[f"Hierarchy level {n}"] for n in range(1, 6)]
    assert levels == ["Sales", "Busan", "Night", "", ""]


@pytest.mark.parametrize(
    ("layout", "folder"),
    [
        ("clientname=acme/rowdate={date}", "clientname=acme/rowdate=2026-11-02"),
        ("dt={date}", "dt=2026-11-02"),
        ("year={yyyy}/month={MM}/day={dd}", "year=2026/month=11/day=02"),
        ("{yyyy}/{MM}/{dd}/{HH}", "2026/11/02/07"),
        ("firehose", "2026/11/02/23"),
        ("ymd", "year=2026/month=11/day=02"),
    ],
)
def test_any_layout_template(tmp_path, layout, folder):
    write_bytes(tmp_path, folder, "part-0", json_bytes(A3_SESSION, "lines"))

    assert report(tmp_path, layout=layout) == [A3_ROW]


def test_event_time_partitions_are_read_without_neighbour_days(tmp_path):
    # The LOGOUT happened on 2026-11-02 (UTC) but was filed under the next day's folder. Filed by
    # arrival time that is a late arrival and is read; by event time that folder holds only
    # 2026-11-03's events, which the window does not need.
    write_bytes(tmp_path, "day=2026-11-02", "part-0", json_bytes(A3_SESSION[:1], "lines"))
    write_bytes(tmp_path, "day=2026-11-03", "part-0", json_bytes(A3_SESSION[1:], "lines"))
    login = "2026-11-02T09:15:00+09:00"
    without_logout = expected_row("a3", login=login, last_activity=login)

    assert report(tmp_path, layout="day={date}", partition_time="arrival") == [A3_ROW]
    assert report(tmp_path, layout="day={date}", partition_time="event") == [without_logout]


def test_attributes_come_from_the_current_snapshot_only(tmp_path):
    records = [dict(r) for r in A3_SESSION]
    for r in records:
        previous = json.loads(json.dumps(r["CurrentAgentSnapshot"]))
        previous["Configuration"]["RoutingProfile"]["Name"] = "Premium"
        previous["Configuration"]["Username"] = "someone else"
        r["PreviousAgentSnapshot"] = previous
    write_events(tmp_path, records)

    assert report(tmp_path) == [A3_ROW]
