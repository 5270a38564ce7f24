"""timecard.generate: the synthetic agent event stream, checked through the files it writes."""

from __future__ import annotations

import gzip
import json
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from timecard import storage
from timecard.errors import UsageError
from timecard.generate import EVENT_TYPES, SITES, generate_events

MONDAY = date(2026, 11, 2)
UUID4 = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
TOP_LEVEL = [
    "AWSAccountId",
    "AgentARN",
    "CurrentAgentSnapshot",
    "EventId",
    "EventTimestamp",
    "EventType",
    "InstanceARN",
    "Version",
]
CONFIGURATION = ["AgentHierarchyGroups", "FirstName", "LastName", "Username", "RoutingProfile"]


def _files(root: str) -> dict[str, bytes]:
    """Relative path -> content of every file under `root`."""
    return {
        file.url[len(root) + 1 :]: storage.read_bytes(file.url) for file in storage.list_files(root)
    }


# -- a multi-day stream, read back whole --------------------------------------------------------


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    """80 agents over 4 days from a Monday, as Parquet by date, plus where each record sits."""
    root = str(tmp_path_factory.mktemp("stream"))
    summary = generate_events(root, agents=80, start=MONDAY, days=4, seed=3)
    frames = [
        pl.read_parquet(file.url).with_columns(
            file=pl.lit(file.url), partition=pl.lit(file.url.split("/")[-2][len("date=") :])
        )
        for file in storage.list_files(root)
    ]
    records = pl.concat(frames).with_row_index("row")
    snapshot = pl.col("CurrentAgentSnapshot")
    records = records.with_columns(
        ts=pl.col("EventTimestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", time_zone="UTC"),
        status=snapshot.struct.field("AgentStatus").struct.field("Name"),
        city=snapshot.struct.field("Configuration")
        .struct.field("AgentHierarchyGroups")
        .struct.field("Level2")
        .struct.field("Name"),
    )
    # One copy of each event, in event-time order per agent, with the gap since the previous one.
    events = (
        records.unique("EventId", keep="first")
        .sort("AgentARN", "ts", "EventId")
        .with_columns(
            previous_type=pl.col("EventType").shift(1).over("AgentARN", order_by="ts"),
            gap=(pl.col("ts") - pl.col("ts").shift(1)).over("AgentARN", order_by="ts"),
        )
    )
    return summary, records, events


def test_summary_counts_what_was_written(stream):
    summary, records, _ = stream

    assert summary.events == records.height
    assert summary.files == records["file"].n_unique() == 4 * 4  # one file per 6 hours
    assert summary.duplicates == records.height - records["EventId"].n_unique()
    counts = dict(records["EventType"].value_counts().iter_rows())
    assert summary.event_types == {name: counts[name] for name in EVENT_TYPES}
    assert str(summary).startswith(f"{summary.events:,} events (LOGIN ")


def test_heartbeats_and_state_changes_dwarf_logins_and_logouts(stream):
    summary, _, events = stream
    login_logout = summary.event_types["LOGIN"] + summary.event_types["LOGOUT"]

    activity = summary.event_types["HEART_BEAT"] + summary.event_types["STATE_CHANGE"]
    assert activity > 100 * login_logout
    shifts = events.filter(pl.col("EventType") == "LOGIN").height
    assert 200 < events.height / shifts < 330  # about 8 hours at one event per 2 minutes or less
    changes_per_login = summary.event_types["STATE_CHANGE"] / summary.event_types["LOGIN"]
    assert 20 <= changes_per_login <= 60


def test_heartbeats_come_every_120_seconds_between_other_events(stream):
    _, _, events = stream
    # Away from the cut at either end of the stream, where neighbours may be missing.
    inner = events.filter(
        pl.col("ts").is_between(
            datetime(2026, 11, 2, 0, 15, tzinfo=ZoneInfo("UTC")),
            datetime(2026, 11, 5, 23, 45, tzinfo=ZoneInfo("UTC")),
        )
    )
    beats = inner.filter(pl.col("EventType") == "HEART_BEAT", pl.col("previous_type").is_not_null())

    assert beats.height > 10_000
    assert beats["gap"].unique().to_list() == [timedelta(seconds=120)]
    assert inner.filter(pl.col("EventType") != "LOGIN")["gap"].max() <= timedelta(seconds=120)


