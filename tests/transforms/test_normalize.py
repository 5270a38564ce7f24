"""transforms/normalize.py, tested directly: raw records (as a reader hands them over, a frame
with a `source_row`) → flat checked rows, the quarantine reasons, the LOGIN/LOGOUT attributes,
the reduced read schema, and every real shape a landing stores the records in.

The readers' and the report's tests reach this module through files; these pin its own contract
so a change to it is seen here first, with the record that broke.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import polars as pl
import pytest

from schemas.columns import (
    AGENT_ATTRIBUTES,
    ATTRIBUTE_COLUMNS,
    EVENT_COLUMNS,
    QUARANTINE_COLUMNS,
    TIMESTAMP,
)
from tests.builders import arn, event, lowercase_keys
from transforms import normalize

DAY = date(2026, 11, 2)
FILE = "s3://landing/date=2026-11-02/part-0.json"


# -- helpers --------------------------------------------------------------------------------------


def raw(records: list[dict] | pl.DataFrame) -> pl.LazyFrame:
    """Records as a reader hands them over: a frame with the 1-based `source_row`."""
    frame = records if isinstance(records, pl.DataFrame) else pl.DataFrame(records)
    return frame.with_row_index("source_row", offset=1).lazy()


def checked(records, day: date = DAY, neighbour_days: int = 1) -> pl.DataFrame:
    return normalize.with_reasons(
        normalize.flatten(raw(records), FILE), day, neighbour_days
    ).collect()


def reasons(records, day: date = DAY, neighbour_days: int = 1) -> list[str | None]:
    return checked(records, day, neighbour_days)["reason"].to_list()


def attributes(records) -> list[dict]:
    return normalize.session_attributes(raw(records), FILE).collect().to_dicts()


def one(event_type: str = "LOGIN", timestamp: str = "2026-11-02T01:00:00Z", **fields) -> dict:
    """One record with `fields` set on top (None removes a field)."""
    record = event(event_type, timestamp, "a1", event_id="e1")
    for name, value in fields.items():
        if value is None:
            record.pop(name, None)
        else:
            record[name] = value
    return record


# -- constants and the canonical tree -------------------------------------------------------------


def test_the_flat_names_are_the_snake_case_contract_columns():
    # Raw CamelCase paths in, snake_case contract names out: every flat field is one of them.
    assert set(normalize.CORE_PATHS) | {"event_ts", "source_file", "source_row"} == set(
        EVENT_COLUMNS
    )
    assert set(normalize.ATTRIBUTE_PATHS) | {"source_file", "source_row"} == set(ATTRIBUTE_COLUMNS)
    assert list(normalize.ATTRIBUTE_PATHS)[1:] == list(AGENT_ATTRIBUTES)
    assert normalize.FIELD_PATHS["hierarchy_3"] == (
        "CurrentAgentSnapshot",
        "Configuration",
        "AgentHierarchyGroups",
        "Level3",
        "Name",
    )
    assert all(name == name.lower() for name in EVENT_COLUMNS | ATTRIBUTE_COLUMNS)
    assert set(normalize.SESSION_EVENT_TYPES) < set(normalize.KNOWN_EVENT_TYPES)
    assert set(normalize.ACTIVITY_ONLY_EVENT_TYPES).isdisjoint(normalize.SESSION_EVENT_TYPES)


def test_the_canonical_tree_holds_every_path_the_report_reads():
    tree = normalize.canonical_tree()
    assert set(tree) == {
        "EventId",
        "EventType",
        "AgentARN",
        "InstanceARN",
        "CurrentAgentSnapshot",
        "EventTimestamp",
    }
    configuration = tree["CurrentAgentSnapshot"]["Configuration"]
    assert configuration["RoutingProfile"] == {"Name": None}
    assert set(configuration["AgentHierarchyGroups"]) == {f"Level{i}" for i in range(1, 6)}
    # Paths of one's own choosing share their prefixes.
    assert normalize.canonical_tree([("A", "B"), ("A", "C"), ("D",)]) == {
        "A": {"B": None, "C": None},
        "D": None,
    }


def test_the_canonical_schema_is_the_tree_with_text_leaves():
    assert normalize.tree_dtype(None) == pl.String()
    assert normalize.tree_dtype({"Name": None}) == pl.Struct({"Name": pl.String()})
    schema = normalize.canonical_schema()
    assert schema["EventId"] == pl.String()
    assert schema["EventTimestamp"] == pl.String()
    snapshot = schema["CurrentAgentSnapshot"]
    assert snapshot == normalize.tree_dtype(normalize.canonical_tree()["CurrentAgentSnapshot"])
    # A frame of that schema is what the JSON reader builds: it flattens like any other.
    empty = pl.DataFrame(schema=schema)
    assert normalize.flatten(raw(empty), FILE).collect().height == 0


def test_struct_fields_are_a_structs_fields_by_name():
    # As a frame read from a file types them: every field's type an instance.
    dtype = pl.DataFrame([{"s": {"Name": "x", "Inner": {"Level": 1}}}]).schema["s"]
    fields = normalize.struct_fields(dtype)
    assert fields == {"Name": pl.String(), "Inner": pl.Struct({"Level": pl.Int64()})}
    assert all(isinstance(inner, pl.DataType) for inner in fields.values())


# -- reduced schemas ------------------------------------------------------------------------------


def test_the_reduced_schema_keeps_only_what_the_report_reads_under_the_files_names():
    full = pl.DataFrame([one()]).schema
    reduced = normalize.reduced_schema(full)
    assert list(reduced) == [
        "EventId",
        "EventType",
        "AgentARN",
        "InstanceARN",
        "CurrentAgentSnapshot",
        "EventTimestamp",
    ]
    assert "AWSAccountId" not in reduced and "Version" not in reduced
    snapshot = reduced["CurrentAgentSnapshot"]
    assert [field.name for field in snapshot.fields] == ["Configuration"]  # no AgentStatus
    configuration = snapshot.fields[0].dtype
    routing = dict((f.name, f.dtype) for f in configuration.fields)["RoutingProfile"]
    assert routing == pl.Struct({"Name": pl.String()})  # its ARN is dropped


def test_the_reduced_schema_of_lower_case_names_keeps_them_lower_case():
    full = pl.DataFrame([lowercase_keys(one())]).schema
    reduced = normalize.reduced_schema(full)
    assert list(reduced) == [
        "eventid",
        "eventtype",
        "agentarn",
        "instancearn",
        "currentagentsnapshot",
        "eventtimestamp",
    ]
    assert [f.name for f in reduced["currentagentsnapshot"].fields] == ["configuration"]


def test_the_reduced_schema_keeps_json_text_whole_and_both_spellings_of_a_name():
    schema = pl.Schema(
        {
            "EventId": pl.String(),
            "eventid": pl.String(),
            "currentagentsnapshot": pl.String(),  # a Glue `string` column: decoded later
            "EventTimestamp": pl.Datetime("ms"),
            "Unused": pl.Int64(),
        }
    )
    assert normalize.reduced_schema(schema) == {
        "EventId": pl.String(),
        "eventid": pl.String(),
        "currentagentsnapshot": pl.String(),
        "EventTimestamp": pl.Datetime("ms"),
    }


def test_a_struct_holding_none_of_the_wanted_fields_is_kept_whole():
    odd = pl.Struct({"Other": pl.String()})
    reduced = normalize.reduced_schema(pl.Schema({"CurrentAgentSnapshot": odd}))
    assert reduced == {"CurrentAgentSnapshot": odd}


# -- JSON text inside records ---------------------------------------------------------------------


def test_canonical_values_match_names_in_any_case_and_decode_json_text():
    node = {"Configuration": {"Username": None, "RoutingProfile": {"Name": None}}}
    value = {"configuration": json.dumps({"USERNAME": "kim", "routingprofile": {"name": "Sales"}})}
    assert normalize.canonical_values(value, node) == {
        "Configuration": {"Username": "kim", "RoutingProfile": {"Name": "Sales"}}
    }
    # The whole value as JSON text, too.
    assert normalize.canonical_values(json.dumps(value), node) == {
        "Configuration": {"Username": "kim", "RoutingProfile": {"Name": "Sales"}}
    }


def test_canonical_values_are_lenient_where_the_shape_does_not_fit():
    node = {"Name": None, "Inner": {"Name": None}}
    # A number leaf is kept as its JSON text; an object where text belongs is null; text that is
    # not an object where an object belongs is null; the string "null" is null.
    assert normalize.canonical_values({"name": 7, "inner": "null"}, node) == {
        "Name": "7",
        "Inner": None,
    }
    assert normalize.canonical_values({"Name": {"x": 1}, "Inner": [1]}, node) == {
        "Name": None,
        "Inner": None,
    }
    assert normalize.canonical_values("not json", node) is None
    assert normalize.canonical_values([1, 2], node) is None
    assert normalize.canonical_values(None, None) is None
    # Two spellings of one name: the first that fits wins.
    assert normalize.canonical_values({"NAME": None, "name": "b"}, {"Name": None}) == {"Name": "b"}


def test_json_text_as_gives_a_struct_series_in_the_canonical_shape():
    node = {"Username": None, "RoutingProfile": {"Name": None}}
    texts = pl.Series("snap", ['{"username": "kim", "RoutingProfile": {"NAME": "Sales"}}', None])
    shaped = normalize.json_text_as(texts, node)
    assert shaped.name == "snap"
    assert shaped.dtype == normalize.tree_dtype(node)
    assert shaped.to_list() == [{"Username": "kim", "RoutingProfile": {"Name": "Sales"}}, None]


# -- a snapshot that is not the documented object -------------------------------------------------


def _message(what: str) -> str:
    return (
        f"CurrentAgentSnapshot is {what}, not an object, so this LOGIN/LOGOUT's names, routing "
        "profile and hierarchy cannot be read"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, None),
        ({"Configuration": {}}, None),
        ("", None),
        ("  ", None),
        ("null", None),
        ('{"Configuration": {}}', None),
        ("[1, 2]", _message("JSON text of a list")),
        ("42", _message("JSON text of a number")),
        ("true", _message("JSON text of a boolean")),
        ('"text"', _message("JSON text of a str")),
        ("{not json", _message("text that is not JSON")),
        ([1], _message("a list")),
        (3.5, _message("a number")),
        (False, _message("a boolean")),
    ],
)
def test_snapshot_problem_names_what_the_snapshot_is(value, problem):
    assert normalize.snapshot_problem(value) == problem


def test_record_snapshot_problem_looks_only_at_login_and_logout_records():
    assert normalize.record_snapshot_problem(
        {"eventtype": " logout ", "currentagentsnapshot": [1]}
    ) == _message("a list")
    assert normalize.record_snapshot_problem({"EventType": "LOGIN", "Other": 1}) is None
    assert (
        normalize.record_snapshot_problem({"EventType": "HEART_BEAT", "CurrentAgentSnapshot": [1]})
        is None
    )
    assert normalize.record_snapshot_problem({"EventType": 5, "CurrentAgentSnapshot": [1]}) is None


# -- flatten + with_reasons: the quarantine reasons -----------------------------------------------


def test_a_usable_record_flattens_to_its_core_fields_with_no_reason():
    [row] = checked([one(" login ", "2026-11-02T10:00:00.250+09:00")]).to_dicts()
    assert row == {
        "event_id": "e1",
        "event_type": "LOGIN",  # trimmed and upper-cased
        "agent_arn": arn("a1"),
        "event_ts": datetime(2026, 11, 2, 1, 0, 0, 250000, tzinfo=UTC),
        "event_timestamp": "2026-11-02T10:00:00.250+09:00",  # the raw text, for the quarantine
        "source_file": FILE,
        "source_row": 1,
        "reason": None,
    }


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"EventId": None}, "EventId"),
        ({"EventId": ""}, "EventId"),
        ({"EventType": "  "}, "EventType"),  # blank after trimming
        ({"AgentARN": None, "EventTimestamp": None}, "AgentARN, EventTimestamp"),
        (
            {"EventId": None, "EventType": None, "AgentARN": None, "EventTimestamp": ""},
            "EventId, EventType, AgentARN, EventTimestamp",
        ),
    ],
)
def test_missing_required_fields_are_named_in_order(fields, missing):
    # A field missing from one record of the batch is null there; another keeps it.
    records = [one(**fields), one()]
    assert reasons(records) == [f"missing required field(s): {missing}", None]


def test_a_missing_field_is_named_before_a_bad_timestamp():
    assert reasons([one(EventId="", EventTimestamp="yesterday")]) == [
        "missing required field(s): EventId"
    ]


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        ("2026-11-02T01:00:00Z", None),
        ("2026-11-02T01:00:00.123456+00:00", None),
        (" 2026-11-02T01:00:00-05:00 ", None),
        (
            "2026-11-02T01:00:00",
            "EventTimestamp has no UTC offset, so its instant is ambiguous: 2026-11-02T01:00:00",
        ),
        ("2026-11-02 01:00", "EventTimestamp is not an ISO-8601 date-time: 2026-11-02 01:00"),
        ("tuesday", "EventTimestamp is not an ISO-8601 date-time: tuesday"),
    ],
)
def test_timestamp_text_reasons(timestamp, reason):
    assert reasons([one(EventTimestamp=timestamp)]) == [reason]


def test_a_timestamp_stored_as_a_number_is_quarantined_with_its_type():
    frame = pl.DataFrame([one()]).with_columns(
        pl.lit(1_700_000_000, pl.Int64).alias("EventTimestamp")
    )
    [row] = checked(frame).to_dicts()
    assert row["reason"] == (
        "EventTimestamp is stored as Int64, not as an ISO-8601 string or a timestamp"
    )
    assert row["event_timestamp"] == "1700000000"


def test_a_parquet_timestamp_without_a_zone_is_utc():
    frame = pl.DataFrame([one()]).with_columns(
        pl.lit(datetime(2026, 11, 2, 3, 4, 5)).cast(pl.Datetime("ms")).alias("EventTimestamp")
    )
    [row] = checked(frame).to_dicts()
    assert row["reason"] is None
    assert row["event_ts"] == datetime(2026, 11, 2, 3, 4, 5, tzinfo=UTC)
    assert checked(frame).schema["event_ts"] == TIMESTAMP


def test_an_event_outside_the_neighbouring_partitions_is_quarantined():
    inside = ["2026-11-01T00:00:00Z", "2026-11-03T23:59:59.999999Z"]
    outside = ["2026-10-31T23:59:59Z", "2026-11-04T00:00:00Z"]
    got = reasons([one(EventTimestamp=t) for t in inside + outside])
    assert got[:2] == [None, None]
    assert got[2:] == [
        "EventTimestamp is more than a day away from its partition date 2026-11-02, so no report "
        f"would read it: {text}"
        for text in outside
    ]


def test_an_event_time_partition_holds_only_its_own_date():
    texts = ["2026-11-02T00:00:00Z", "2026-11-02T23:59:59Z", "2026-11-01T23:59:59Z"]
    got = reasons([one(EventTimestamp=t) for t in texts], neighbour_days=0)
    assert got == [
        None,
        None,
        "EventTimestamp is not on its event-time partition date 2026-11-02, so no report would "
        "read it: 2026-11-01T23:59:59Z",
    ]


def test_a_readers_problem_is_the_reason_before_anything_else():
    frame = pl.DataFrame([one(EventId=""), one()]).with_columns(
        pl.Series(normalize.PROBLEM_COLUMN, ["line 1 is not JSON", None])
    )
    assert reasons(frame) == ["line 1 is not JSON", None]


@pytest.mark.parametrize(
    ("snapshot", "what"),
    [
        ("[1, 2]", "JSON text of a list"),
        ("Configuration=broken", "text that is not JSON"),
    ],
)
def test_a_login_whose_snapshot_text_is_not_an_object_is_quarantined(snapshot, what):
    records = [
        one("LOGIN", CurrentAgentSnapshot=snapshot),
        one("HEART_BEAT", CurrentAgentSnapshot=snapshot),  # no attributes needed: usable
        one("LOGOUT", CurrentAgentSnapshot=""),
        one("LOGOUT", CurrentAgentSnapshot="null"),
        one("LOGOUT", CurrentAgentSnapshot='{"Configuration": {"Username": "kim"}}'),
    ]
    assert reasons(records) == [_message(what), None, None, None, None]


def test_a_login_whose_snapshot_is_a_list_or_a_map_is_quarantined():
    as_list = pl.DataFrame([one("LOGIN"), one("HEART_BEAT")]).with_columns(
        pl.Series("CurrentAgentSnapshot", [["x"], ["y"]])
    )
    assert reasons(as_list) == [_message("a list"), None]
    entries = pl.Series("CurrentAgentSnapshot", [[{"key": "k", "value": "v"}], None])
    as_map = pl.DataFrame([one("LOGOUT"), one("LOGIN")]).with_columns(
        entries.cast(pl.Map(pl.String, pl.String))
    )
    # A null map is no snapshot at all: the LOGIN is usable (with blank attributes).
    assert reasons(as_map) == [_message("a map"), None]


def test_a_record_spelled_in_snake_case_is_not_read_as_the_documented_fields():
    # The names are matched in any letter case, not in any spelling: `event_type` is not
    # `EventType`, so the record is quarantined naming what it lacks, never read half-way.
    snake = {
        "event_id": "e1",
        "event_type": "LOGIN",
        "agent_arn": arn("a1"),
        "event_timestamp": "2026-11-02T01:00:00Z",
    }
    assert reasons([snake]) == [
        "missing required field(s): EventId, EventType, AgentARN, EventTimestamp"
    ]


def test_flatten_reads_each_records_file_from_the_source_file_column():
    frame = pl.DataFrame([one(), one()]).with_columns(
        pl.Series(normalize.SOURCE_FILE_COLUMN, ["a.json", "b.json"])
    )
    flat = normalize.flatten(raw(frame)).collect()
    assert flat["source_file"].to_list() == ["a.json", "b.json"]
    assert flat["source_row"].to_list() == [1, 2]
    assert flat.schema["source_row"] == pl.Int64()


# -- usable events, quarantine, empties -----------------------------------------------------------


def test_usable_events_and_the_quarantine_split_the_rows_in_their_contract_columns():
    records = [one(), one(EventTimestamp="bad"), one("LOGOUT", "2026-11-02T02:00:00Z")]
    rows = normalize.with_reasons(normalize.flatten(raw(records), FILE), DAY)
    usable = normalize.usable_events(rows).collect()
    quarantine = normalize.quarantined(rows).collect()
    assert usable.schema == pl.Schema(EVENT_COLUMNS)
    assert quarantine.schema == pl.Schema(QUARANTINE_COLUMNS)
    assert usable["source_row"].to_list() == [1, 3]
    assert quarantine.to_dicts() == [
        {
            "source_file": FILE,
            "source_row": 2,
            "reason": "EventTimestamp is not an ISO-8601 date-time: bad",
            "event_id": "e1",
            "event_type": "LOGIN",
            "event_timestamp": "bad",
            "agent_arn": arn("a1"),
        }
    ]


def test_the_empty_frames_have_the_contract_schemas():
    assert normalize.empty_events().schema == pl.Schema(EVENT_COLUMNS)
    assert normalize.empty_attributes().schema == pl.Schema(ATTRIBUTE_COLUMNS)
    assert normalize.empty_quarantine().schema == pl.Schema(QUARANTINE_COLUMNS)
    assert normalize.empty_events().height == 0


# -- may_bound_a_session --------------------------------------------------------------------------


def test_only_known_activity_only_records_are_skipped():
    types = ["LOGIN", "heart_beat", " STATE_CHANGE ", "LOGOUT", "NEW_KIND", None]
    records = [one(t if t is not None else "LOGIN") for t in types]
    records[-1].pop("EventType")
    kept = normalize.may_bound_a_session(raw(records)).collect()
    # Unknown and missing types stay, so they are checked and counted, never skipped unseen.
    assert kept["source_row"].to_list() == [1, 4, 5, 6]


# -- session_attributes ---------------------------------------------------------------------------


EXPECTED_ATTRIBUTES = {
    "source_file": FILE,
    "instance_arn": "arn:aws:connect:us-east-1:123456789012:instance/inst-1",
    "username": "a1",
    "first_name": "Min-jun",
    "last_name": "Kim",
    "routing_profile": "Sales Inbound",
    "hierarchy_1": "Americas",
    "hierarchy_2": "Sales",
    "hierarchy_3": None,
    "hierarchy_4": None,
    "hierarchy_5": None,
}


def records_of_a_session() -> list[dict]:
    return [
        one("LOGIN", "2026-11-02T01:00:00Z"),
        one("HEART_BEAT", "2026-11-02T01:30:00Z"),
        one("LOGOUT", "2026-11-02T02:00:00Z"),
    ]


def test_attributes_come_from_login_and_logout_records_only():
    got = attributes(records_of_a_session())
    assert got == [
        {**EXPECTED_ATTRIBUTES, "source_row": 1},
        {**EXPECTED_ATTRIBUTES, "source_row": 3},
    ]
    assert normalize.session_attributes(raw(records_of_a_session()), FILE).collect().schema == (
        pl.Schema(ATTRIBUTE_COLUMNS)
    )


def test_attributes_are_trimmed_and_missing_parts_are_null():
    login = event(
        "login",
        "2026-11-02T01:00:00Z",
        "a1",
        username="  kim  ",
        routing_profile=None,
        hierarchy=("Americas", None, "Deep"),
    )
    [row] = attributes([login])
    assert row["username"] == "kim"
    assert row["routing_profile"] is None
    assert [row[f"hierarchy_{i}"] for i in range(1, 6)] == ["Americas", None, "Deep", None, None]


def test_attributes_read_the_current_snapshot_never_the_previous_one():
    login = one("LOGIN")
    login["PreviousAgentSnapshot"] = {"Configuration": {"Username": "old", "LastName": "Old"}}
    [row] = attributes([login])
    assert row["username"] == "a1" and row["last_name"] == "Kim"


# -- every real shape: the same records give the same rows ----------------------------------------


def _camel() -> pl.DataFrame:
    """JSON or Polars Parquet: nested CamelCase structs, the timestamp as ISO text."""
    return pl.DataFrame(records_of_a_session())


def _lower() -> pl.DataFrame:
    """ndjson-lower, or a Glue/OpenX round trip: every name lower-cased."""
    return pl.DataFrame([lowercase_keys(r) for r in records_of_a_session()])


def _as_instants(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(name).str.to_datetime(time_zone="UTC").dt.cast_time_unit("ms"))


def _glue_struct() -> pl.DataFrame:
    """A struct Glue table: lower-case names, the timestamp a UTC instant in ms, the hierarchy
    groups JSON text inside the struct."""
    records = [lowercase_keys(r) for r in records_of_a_session()]
    for record in records:
        configuration = record["currentagentsnapshot"]["configuration"]
        configuration["agenthierarchygroups"] = json.dumps(configuration["agenthierarchygroups"])
    return _as_instants(pl.DataFrame(records), "eventtimestamp")


def _json_text(records: list[dict]) -> pl.DataFrame:
    for record in records:
        name = next(key for key in record if key.lower() == "currentagentsnapshot")
        record[name] = json.dumps(record[name])
    return pl.DataFrame(records).rename(str.lower)


def _glue_string() -> pl.DataFrame:
    """A string Glue table: lower-case columns, the snapshot JSON text with lower-case keys."""
    return _as_instants(
        _json_text([lowercase_keys(r) for r in records_of_a_session()]), "eventtimestamp"
    )


def _json_text_camel() -> pl.DataFrame:
    """The same with CamelCase keys inside the JSON text."""
    return _as_instants(_json_text(records_of_a_session()), "eventtimestamp")


def _both_spellings() -> pl.DataFrame:
    """A JSON file that spells names both ways: each record's value is in one of them."""
    records = records_of_a_session()
    records[1] = lowercase_keys(records[1])
    records[2]["eventtype"] = records[2].pop("EventType")
    return pl.DataFrame(records)


