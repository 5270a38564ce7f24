"""timecard.generate.stream (generate_events): the synthetic agent event stream, checked through
the files it writes.

Moved from tests/timecard/test_generate.py when timecard/generate.py became the timecard/generate/
subpackage: these tests exercise the whole package through generate_events, which lives in
stream.py; each other module has its own test module beside this one. The tests themselves are
unchanged; the ones at the end (byte digests, rolled-over files, memory) are new.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.builders import STREAM_KEYS
from timecard import storage
from timecard.cli import main
from timecard.errors import UsageError
from timecard.generate import (
    CONTACT_STATES,
    EVENT_TYPES,
    SHAPES,
    SITES,
    encode_records,
    generate_events,
)
from timecard.limits import SHAPES as GENERATED_SHAPES

MONDAY = date(2026, 11, 2)
UUID4 = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
CONFIGURATION = [
    "AgentHierarchyGroups",
    "FirstName",
    "LastName",
    "Proficiencies",
    "RoutingProfile",
    "Username",
]


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
    content = copies.select(STREAM_KEYS).unique()
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
    ("ndjson-gz", "date"): r"date=2026-11-0[23]/part-0000[0-3]\.json\.gz",
    ("parquet", "ymd"): r"year=2026/month=11/day=0[23]/part-0000[0-3]\.parquet",
    ("ndjson-gz", "ymd"): r"year=2026/month=11/day=0[23]/part-0000[0-3]\.json\.gz",
    ("parquet", "firehose"): rf"2026/11/0[23]/\d\d/timecard-stream-1-[-\d]{{19}}-{UUID4}\.parquet",
    ("ndjson-gz", "firehose"): rf"2026/11/0[23]/\d\d/timecard-stream-1-[-\d]{{19}}-{UUID4}",
    ("concatenated", "firehose"): rf"2026/11/0[23]/\d\d/timecard-stream-1-[-\d]{{19}}-{UUID4}",
    ("pretty", "date"): r"date=2026-11-0[23]/part-0000[0-3]\.json",
    ("parquet-glue-string", "clientname=acme/rowdate={date}"): (
        r"clientname=acme/rowdate=2026-11-0[23]/part-0000[0-3]\.parquet"
    ),
}


@pytest.mark.parametrize(("shape", "layout"), LAYOUT_PATHS)
def test_each_layout_and_shape_writes_the_expected_paths(tmp_path, shape, layout):
    root = str(tmp_path)
    summary = generate_events(root, agents=6, start=MONDAY, days=2, shape=shape, layout=layout)

    files = _files(root)
    assert len(files) == summary.files > 2
    assert sum(len(data) for data in files.values()) == summary.bytes
    for path in files:
        assert re.fullmatch(LAYOUT_PATHS[shape, layout], path), path
    days = {re.search(r"(?:date=2026-11-|day=|2026/11/)(\d\d)", path)[1] for path in files}
    assert days == {"02", "03"}
    if layout == "firehose":
        for path in files:
            folder_day, folder_hour, name = path.split("/")[2:]
            assert name[len("timecard-stream-1-2026-11-") :].startswith(
                f"{folder_day}-{folder_hour}"
            )
    assert sum(_count_records(data, shape) for data in files.values()) == summary.events


def _count_records(data: bytes, shape: str) -> int:
    return len(_read_records(data, shape))


def test_parquet_records_are_nested_structs_with_camel_case_names(tmp_path):
    generate_events(str(tmp_path), agents=5, start=MONDAY, days=1)
    schema = pl.read_parquet_schema(next(iter(storage.list_files(str(tmp_path)))).url)

    assert list(schema) == STREAM_KEYS
    snapshot = schema["CurrentAgentSnapshot"]
    assert [field.name for field in snapshot.fields] == [
        "AgentStatus",
        "NextAgentStatus",
        "Configuration",
        "Contacts",
    ]
    status, _, configuration, contacts = (field.dtype for field in snapshot.fields)
    assert status == pl.Struct(dict.fromkeys(["ARN", "Name", "StartTimestamp", "Type"], pl.String))
    assert [field.name for field in configuration.fields] == CONFIGURATION
    routing_profile = {field.name: field.dtype for field in configuration.fields}["RoutingProfile"]
    assert {field.name: field.dtype for field in routing_profile.fields}[
        "InboundQueues"
    ] == pl.List(pl.Struct({"ARN": pl.String, "Channels": pl.List(pl.String), "Name": pl.String}))
    assert isinstance(contacts, pl.List)
    for name in ("EventId", "EventTimestamp", "EventType", "AgentARN"):
        assert schema[name] == pl.String


def test_ndjson_is_gzip_and_every_line_is_a_complete_record(tmp_path):
    root = str(tmp_path)
    summary = generate_events(
        root, agents=5, start=MONDAY, days=1, shape="ndjson-gz", layout="firehose"
    )

    lines = []
    for path, data in _files(root).items():
        assert data[:2] == b"\x1f\x8b", path  # gzip, though Firehose gave the object no extension
        lines += gzip.decompress(data).decode("utf-8").splitlines()
    assert len(lines) == summary.events
    for line in lines:
        record = json.loads(line)
        # PreviousAgentSnapshot may be missing from LOGIN and LOGOUT records.
        assert list(record) == [key for key in STREAM_KEYS if key in record]
        assert len(record) >= len(STREAM_KEYS) - 1
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
        assert all(contact["State"] in CONTACT_STATES for contact in snapshot["Contacts"])
        configuration = snapshot["Configuration"]
        # Proficiencies is left out where the agent has none.
        assert list(configuration) == [key for key in CONFIGURATION if key in configuration]
        assert len(configuration) >= len(CONFIGURATION) - 1
        hierarchy = configuration["AgentHierarchyGroups"]
        assert hierarchy is None or list(hierarchy) == [f"Level{n}" for n in range(1, 6)]
        profile = configuration["RoutingProfile"]
        assert profile["DefaultOutboundQueue"]["Name"] == "Outbound"
        assert all(set(queue) == {"ARN", "Channels", "Name"} for queue in profile["InboundQueues"])
        own_queue = profile["InboundQueues"][0]
        assert own_queue["Name"] is None
        assert own_queue["ARN"].endswith("/queue/agent/" + record["AgentARN"].split("/")[-1])


def test_writes_to_s3(s3_bucket):
    root = f"{s3_bucket}/raw/events"
    summary = generate_events(root, agents=3, start=MONDAY, days=1, shape="ndjson-gz", layout="ymd")

    files = _files(root)
    assert sorted(files) == [f"year=2026/month=11/day=02/part-0000{n}.json.gz" for n in range(4)]
    assert sum(_count_records(data, "ndjson-gz") for data in files.values()) == summary.events


# -- shapes: each is what it claims, read from its bytes ------------------------------------------

JSON_SHAPES = [shape for shape in SHAPES if not shape.startswith("parquet")]
PARQUET_SHAPES = [shape for shape in SHAPES if shape.startswith("parquet")]
GZIP_MAGIC = b"\x1f\x8b"


def _json_texts(data: bytes) -> tuple[str, list[tuple[int, int]]]:
    """The decompressed text and each record's (start, end) offsets, parsed one after another."""
    text = (gzip.decompress(data) if data[:2] == GZIP_MAGIC else data).decode("utf-8")
    decoder, spans, position = json.JSONDecoder(), [], 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        _, end = decoder.raw_decode(text, position)
        spans.append((position, end))
        position = end
    return text, spans