def test_statuses_change_between_available_and_away_and_are_offline_at_login_and_logout(stream):
    _, records, _ = stream
    statuses = records.group_by("EventType").agg(pl.col("status").unique().sort())
    by_type = dict(statuses.iter_rows())

    assert by_type["LOGIN"] == by_type["LOGOUT"] == ["Offline"]
    assert set(by_type["STATE_CHANGE"]) == {
        "Available",
        "Break",
        "Lunch",
        "Meeting",
        "Offline",
        "Training",
    }


def test_sessions_without_logout_and_relogins_exist(stream):
    _, _, events = stream
    logins_and_logouts = events.filter(pl.col("EventType").is_in(["LOGIN", "LOGOUT"])).with_columns(
        previous=pl.col("EventType").shift(1).over("AgentARN", order_by="ts")
    )
    # A LOGIN while a session is open: the gap to the agent's last event tells the two cases apart.
    login_again = events.join(
        logins_and_logouts.filter(pl.col("EventType") == "LOGIN", pl.col("previous") == "LOGIN"),
        on="EventId",
    )
    relogins = login_again.filter(pl.col("gap") <= timedelta(minutes=15))
    ccp_closed = login_again.filter(pl.col("gap") >= timedelta(hours=6))

    assert relogins.height >= 3
    assert ccp_closed.height >= 3
    logouts = logins_and_logouts.filter(pl.col("EventType") == "LOGOUT")
    assert logouts.filter(pl.col("previous") == "LOGIN").height > 0.8 * logouts.height


def test_the_stream_starts_mid_session_so_some_agents_begin_with_a_logout(stream):
    _, _, events = stream
    first_of_agent = events.filter(pl.col("previous_type").is_null())

    first_session_event = (
        events.filter(pl.col("EventType").is_in(["LOGIN", "LOGOUT"]))
        .group_by("AgentARN")
        .agg(pl.col("EventType").sort_by("ts").first())
    )
    assert "LOGOUT" in first_session_event["EventType"].to_list()
    assert first_of_agent.filter(pl.col("EventType") != "LOGIN").height > 0


def test_some_shifts_cross_local_midnight(stream):
    _, _, events = stream
    zones = {site.city: site.time_zone for site in SITES}
    previous = pl.col("EventType", "ts").shift(1).over("AgentARN", order_by="ts")
    sessions = (
        events.filter(pl.col("EventType").is_in(["LOGIN", "LOGOUT"]), pl.col("city").is_not_null())
        .with_columns(previous.name.prefix("previous_"))
        .filter(pl.col("EventType") == "LOGOUT", pl.col("previous_EventType") == "LOGIN")
        .rename({"previous_ts": "login"})
    )
    crossing = [
        row
        for row in sessions.select("city", "login", "ts").iter_rows(named=True)
        if row["login"].astimezone(ZoneInfo(zones[row["city"]])).date()
        != row["ts"].astimezone(ZoneInfo(zones[row["city"]])).date()
    ]

    assert len(crossing) >= 3


def test_about_one_in_a_thousand_events_is_delivered_twice_with_identical_content(stream):
    _, records, _ = stream
    copies = records.filter(pl.col("EventId").is_duplicated())

    assert 0.0003 < copies.height / 2 / records.height < 0.003
    assert copies.group_by("EventId").len()["len"].unique().to_list() == [2]
    content = copies.select(TOP_LEVEL).unique()
    assert content.height == copies["EventId"].n_unique()
    spread = copies.group_by("EventId").agg(pl.col("file").n_unique())
    assert spread.filter(pl.col("file") > 1).height > 0  # some second deliveries in a later file


def test_late_events_land_in_the_next_days_partition(stream):
    _, records, _ = stream
    event_day = pl.col("ts").dt.date().cast(pl.String)
    late = records.with_columns(delivered_twice=pl.col("EventId").is_duplicated()).filter(
        event_day < pl.col("partition")
    )
    late_first_deliveries = late.filter(~pl.col("delivered_twice"))

    assert late_first_deliveries.height > 0
    # A first delivery is late by minutes at most; a second one can come hours later.
    assert (late_first_deliveries["ts"].dt.time() >= time(23, 50)).all()
    assert records.filter(event_day > pl.col("partition")).is_empty()


def test_records_in_a_file_are_not_in_event_time_order(stream):
    _, records, _ = stream
    backwards = records.sort("row").filter(
        pl.col("ts") < pl.col("ts").shift(1).over("file", order_by="row")
    )

    assert backwards.height > 0