SHAPES = {
    "camel": _camel,
    "lower": _lower,
    "glue-struct": _glue_struct,
    "glue-string": _glue_string,
    "json-text-camel": _json_text_camel,
    "both-spellings": _both_spellings,
}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_gives_the_same_events_and_attributes(shape):
    frame = SHAPES[shape]()
    rows = checked(frame).select(list(EVENT_COLUMNS) + ["reason"])
    assert rows.to_dicts() == checked(_camel()).select(list(EVENT_COLUMNS) + ["reason"]).to_dicts()
    assert rows["reason"].to_list() == [None, None, None]
    assert rows["event_type"].to_list() == ["LOGIN", "HEART_BEAT", "LOGOUT"]
    assert attributes(frame) == [
        {**EXPECTED_ATTRIBUTES, "source_row": 1},
        {**EXPECTED_ATTRIBUTES, "source_row": 3},
    ]


def _parquet(frame: pl.DataFrame, writer: str) -> io.BytesIO:
    buffer = io.BytesIO()
    if writer == "polars":
        frame.write_parquet(buffer)
    else:  # as Firehose and Glue write it: dictionary-encoded strings, no Arrow schema stored
        import pyarrow.parquet as pq

        pq.write_table(frame.to_arrow(), buffer, use_dictionary=True, store_schema=False)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("writer", ["polars", "pyarrow"])
@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_read_through_its_reduced_schema_gives_the_same_rows(shape, writer):
    # As the Parquet reader reads a file: with the reduced schema, skipping every other field.
    frame = SHAPES[shape]()
    buffer = _parquet(frame, writer)
    schema = pl.read_parquet_schema(buffer)
    buffer.seek(0)
    narrowed = pl.scan_parquet(
        buffer,
        schema=normalize.reduced_schema(schema),
        extra_columns="ignore",
        cast_options=pl.ScanCastOptions(extra_struct_fields="ignore"),
    ).collect()
    assert "AgentStatus" not in str(narrowed.schema) and "agentstatus" not in str(narrowed.schema)
    assert checked(narrowed).to_dicts() == checked(frame).to_dicts()
    assert attributes(narrowed) == attributes(frame)