def _read_records(data: bytes, shape: str) -> list[dict]:
    if data[:4] == b"PAR1":
        return pq.read_table(io.BytesIO(data)).to_pylist()
    text, spans = _json_texts(data)
    return [json.loads(text[start:end]) for start, end in spans]


def _keys(value) -> set[str]:
    """Every key, at any depth."""
    if isinstance(value, dict):
        return set(value).union(*(_keys(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(item) for item in value))
    return set()


@pytest.fixture(scope="module")
def shaped(tmp_path_factory):
    """Shape -> {relative path: bytes} of 10 agents over 2 days, each shape with the same args."""
    written = {}
    for shape in SHAPES:
        root = str(tmp_path_factory.mktemp(shape))
        # Seed 2: two of the ten agents have no hierarchy.
        generate_events(root, agents=10, start=MONDAY, days=2, seed=2, shape=shape)
        written[shape] = _files(root)
    return written


@pytest.mark.parametrize("shape", JSON_SHAPES)
def test_each_json_shape_is_what_it_claims(shaped, shape):
    files = shaped[shape]
    assert files
    for path, data in files.items():
        assert (data[:2] == GZIP_MAGIC) == shape.endswith("-gz"), path
        assert path.endswith(".json.gz" if shape.endswith("-gz") else ".json"), path
        text, spans = _json_texts(data)
        between = [text[end:start] for (_, end), (start, _) in zip(spans, spans[1:], strict=False)]
        lines = text.splitlines()
        if shape in ("ndjson", "ndjson-gz", "ndjson-lower"):
            assert set(between) == {"\n"} and text.endswith("}\n")
            assert len(lines) == len(spans)
        elif shape.startswith("concatenated"):
            assert set(between) == {""} and "\n" not in text  # `}{`: back to back
        elif shape == "pretty":
            assert set(between) == {"\n"}
            assert all(text[start:end].count("\n") > 20 for start, end in spans)
            assert lines[1].startswith('  "AWSAccountId": ')  # indent 2
        else:  # mixed: all three styles in one file (files here hold hundreds of records)
            assert set(between) == {"", "\n"}
            one_line = [text[start:end] for start, end in spans if "\n" not in text[start:end]]
            assert 0 < len(one_line) < len(spans)
        records = [json.loads(text[start:end]) for start, end in spans]
        if shape == "ndjson-lower":
            assert all(key == key.lower() for key in _keys(records))
            assert "currentagentsnapshot" in records[0]
        else:
            assert {"AWSAccountId", "CurrentAgentSnapshot", "AgentHierarchyGroups"} <= _keys(
                records
            )


def _leaf_names(arrow_type: pa.DataType) -> set[str]:
    """Every field name inside a nested Arrow type."""
    if pa.types.is_struct(arrow_type):
        fields = [arrow_type.field(i) for i in range(arrow_type.num_fields)]
        return {field.name for field in fields}.union(*(_leaf_names(f.type) for f in fields))
    if pa.types.is_list(arrow_type):
        return _leaf_names(arrow_type.value_type)
    return set()


def _parquet(data: bytes) -> pq.ParquetFile:
    return pq.ParquetFile(io.BytesIO(data))


def _string_leaves_are_dictionary_encoded(parquet: pq.ParquetFile) -> bool:
    group = parquet.metadata.row_group(0)
    string_columns = [
        group.column(i)
        for i in range(group.num_columns)
        if parquet.schema.column(i).physical_type == "BYTE_ARRAY"
    ]
    return bool(string_columns) and all(
        column.has_dictionary_page and column.compression == "SNAPPY" for column in string_columns
    )


def test_parquet_pyarrow_is_dictionary_encoded_inside_structs_in_row_groups_of_10000(shaped):
    data = next(iter(shaped["parquet-pyarrow"].values()))
    parquet = _parquet(data)
    assert parquet.schema_arrow.names == STREAM_KEYS
    paths = [parquet.schema.column(i).path for i in range(len(parquet.schema))]
    assert "CurrentAgentSnapshot.Configuration.Username" in paths
    assert _string_leaves_are_dictionary_encoded(parquet)
    assert b"ARROW:schema" not in (parquet.metadata.metadata or {})  # as parquet-mr writes it
    # A file of 25,000 records has row groups of 10,000, 10,000 and 5,000.
    records = pq.read_table(io.BytesIO(data))
    many = pl.concat([pl.from_arrow(records)] * (25_000 // records.num_rows + 1)).head(25_000)
    groups = _parquet(encode_records(many, "parquet-pyarrow")).metadata
    sizes = [groups.row_group(i).num_rows for i in range(groups.num_row_groups)]
    assert sizes == [10_000, 10_000, 5_000]


def _utc_ms_timestamp(parquet: pq.ParquetFile) -> None:
    (column,) = [
        parquet.schema.column(i)
        for i in range(len(parquet.schema))
        if parquet.schema.column(i).path == "eventtimestamp"
    ]
    assert column.physical_type == "INT64"
    logical = json.loads(column.logical_type.to_json())
    assert logical["Type"] == "Timestamp"
    assert logical["isAdjustedToUTC"] is True
    assert logical["timeUnit"] == "milliseconds"
    assert parquet.schema_arrow.field("eventtimestamp").type == pa.timestamp("ms", tz="UTC")


def test_parquet_glue_struct_is_lower_case_with_a_timestamp_and_json_text_hierarchy(shaped):
    hierarchies = []
    for data in shaped["parquet-glue-struct"].values():
        parquet = _parquet(data)
        schema = parquet.schema_arrow
        assert schema.names == [name.lower() for name in STREAM_KEYS]
        names = set(schema.names).union(*(_leaf_names(field.type) for field in schema))
        assert all(name == name.lower() for name in names)
        _utc_ms_timestamp(parquet)
        assert _string_leaves_are_dictionary_encoded(parquet)
        snapshot = schema.field("currentagentsnapshot").type
        configuration = snapshot.field("configuration").type
        assert configuration.field("agenthierarchygroups").type == pa.string()
        assert snapshot.field("nextagentstatus").type == pa.string()
        assert pa.types.is_struct(configuration.field("routingprofile").type)
        hierarchies += [
            row["currentagentsnapshot"]["configuration"]["agenthierarchygroups"]
            for row in parquet.read().to_pylist()
        ]
    assert None in hierarchies  # an agent without hierarchy: null, not the text "null"
    parsed = [json.loads(text) for text in hierarchies if text is not None]
    assert parsed and all(set(groups) == {f"level{n}" for n in range(1, 6)} for groups in parsed)


@pytest.mark.parametrize(
    ("shape", "spelled"),
    [("parquet-glue-string", str.lower), ("parquet-json-text-camel", str)],
)
def test_parquet_with_json_text_snapshots(shaped, shape, spelled):
    for data in shaped[shape].values():
        parquet = _parquet(data)
        schema = parquet.schema_arrow
        assert schema.names == [name.lower() for name in STREAM_KEYS]
        _utc_ms_timestamp(parquet)
        assert _string_leaves_are_dictionary_encoded(parquet)
        assert schema.field("currentagentsnapshot").type == pa.string()
        assert schema.field("previousagentsnapshot").type == pa.string()
        rows = parquet.read().to_pylist()
        snapshots = [json.loads(row["currentagentsnapshot"]) for row in rows]
        assert all(spelled("AgentStatus") in snapshot for snapshot in snapshots)
        username = [
            snapshot[spelled("Configuration")][spelled("Username")] for snapshot in snapshots
        ]
        assert all(username)
        login_logout = [row for row in rows if row["eventtype"] in ("LOGIN", "LOGOUT")]
        assert login_logout and all(row["previousagentsnapshot"] is None for row in login_logout)


def _normalised(record: dict) -> tuple:
    """(EventId, EventType, instant, Username) of a record in any shape."""
    lowered = {key.lower(): value for key, value in record.items()}
    snapshot = lowered["currentagentsnapshot"]
    if isinstance(snapshot, str):
        snapshot = json.loads(snapshot)
    snapshot = _lower_keys(snapshot)
    instant = lowered["eventtimestamp"]
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    return (
        lowered["eventid"],
        lowered["eventtype"],
        instant,
        snapshot["configuration"]["username"],
    )


def _lower_keys(value):
    if isinstance(value, dict):
        return {key.lower(): _lower_keys(item) for key, item in value.items()}
    return value


def test_every_shape_holds_the_same_records(shaped):
    def contents(shape: str) -> Counter:
        return Counter(
            _normalised(record)
            for data in shaped[shape].values()
            for record in _read_records(data, shape)
        )

    expected = contents("parquet")
    assert sum(expected.values()) > 3_000
    for shape in SHAPES:
        assert contents(shape) == expected, shape


def test_json_records_carry_real_records_optional_parts(shaped):
    records = [r for data in shaped["ndjson"].values() for r in _read_records(data, "ndjson")]
    login_logout = [r for r in records if r["EventType"] in ("LOGIN", "LOGOUT")]
    activity = [r for r in records if r["EventType"] not in ("LOGIN", "LOGOUT")]

    # PreviousAgentSnapshot: missing or null on LOGIN/LOGOUT, present on the others.
    assert any("PreviousAgentSnapshot" not in r for r in login_logout)
    assert any(r.get("PreviousAgentSnapshot", 0) is None for r in login_logout)
    assert all(r["PreviousAgentSnapshot"] for r in activity)
    current = [r["CurrentAgentSnapshot"] for r in activity]
    previous = [r["PreviousAgentSnapshot"] for r in activity]
    profile = [
        (c["Configuration"]["RoutingProfile"]["Name"], p["Configuration"]["RoutingProfile"]["Name"])
        for c, p in zip(current, previous, strict=True)
    ]
    assert 0 < sum(now != before for now, before in profile) < 0.05 * len(profile)
    statuses = [
        (c["AgentStatus"]["Name"], p["AgentStatus"]["Name"])
        for c, p in zip(current, previous, strict=True)
    ]
    assert sum(now != before for now, before in statuses) > 100
    # NextAgentStatus now and then, with either spelling of its timestamp key.
    queued = [c["NextAgentStatus"] for c in current if "NextAgentStatus" in c]
    assert 0 < len(queued) < 0.1 * len(current)
    assert {key for status in queued for key in status if key.startswith("Enqueue")} == {
        "EnqueueTimestamp",
        "EnqueuedTimestamp",
    }
    assert all(len(status) == 3 for status in queued)
    # Contacts in every state; an ERROR contact has null timestamps.
    contacts = [contact for c in current for contact in c["Contacts"]]
    assert {contact["State"] for contact in contacts} == set(CONTACT_STATES)
    errors = [contact for contact in contacts if contact["State"] == "ERROR"]
    assert all(contact["ConnectedToAgentTimestamp"] is None for contact in errors)
    assert all(contact["QueueTimestamp"] is None for contact in errors)
    assert all(c["AgentStatus"]["Type"] in {"ROUTABLE", "CUSTOM", "OFFLINE"} for c in current)
    routing = current[0]["Configuration"]["RoutingProfile"]
    assert {"Concurrency", "DefaultOutboundQueue", "InboundQueues"} <= set(routing)
    assert any(c["Configuration"].get("Proficiencies") for c in current)
    # About 2 to 4 KB of JSON per record, as real ones.
    sizes = [
        len(json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode()) for r in records
    ]
    assert 2_000 < sum(sizes) / len(sizes) < 4_600


# -- layouts, templates and event time ------------------------------------------------------------


def _filed(root: str, pattern: str) -> list[tuple[str, dict]]:
    """(folder time, record) for every record, the folder time read with `pattern`."""
    filed = []
    for path, data in _files(root).items():
        match = re.match(pattern, path)
        assert match, path
        filed += [(match[1], record) for record in _read_records(data, "")]
    return filed


@pytest.mark.parametrize(
    ("layout", "pattern", "clock"),
    [
        (
            "year={yyyy}/month={MM}/day={dd}",
            r"(year=\d{4}/month=\d\d/day=\d\d)/",
            "year=%Y/month=%m/day=%d",
        ),
        (
            "clientname=acme/rowdate={date}",
            r"clientname=acme/rowdate=([-\d]{10})/part-",
            "%Y-%m-%d",
        ),
        ("{yyyy}/{MM}/{dd}/{HH}", r"(\d{4}/\d\d/\d\d/\d\d)/timecard-stream-1-", "%Y/%m/%d/%H"),
    ],
)
def test_records_are_filed_by_event_time_or_by_arrival_time(tmp_path, layout, pattern, clock):
    arguments = dict(
        agents=30, start=MONDAY, days=2, seed=2, shape="concatenated-gz", layout=layout
    )
    generate_events(str(tmp_path / "event"), partition_time="event", **arguments)
    generate_events(str(tmp_path / "arrival"), **arguments)

    def filing(partition_time: str) -> list[tuple[str, str, str]]:
        """(folder time, the record's event time in the folder's format, EventId)."""
        return [
            (
                folder,
                datetime.fromisoformat(record["EventTimestamp"]).strftime(clock),
                record["EventId"],
            )
            for folder, record in _filed(str(tmp_path / partition_time), pattern)
        ]

    by_event, by_arrival = filing("event"), filing("arrival")
    assert all(folder == event_time for folder, event_time, _ in by_event)
    late = [row for row in by_arrival if row[0] != row[1]]
    assert late and all(folder > event_time for folder, event_time, _ in late)
    # The same records either way: the stream is cut on arrival time in both.
    assert Counter(row[2] for row in by_event) == Counter(row[2] for row in by_arrival)


def test_event_time_folders_hold_records_that_arrived_the_next_day_in_their_own_files(tmp_path):
    generate_events(
        str(tmp_path), agents=30, start=MONDAY, days=2, layout="date", partition_time="event"
    )
    names = sorted(_files(str(tmp_path)))
    # Records of the day before the stream's start that arrived on it, and of the first day
    # that arrived on the second, sit in parts numbered from their folder's day.
    assert "date=2026-11-01/part-00004.parquet" in names
    assert "date=2026-11-02/part-00004.parquet" in names
    assert "date=2026-11-03/part-00000.parquet" in names


# -- determinism ----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_the_same_arguments_give_byte_identical_files(tmp_path, shape):
    layout = "firehose" if shape.endswith("-gz") else "date"
    arguments = dict(agents=12, start=MONDAY, days=1, seed=5, shape=shape, layout=layout)
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
        ({"shape": "csv"}, "shape must be one of ndjson, ndjson-gz, concatenated,"),
        ({"layout": "hive"}, "The layout 'hive' does not name the day"),
        ({"layout": "{yyyy}/{HH}/{MM}/{dd}"}, "puts {HH} in or before a folder that names the day"),
        ({"partition_time": "ingest"}, "partition time must be one of arrival, event; got"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(tmp_path, change, message):
    arguments = {"agents": 2, "start": MONDAY, "days": 1, **change}

    with pytest.raises(UsageError, match=re.escape(message)):
        generate_events(str(tmp_path), **arguments)
    assert storage.list_files(str(tmp_path)) == []


# -- the command line -----------------------------------------------------------------------------


def test_the_command_line_offers_every_shape_and_keeps_format_as_an_alias(tmp_path, capsys):
    arguments = ["--agents", "3", "--start", "2026-11-02", "--days", "1", "--layout", "firehose"]

    assert GENERATED_SHAPES == SHAPES
    assert (
        main(
            ["generate-events", "--out", str(tmp_path / "format"), *arguments, "--format", "ndjson"]
        )
        == 0
    )
    assert (
        main(
            [
                "generate-events",
                "--out",
                str(tmp_path / "shape"),
                *arguments,
                "--shape",
                "ndjson-gz",
            ]
        )
        == 0
    )
    assert _files(str(tmp_path / "format")) == _files(str(tmp_path / "shape"))
    template = ["--layout", "clientname=acme/rowdate={date}", "--partition-time", "event"]
    assert (
        main(
            [
                "generate-events",
                "--out",
                str(tmp_path / "t"),
                *arguments[:-2],
                *template,
                "--shape",
                "mixed-gz",
            ]
        )
        == 0
    )
    assert sorted(_files(str(tmp_path / "t")))[0].startswith("clientname=acme/rowdate=2026-11-0")
    assert (
        main(
            ["generate-events", "--out", str(tmp_path / "bad"), *arguments[:-2], "--layout", "{HH}"]
        )
        == 2
    )
    assert "does not name the day" in capsys.readouterr().err


# -- a stream cut at an instant -------------------------------------------------------------------


def test_until_cuts_the_stream_at_an_instant_and_keeps_everything_before_it(tmp_path):
    """`make run` stops its sample at now: nothing arrives (so nothing happened) at or after
    `until`, and what arrived before it is exactly the uncut stream's."""
    until = datetime(2026, 11, 3, 10, 30, 15, tzinfo=UTC)
    generate_events(str(tmp_path / "cut"), agents=20, start=MONDAY, days=2, until=until)
    generate_events(str(tmp_path / "whole"), agents=20, start=MONDAY, days=2)

    def records(root: str) -> pl.DataFrame:
        frames = [pl.read_parquet(file.url) for file in storage.list_files(root)]
        return pl.concat(frames).select("EventId", "EventType", "EventTimestamp")

    cut, whole = records(str(tmp_path / "cut")), records(str(tmp_path / "whole"))
    stamps = cut["EventTimestamp"].str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", time_zone="UTC")
    assert stamps.max() < until
    assert stamps.max() > until - timedelta(minutes=10)  # busy agents: it runs up to the cut
    assert set(cut["EventId"]) < set(whole["EventId"])
    later = whole.filter(
        pl.col("EventTimestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", time_zone="UTC")
        < until - timedelta(hours=1)  # delivered well before the cut
    )
    assert set(later["EventId"]) <= set(cut["EventId"])


def test_until_must_be_an_aware_instant(tmp_path):
    with pytest.raises(UsageError, match="aware date and time"):
        generate_events(str(tmp_path), agents=2, start=MONDAY, days=1, until=datetime(2026, 11, 2))


# -- bytes pinned, and memory that does not grow with the roster ----------------------------------

# sha256 over each file's relative path and sha256, for 4 agents over a Monday with seed 11, as
# the generator before the subpackage (one file, a whole day in memory) wrote them: a change that
# alters the bytes fails here (the bench's stored figures and the reference tests rely on them).
PINNED = {
    ("ndjson-gz", "date"): "ff1ad4070f0283cdcdf975d84dc353c8ad9725600cb78fe1f739293829b1e4ee",
    ("parquet-pyarrow", "firehose"): (
        "5d6fc421c5b48eb5bc94335272895436ad7aaf93e1746d420b20f67d97b061c8"
    ),
    ("mixed", "date"): "cf612e9c0853dca3c222cee2de6e9362fac36df296a0db7d7da8cd201770f384",
    ("parquet", "ymd"): "981bcf32eec7565db5e01c619ba1e01e43808fecb15ac1d8cf2a5975e6ffe1ab",
}


@pytest.mark.parametrize(("shape", "layout"), list(PINNED))
def test_the_bytes_written_are_pinned(tmp_path, shape, layout):
    generate_events(
        str(tmp_path), agents=4, start=MONDAY, days=1, seed=11, shape=shape, layout=layout
    )
    digest = hashlib.sha256()
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file():
            name = path.relative_to(tmp_path).as_posix().encode()
            digest.update(name + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    assert digest.hexdigest() == PINNED[(shape, layout)]


# Measured with parquet-pyarrow: the generator before the stream (a whole day in memory) peaked at
# 764 MiB for 500 agents and 5,712 MiB for 5,000; the stream at 417 and 427 MiB.
MEMORY_MARGIN = 400 * 2**20
PEAK = """
import sys
from datetime import date
from timecard.generate import generate_events
generate_events(sys.argv[1], agents=int(sys.argv[2]), start=date(2026, 11, 2), days=1,
                shape=sys.argv[3])
with open("/proc/self/status") as status:
    print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) * 1024)
"""


def _peak_bytes(root: Path, agents: int, shape: str) -> int:
    """Peak RSS (VmHWM, read by the process itself) of a fresh process generating one day."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK, str(root), str(agents), shape],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.split()[-1])


def test_peak_memory_does_not_grow_with_the_roster(tmp_path):
    """Ten times the agents (a day of 5,000 holds about 1.1 million events) within a margin of a
    day of 500: the stream holds a window of events and a batch of records, never a day."""
    small = _peak_bytes(tmp_path / "small", 500, "parquet-pyarrow")
    large = _peak_bytes(tmp_path / "large", 5_000, "parquet-pyarrow")
    assert large < small + MEMORY_MARGIN, (small, large)