def test_agents_have_unique_ascii_usernames_and_varied_names_and_hierarchies(stream):
    _, records, _ = stream
    configuration = records.select(
        "AgentARN", pl.col("CurrentAgentSnapshot").struct.field("Configuration")
    ).unique("AgentARN")
    agents = configuration.unnest("Configuration")

    assert agents["Username"].n_unique() == agents.height == 80
    assert agents["Username"].str.contains(r"^[a-z0-9.]+$").all()
    names = agents["FirstName"] + " " + agents["LastName"]
    assert names.str.contains(r"[\uac00-\ud7a3]").any()  # Hangul
    assert names.str.contains("[áéëíñóöüç]").any()
    assert names.str.contains("[,']").any()
    assert 4 <= agents["RoutingProfile"].struct.field("Name").n_unique() <= 6
    hierarchy = agents["AgentHierarchyGroups"]
    assert 0 < hierarchy.is_null().sum() < 0.25 * agents.height
    levels_set = sum(
        hierarchy.struct.field(f"Level{level}").is_not_null().cast(pl.Int32)
        for level in range(1, 6)
    )
    assert set(levels_set.filter(hierarchy.is_not_null()).to_list()) >= {1, 2, 3}


# -- formats and layouts ------------------------------------------------------------------------


LAYOUT_PATHS = {
    ("parquet", "date"): r"date=2026-11-0[23]/part-0000[0-3]\.parquet",
    ("ndjson", "date"): r"date=2026-11-0[23]/part-0000[0-3]\.json\.gz",
    ("parquet", "ymd"): r"year=2026/month=11/day=0[23]/part-0000[0-3]\.parquet",
    ("ndjson", "ymd"): r"year=2026/month=11/day=0[23]/part-0000[0-3]\.json\.gz",
    ("parquet", "firehose"): rf"2026/11/0[23]/\d\d/timecard-stream-1-[-\d]{{19}}-{UUID4}\.parquet",
    ("ndjson", "firehose"): rf"2026/11/0[23]/\d\d/timecard-stream-1-[-\d]{{19}}-{UUID4}",
}


@pytest.mark.parametrize(("fmt", "layout"), LAYOUT_PATHS)
def test_each_layout_and_format_writes_the_expected_paths(tmp_path, fmt, layout):
    root = str(tmp_path)
    summary = generate_events(root, agents=6, start=MONDAY, days=2, fmt=fmt, layout=layout)

    files = _files(root)
    assert len(files) == summary.files > 2
    assert sum(len(data) for data in files.values()) == summary.bytes
    for path in files:
        assert re.fullmatch(LAYOUT_PATHS[fmt, layout], path), path
    days = {re.search(r"(?:date=2026-11-|day=|2026/11/)(\d\d)", path)[1] for path in files}
    assert days == {"02", "03"}
    if layout == "firehose":
        for path in files:
            folder_day, folder_hour, name = path.split("/")[2:]
            assert name[len("timecard-stream-1-2026-11-") :].startswith(
                f"{folder_day}-{folder_hour}"
            )
    assert sum(_count_records(data, fmt) for data in files.values()) == summary.events


def _count_records(data: bytes, fmt: str) -> int:
    if fmt == "parquet":
        return pl.read_parquet(data).height
    return len(gzip.decompress(data).splitlines())


def test_parquet_records_are_nested_structs_with_camel_case_names(tmp_path):
    generate_events(str(tmp_path), agents=5, start=MONDAY, days=1)
    schema = pl.read_parquet_schema(next(iter(storage.list_files(str(tmp_path)))).url)

    assert list(schema) == TOP_LEVEL
    snapshot = schema["CurrentAgentSnapshot"]
    assert [field.name for field in snapshot.fields] == ["AgentStatus", "Configuration", "Contacts"]
    status, configuration, contacts = (field.dtype for field in snapshot.fields)
    assert status == pl.Struct(dict.fromkeys(["ARN", "Name", "StartTimestamp", "Type"], pl.String))
    assert [field.name for field in configuration.fields] == CONFIGURATION
    routing_profile = {field.name: field.dtype for field in configuration.fields}["RoutingProfile"]
    assert {field.name: field.dtype for field in routing_profile.fields}[
        "InboundQueues"
    ] == pl.List(pl.Struct({"ARN": pl.String, "Name": pl.String}))
    assert isinstance(contacts, pl.List)
    for name in ("EventId", "EventTimestamp", "EventType", "AgentARN"):
        assert schema[name] == pl.String


def test_ndjson_is_gzip_and_every_line_is_a_complete_record(tmp_path):
    root = str(tmp_path)
    summary = generate_events(root, agents=5, start=MONDAY, days=1, fmt="ndjson", layout="firehose")

    lines = []
    for path, data in _files(root).items():
        assert data[:2] == b"\x1f\x8b", path  # gzip, though Firehose gave the object no extension
        lines += gzip.decompress(data).decode("utf-8").splitlines()
    assert len(lines) == summary.events
    for line in lines:
        record = json.loads(line)
        assert list(record) == TOP_LEVEL
        assert record["AWSAccountId"] == "123456789012"
        assert record["Version"] == "2019-05-25"
        assert record["EventType"] in EVENT_TYPES
        assert re.fullmatch(UUID4, record["EventId"])
        assert ISO_MS.fullmatch(record["EventTimestamp"])
        assert record["AgentARN"].startswith(record["InstanceARN"] + "/agent/")
        snapshot = record["CurrentAgentSnapshot"]
        assert ISO_MS.fullmatch(snapshot["AgentStatus"]["StartTimestamp"])
        assert snapshot["AgentStatus"]["StartTimestamp"] <= record["EventTimestamp"]
        assert snapshot["AgentStatus"]["Type"] in {"ROUTABLE", "CUSTOM", "OFFLINE"}
        assert snapshot["Contacts"] == []
        configuration = snapshot["Configuration"]
        assert list(configuration) == CONFIGURATION
        hierarchy = configuration["AgentHierarchyGroups"]
        assert hierarchy is None or list(hierarchy) == [f"Level{n}" for n in range(1, 6)]
        profile = configuration["RoutingProfile"]
        assert profile["DefaultOutboundQueue"]["Name"] == "Outbound"
        assert all(set(queue) == {"ARN", "Name"} for queue in profile["InboundQueues"])


def test_writes_to_s3(s3_bucket):
    root = f"{s3_bucket}/raw/events"
    summary = generate_events(root, agents=3, start=MONDAY, days=1, fmt="ndjson", layout="ymd")

    files = _files(root)
    assert sorted(files) == [f"year=2026/month=11/day=02/part-0000{n}.json.gz" for n in range(4)]
    assert sum(_count_records(data, "ndjson") for data in files.values()) == summary.events


# -- determinism ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "layout"), [("parquet", "date"), ("ndjson", "firehose")])
def test_the_same_arguments_give_byte_identical_files(tmp_path, fmt, layout):
    arguments = dict(agents=12, start=MONDAY, days=1, seed=5, fmt=fmt, layout=layout)
    generate_events(str(tmp_path / "first"), **arguments)
    generate_events(str(tmp_path / "second"), **arguments)
    generate_events(str(tmp_path / "other-seed"), **{**arguments, "seed": 6})

    first = _files(str(tmp_path / "first"))
    assert first == _files(str(tmp_path / "second"))
    assert first != _files(str(tmp_path / "other-seed"))


def test_a_days_partition_does_not_depend_on_the_days_around_it(tmp_path):
    generate_events(str(tmp_path / "three-days"), agents=12, start=MONDAY, days=3)
    generate_events(str(tmp_path / "one-day"), agents=12, start=MONDAY + timedelta(days=1), days=1)

    middle = _files(str(tmp_path / "three-days" / "date=2026-11-03"))
    assert middle
    assert middle == _files(str(tmp_path / "one-day" / "date=2026-11-03"))


# -- bad arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"agents": 0}, "number of agents must be a whole number from 1 to 50,000; got 0"),
        ({"days": 0}, "number of days must be a whole number from 1 to 366; got 0"),
        ({"start": "2026-11-02"}, "start must be a calendar date"),
        ({"start": datetime(2026, 11, 2, 8)}, "start must be a calendar date"),
        ({"fmt": "csv"}, "format must be one of parquet, ndjson; got 'csv'"),
        ({"layout": "hive"}, "layout must be one of date, ymd, firehose; got 'hive'"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(tmp_path, change, message):
    arguments = {"agents": 2, "start": MONDAY, "days": 1, **change}

    with pytest.raises(UsageError, match=re.escape(message)):
        generate_events(str(tmp_path), **arguments)
    assert storage.list_files(str(tmp_path)) == []
