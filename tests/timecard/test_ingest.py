"""Raw input: partition layouts, formats, field names, timestamps, and every kind of bad input."""

from __future__ import annotations

import gzip
import json
import os
import re
import secrets
from datetime import UTC, date, datetime

import polars as pl
import pytest

from tests.builders import (
    event,
    lowercase_keys,
    partition_dir,
    read_day,
    write_ndjson,
    write_parquet,
)
from timecard import condensed, engine, ingest, storage, timerange
from timecard.errors import UnreadableInputError

DAY = date(2026, 11, 2)
DAY_TEXT = DAY.isoformat()
LAYOUTS = ("date", "ymd", "firehose")
FORMATS = ("parquet", "ndjson", "ndjson-gzip", "ndjson-no-extension")
BOTH_FORMATS = ("parquet", "ndjson")


def usable(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("reason").is_null())


def reasons(frame: pl.DataFrame) -> list[str]:
    return frame.filter(pl.col("reason").is_not_null())["reason"].to_list()


def json_line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode()


def write_records(root, records, fmt: str, layout: str = "date", name: str = "part-0") -> str:
    """Write records in one of the accepted raw formats; return the file path."""
    if fmt == "parquet":
        return write_parquet(root, DAY_TEXT, records, name=f"{name}.parquet", layout=layout)
    if fmt == "ndjson":
        return write_ndjson(root, DAY_TEXT, records, name=f"{name}.json", layout=layout)
    if fmt == "ndjson-gzip":
        return write_ndjson(
            root, DAY_TEXT, records, name=f"{name}.json.gz", layout=layout, compress=True
        )
    if fmt == "ndjson-no-extension":
        # Firehose's own object names: no extension at all.
        firehose_name = f"{name}-stream-1-2026-11-02-13-00-00-6f1c2a"
        return write_ndjson(root, DAY_TEXT, records, name=firehose_name, layout=layout)
    raise ValueError(fmt)


# -- layouts and formats ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_and_format_is_found_and_read(tmp_path, layout, fmt):
    records = [
        event("LOGIN", "2026-11-02T08:15:00.123Z", username="minjun", hierarchy=("Asia", "Seoul")),
        event("STATE_CHANGE", "2026-11-02T08:20:00Z", username="minjun"),
        event("LOGOUT", "2026-11-02T17:00:00Z", username="minjun", routing_profile="Support"),
    ]
    path = write_records(tmp_path, records, fmt, layout)

    files = ingest.partition_files(str(tmp_path), DAY)
    frame = read_day(tmp_path, DAY)

    assert [file.url for file in files] == [path]
    assert reasons(frame) == []
    assert frame["event_type"].to_list() == ["LOGIN", "STATE_CHANGE", "LOGOUT"]
    assert frame["event_id"].to_list() == [r["EventId"] for r in records]
    assert frame["event_ts"].to_list() == [
        datetime(2026, 11, 2, 8, 15, 0, 123000, tzinfo=UTC),
        datetime(2026, 11, 2, 8, 20, tzinfo=UTC),
        datetime(2026, 11, 2, 17, 0, tzinfo=UTC),
    ]
    login = frame.row(0, named=True)
    assert login["username"] == "minjun"
    assert (login["first_name"], login["last_name"]) == ("Min-jun", "Kim")
    assert (login["hierarchy_1"], login["hierarchy_2"], login["hierarchy_3"]) == (
        "Asia",
        "Seoul",
        None,
    )
    # Attributes are read for LOGIN/LOGOUT only: the STATE_CHANGE in the middle has none.
    assert frame["routing_profile"].to_list() == ["Sales Inbound", None, "Support"]
    assert login["agent_arn"] == records[0]["AgentARN"]
    assert login["instance_arn"] == records[0]["InstanceARN"]
    assert frame["source_row"].to_list() == [1, 2, 3]


def test_parquet_input_keeps_the_nested_structs_of_the_json(tmp_path):
    path = write_records(tmp_path, [event("LOGIN", "2026-11-02T08:00:00Z")], "parquet")

    schema = pl.read_parquet_schema(path)

    snapshot = schema["CurrentAgentSnapshot"]
    assert isinstance(snapshot, pl.Struct)
    assert isinstance(dict(snapshot.to_schema())["Configuration"], pl.Struct)


# -- listing only what is needed --------------------------------------------------------------


@pytest.fixture
def listed_prefixes(monkeypatch) -> list[str]:
    """Every prefix timecard lists from now on (the real listing still runs)."""
    listed: list[str] = []
    real_list_files = storage.list_files

    def recording_list_files(prefix):
        listed.append(prefix)
        return real_list_files(prefix)

    monkeypatch.setattr(storage, "list_files", recording_list_files)
    return listed


def test_partition_files_lists_only_the_requested_day(tmp_path, listed_prefixes):
    root = str(tmp_path)
    wanted = [
        write_ndjson(root, DAY_TEXT, [event("LOGIN", "2026-11-02T08:00:00Z")], layout=layout)
        for layout in LAYOUTS
    ]
    # Neighbouring days in every layout, and data outside any partition of the root.
    unrelated = [
        write_ndjson(root, "2026-11-01", [], layout="date"),
        write_ndjson(root, "2026-11-03", [], layout="ymd"),
        write_ndjson(root, "2026-11-03", [], layout="firehose"),
        write_ndjson(root, "2026-12-02", [], layout="firehose"),
        write_ndjson(os.path.join(root, "backup"), DAY_TEXT, [], layout="date"),
    ]
    storage.write_bytes(os.path.join(root, "README.json"), b"{}")

    files = [file.url for file in ingest.partition_files(root, DAY)]

    assert files == sorted(wanted)
    assert not set(files) & set(unrelated)
    assert listed_prefixes == ingest.partition_prefixes(root, DAY)
    assert listed_prefixes == [
        os.path.join(root, "date=2026-11-02"),
        os.path.join(root, "year=2026", "month=11", "day=02"),
        os.path.join(root, "2026", "11", "02"),
    ]


def _junk_parquet(root, day: str) -> str:
    path = os.path.join(partition_dir(str(root), day), "junk.parquet")
    with open(path, "wb") as handle:
        handle.write(b"PAR1 this is not a parquet file")
    return path


def test_a_report_never_touches_partitions_it_does_not_need(tmp_path, listed_prefixes):
    events_root, cache_root = tmp_path / "events", str(tmp_path / "cache")
    write_ndjson(
        events_root,
        DAY_TEXT,
        [event("LOGIN", "2026-11-02T08:00:00Z"), event("LOGOUT", "2026-11-02T09:00:00Z")],
    )
    # Unreadable, but far before the 31-day lookback of a 2026-11-02 report.
    junk = _junk_parquet(events_root, "2026-09-15")
    window = timerange.custom_range("2026-11-02T00:00:00", "2026-11-03T00:00:00", "UTC")
    request = engine.ReportRequest(str(events_root), window)

    result = engine.build_report(request, cache_root)

    assert result.report.height == 1
    needed_days = engine.partition_days(request.lookback_start, window.end)
    assert needed_days[0] == date(2026, 10, 1)
    allowed = {p for day in needed_days for p in ingest.partition_prefixes(str(events_root), day)}
    assert set(listed_prefixes) == allowed
    # The junk file is really unreadable: a report that needs its day fails on it.
    far = timerange.custom_range("2026-09-15T00:00:00", "2026-09-16T00:00:00", "UTC")
    with pytest.raises(UnreadableInputError, match=re.escape(junk)):
        engine.build_report(
            engine.ReportRequest(str(events_root), far, lookback_days=0), cache_root
        )


def test_hidden_and_marker_files_and_folders_are_ignored(tmp_path):
    path = write_ndjson(tmp_path, DAY_TEXT, [event("LOGIN", "2026-11-02T08:00:00Z")])
    folder = os.path.dirname(path)
    for name in (
        "_SUCCESS",
        ".part-0.json.crc",
        ".r.csv.0a1b2c.tmp",
        "_temporary/0/part-1.json",
        ".hive-staging/part-2.json",
    ):
        storage.write_bytes(os.path.join(folder, name), b"not json at all")

    assert [file.url for file in ingest.partition_files(str(tmp_path), DAY)] == [path]
    assert reasons(read_day(tmp_path, DAY)) == []


# -- field names and timestamps ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", BOTH_FORMATS)
def test_column_and_field_names_match_in_any_case(tmp_path, fmt):
    record = event("login", "2026-11-02T08:00:00Z", username="jdoe", hierarchy=("EMEA", "Paris"))
    write_records(tmp_path, [lowercase_keys(record)], fmt)

    row = read_day(tmp_path, DAY).row(0, named=True)

    assert row["reason"] is None
    assert row["event_type"] == "LOGIN"
    assert (row["event_id"], row["agent_arn"]) == (record["EventId"], record["AgentARN"])
    assert (row["username"], row["first_name"], row["routing_profile"]) == (
        "jdoe",
        "Min-jun",
        "Sales Inbound",
    )
    assert (row["hierarchy_1"], row["hierarchy_2"]) == ("EMEA", "Paris")
    assert row["event_ts"] == datetime(2026, 11, 2, 8, tzinfo=UTC)


def test_glue_style_parquet_with_lowercase_nested_names(tmp_path):
    write_records(tmp_path, [lowercase_keys(event("LOGOUT", "2026-11-02T08:00:00Z"))], "parquet")
    schema = pl.read_parquet_schema(ingest.partition_files(str(tmp_path), DAY)[0].url)
    assert "currentagentsnapshot" in schema

    row = read_day(tmp_path, DAY).row(0, named=True)

    assert (row["reason"], row["username"], row["hierarchy_2"]) == (None, "a1", "Sales")


def test_ndjson_records_of_one_file_may_spell_names_in_different_cases(tmp_path):
    records = [
        event("LOGIN", "2026-11-02T08:00:00Z", username="canonical"),
        lowercase_keys(event("LOGOUT", "2026-11-02T09:00:00Z", username="lowercase")),
    ]
    write_records(tmp_path, records, "ndjson")

    frame = read_day(tmp_path, DAY)

    assert reasons(frame) == []
    assert frame["username"].to_list() == ["canonical", "lowercase"]
    assert frame["event_id"].to_list() == [records[0]["EventId"], records[1]["eventid"]]


def test_one_malformed_snapshot_does_not_blank_the_attributes_of_the_other_records(tmp_path):
    good = event("LOGIN", "2026-11-02T08:00:00Z", username="ana")
    odd = event("LOGOUT", "2026-11-02T09:00:00Z", username="bo")
    odd["CurrentAgentSnapshot"]["Configuration"] = "not an object"
    write_records(tmp_path, [good, odd], "ndjson")

    frame = read_day(tmp_path, DAY)

    assert reasons(frame) == []
    assert frame["username"].to_list() == ["ana", None]
    assert frame["hierarchy_1"].to_list() == ["Americas", None]


@pytest.mark.parametrize("fmt", BOTH_FORMATS)
@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-11-02T08:15:00.123Z", datetime(2026, 11, 2, 8, 15, 0, 123000, tzinfo=UTC)),
        ("2026-11-02T17:15:00+09:00", datetime(2026, 11, 2, 8, 15, tzinfo=UTC)),
        ("2026-11-02T02:45:00.5-05:30", datetime(2026, 11, 2, 8, 15, 0, 500000, tzinfo=UTC)),
        (" 2026-11-02T08:15:00+00:00 ", datetime(2026, 11, 2, 8, 15, tzinfo=UTC)),
    ],
)
def test_iso_timestamp_strings_with_any_offset(tmp_path, fmt, text, instant):
    write_records(tmp_path, [event("LOGIN", text)], fmt)

    row = read_day(tmp_path, DAY).row(0, named=True)

    assert row["reason"] is None
    assert row["event_ts"] == instant


@pytest.mark.parametrize(
    "dtype", [pl.Datetime("ms"), pl.Datetime("us", "UTC"), pl.Datetime("ns", "Asia/Seoul")]
)
def test_parquet_timestamp_columns_naive_or_zoned(tmp_path, dtype):
    instant = datetime(2026, 11, 2, 8, 15, 30, 250000, tzinfo=UTC)
    stored = pl.Series("EventTimestamp", [instant]).dt.convert_time_zone(dtype.time_zone or "UTC")
    if dtype.time_zone is None:
        stored = stored.dt.replace_time_zone(None)  # naive means UTC by the Parquet convention
    frame = pl.DataFrame([event("LOGIN", "unused")]).with_columns(
        stored.cast(dtype).alias("EventTimestamp")
    )
    path = os.path.join(partition_dir(str(tmp_path), DAY_TEXT), "ts.parquet")
    frame.write_parquet(path)
    assert pl.read_parquet_schema(path)["EventTimestamp"] == dtype

    row = read_day(tmp_path, DAY).row(0, named=True)

    assert row["reason"] is None
    assert row["event_ts"] == instant


# -- records that are quarantined ---------------------------------------------------------------


def _without(field: str):
    return lambda record: {key: value for key, value in record.items() if key != field}


def _with(field: str, value):
    return lambda record: {**record, field: value}


QUARANTINE_CASES = {
    "no EventId": (_without("EventId"), "missing required field(s): EventId"),
    "null EventId": (_with("EventId", None), "missing required field(s): EventId"),
    "no EventType": (_without("EventType"), "missing required field(s): EventType"),
    "blank EventType": (_with("EventType", " "), "missing required field(s): EventType"),
    "no EventTimestamp": (_without("EventTimestamp"), "missing required field(s): EventTimestamp"),
    "no AgentARN": (_without("AgentARN"), "missing required field(s): AgentARN"),
    "null AgentARN": (_with("AgentARN", None), "missing required field(s): AgentARN"),
    "unparseable timestamp": (
        _with("EventTimestamp", "2nd of November"),
        "EventTimestamp is not an ISO-8601 date-time: 2nd of November",
    ),
    "impossible date": (
        _with("EventTimestamp", "2026-02-30T08:00:00Z"),
        "EventTimestamp is not an ISO-8601 date-time",
    ),
    "timestamp without offset": (
        _with("EventTimestamp", "2026-11-02T08:00:00"),
        "EventTimestamp has no UTC offset",
    ),
    "year 1999": (
        _with("EventTimestamp", "1999-11-02T08:00:00Z"),
        "more than a day away from its partition date 2026-11-02",
    ),
    "year 2099": (
        _with("EventTimestamp", "2099-11-02T08:00:00Z"),
        "more than a day away from its partition date 2026-11-02",
    ),
}


@pytest.mark.parametrize("fmt", BOTH_FORMATS)
@pytest.mark.parametrize("case", QUARANTINE_CASES)
def test_bad_records_are_quarantined_with_a_reason_and_the_rest_is_used(tmp_path, fmt, case):
    spoil, expected_reason = QUARANTINE_CASES[case]
    good_before = event("LOGIN", "2026-11-02T08:00:00Z")
    bad = spoil(event("LOGOUT", "2026-11-02T09:00:00Z"))
    good_after = event("HEART_BEAT", "2026-11-02T10:00:00Z")
    path = write_records(tmp_path, [good_before, bad, good_after], fmt)

    frame = read_day(tmp_path, DAY)

    assert usable(frame)["event_id"].to_list() == [good_before["EventId"], good_after["EventId"]]
    quarantined = frame.filter(pl.col("reason").is_not_null()).row(0, named=True)
    assert expected_reason in quarantined["reason"]
    assert (quarantined["source_file"], quarantined["source_row"]) == (path, 2)


def test_a_day_either_side_of_the_partition_is_still_usable(tmp_path):
    # Firehose partitions by arrival: late or early records land in a neighbouring partition.
    edges = ["2026-11-01T00:00:00Z", "2026-11-03T23:59:59.999Z"]
    outside = ["2026-10-31T23:59:59.999Z", "2026-11-04T00:00:00Z"]
    write_records(tmp_path, [event("HEART_BEAT", ts) for ts in edges + outside], "ndjson")

    frame = read_day(tmp_path, DAY)

    assert frame["reason"].is_null().to_list() == [True, True, False, False]


@pytest.mark.parametrize("fmt", BOTH_FORMATS)
def test_an_integer_event_timestamp_column_is_quarantined(tmp_path, fmt):
    epoch_millis = int(datetime(2026, 11, 2, 8, tzinfo=UTC).timestamp() * 1000)
    write_records(tmp_path, [event("LOGIN", epoch_millis), event("LOGOUT", epoch_millis)], fmt)

    frame = read_day(tmp_path, DAY)

    assert frame.height == 2
    # JSON has no column types: a number there is read as text that is not a date-time.
    expected = {
        "parquet": "EventTimestamp is stored as Int64, not as an ISO-8601 string or a timestamp",
        "ndjson": f"EventTimestamp is not an ISO-8601 date-time: {epoch_millis}",
    }[fmt]
    assert reasons(frame) == [expected] * 2
    assert frame["event_timestamp"].to_list() == [str(epoch_millis)] * 2


@pytest.mark.parametrize("compress", [False, True])
def test_lines_that_are_not_json_or_not_utf8_are_quarantined_with_their_line_numbers(
    tmp_path, compress
):
    good = [event("LOGIN", "2026-11-02T08:00:00Z"), event("LOGOUT", "2026-11-02T09:00:00Z")]
    lines = [
        json_line(good[0]),
        b'{"EventId": "e-broken", "EventType": "LOG',
        b'{"EventId": "caf\xe9"}',
        b"[1, 2, 3]",
        json_line(good[1]),
    ]
    data = b"\n".join(lines) + b"\n"
    path = os.path.join(partition_dir(str(tmp_path), DAY_TEXT), "mixed.json")
    with open(path, "wb") as handle:
        handle.write(gzip.compress(data) if compress else data)

    frame = read_day(tmp_path, DAY)

    assert usable(frame)["event_id"].to_list() == [good[0]["EventId"], good[1]["EventId"]]
    assert usable(frame)["source_row"].to_list() == [1, 5]
    bad = frame.filter(pl.col("reason").is_not_null())
    assert bad["source_row"].to_list() == [2, 3, 4]
    assert bad["source_file"].to_list() == [path] * 3
    # Each bad record is named by its number, byte offset and line.
    offsets = [len(b"\n".join(lines[:n])) + 1 for n in (1, 2, 3)]
    assert bad["reason"][0].startswith(f"record 2 at byte offset {offsets[0]} (line 2) is not")
    assert bad["reason"][1] == f"record 3 at byte offset {offsets[1]} (line 3) is not valid UTF-8"
    assert bad["reason"][2] == (
        f"record 4 at byte offset {offsets[2]} (line 4) is list JSON, not an object"
    )


def test_blank_lines_and_crlf_number_records_in_file_order(tmp_path):
    records = [event("LOGIN", "2026-11-02T08:00:00Z"), event("LOGOUT", "2026-11-02T09:00:00Z")]
    data = b"\r\n\r\n".join(json_line(r) for r in records) + b"\r\n"
    path = os.path.join(partition_dir(str(tmp_path), DAY_TEXT), "windows.json")
    with open(path, "wb") as handle:
        handle.write(data)

    frame = read_day(tmp_path, DAY)

    assert reasons(frame) == []
    assert frame["source_row"].to_list() == [1, 2]


def test_an_empty_file_has_no_records(tmp_path):
    write_records(tmp_path, [], "ndjson")
    write_records(tmp_path, [], "ndjson-gzip")

    assert read_day(tmp_path, DAY).height == 0


# -- the lookback read: LOGIN/LOGOUT lines found by their bytes ---------------------------------


def _compact(record: dict) -> bytes:
    """A record as Connect writes it: no spaces after separators, which the byte markers need."""
    return json.dumps(record, separators=(",", ":")).encode()


_BEAT = event("HEART_BEAT", "2026-11-02T08:05:00Z")
_LOGIN = event("LOGIN", "2026-11-02T08:00:00Z")
_LOGOUT = event("LOGOUT", "2026-11-02T09:00:00Z")
_OTHER = event("LOGGED_ELSEWHERE", "2026-11-02T08:30:00Z")  # starts like a session type


@pytest.mark.parametrize(
    ("case", "data", "candidate_rows"),
    [
        ("markers", b"\n".join(map(_compact, [_BEAT, _LOGIN, _BEAT, _LOGOUT])) + b"\n", [2, 4]),
        ("no final newline", b"\n".join(map(_compact, [_LOGIN, _BEAT, _LOGOUT])), [1, 3]),
        ("trailing blanks", b"\n".join(map(_compact, [_BEAT, _LOGIN])) + b"\n \n\n", [2]),
        ("unknown LOG type", b"\n".join(map(_compact, [_LOGIN, _OTHER, _BEAT])), [1, 2]),
        (
            "lower-case type",
            _compact(_BEAT) + b"\n" + _compact({**_LOGIN, "EventType": "login"}),
            [2],
        ),
        (
            "two on one line",
            b"\n".join([_compact(_BEAT), _compact(_LOGIN) + _compact(_LOGOUT)]),
            [2, 3],
        ),
        ("blank line", b"\n\n".join(map(_compact, [_LOGIN, _BEAT, _LOGOUT])), [1, 3]),
    ],
)
def test_the_lookback_read_keeps_every_record_that_may_bound_a_session(
    tmp_path, case, data, candidate_rows
):
    path = os.path.join(partition_dir(str(tmp_path), DAY_TEXT), "stream-1")
    with open(path, "wb") as handle:
        handle.write(gzip.compress(data))
    [file] = ingest.partition_files(str(tmp_path), DAY)

    lookback = ingest.read_file(file, DAY, session_candidates_only=True).checked.collect()
    full = ingest.read_file(file, DAY).checked.collect()

    assert reasons(full) == []
    assert lookback["source_row"].to_list() == candidate_rows
    activity_only = pl.col("event_type").is_in(["HEART_BEAT", "STATE_CHANGE"])
    assert lookback.equals(full.filter(~activity_only))


# -- optional attributes ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", BOTH_FORMATS)
def test_null_configuration_and_null_hierarchy_levels_are_usable(tmp_path, fmt):
    no_configuration = event("LOGIN", "2026-11-02T08:00:00Z", agent="a1")
    no_configuration["CurrentAgentSnapshot"]["Configuration"] = None
    no_snapshot = event("LOGIN", "2026-11-02T08:00:00Z", agent="a2")
    no_snapshot["CurrentAgentSnapshot"] = None
    no_groups = event("LOGIN", "2026-11-02T08:00:00Z", agent="a3", hierarchy=None)
    partly = event("LOGIN", "2026-11-02T08:00:00Z", agent="a4", hierarchy=("A", None, "C"))
    full = event("LOGIN", "2026-11-02T08:00:00Z", agent="a5", hierarchy=("A", "B", "C", "D", "E"))
    write_records(tmp_path, [no_configuration, no_snapshot, no_groups, partly, full], fmt)

    frame = read_day(tmp_path, DAY)

    assert reasons(frame) == []
    levels = [f"hierarchy_{level}" for level in range(1, 6)]
    rows = frame.select("username", "routing_profile", *levels).rows()
    assert rows == [
        (None, None, None, None, None, None, None),
        (None, None, None, None, None, None, None),
        ("a3", "Sales Inbound", None, None, None, None, None),
        ("a4", "Sales Inbound", "A", None, "C", None, None),
        ("a5", "Sales Inbound", "A", "B", "C", "D", "E"),
    ]


# -- unreadable files ---------------------------------------------------------------------------


def _condense(root) -> None:
    condensed.RawReads(ingest.partition_files(str(root), DAY), DAY, ("activity",))


def _damage(path: str, damage) -> None:
    with open(path, "rb") as handle:
        data = handle.read()
    with open(path, "wb") as handle:
        handle.write(damage(data))


UNREADABLE_CASES = {
    "parquet cut short": ("parquet", lambda data: data[: len(data) // 2], "not a readable Parquet"),
    "parquet magic only": ("parquet", lambda data: b"PAR1" + b"\0" * 64, "not a readable Parquet"),
    "parquet with a damaged page": (
        "parquet",
        lambda data: data[:4] + b"\xff" * 256 + data[260:],
        "could not be read",
    ),
    "gzip cut short": ("ndjson-gzip", lambda data: data[: len(data) // 2], "damaged gzip"),
    "gzip with damaged data": (
        "ndjson-gzip",
        lambda data: data[:20] + b"\0" * 64 + data[84:],
        "damaged gzip",
    ),
}


@pytest.mark.parametrize("case", UNREADABLE_CASES)
def test_an_unreadable_file_fails_with_a_message_naming_it(tmp_path, case):
    fmt, damage, what = UNREADABLE_CASES[case]
    heart_beats = [event("HEART_BEAT", f"2026-11-02T08:{m:02d}:00Z") for m in range(60)]
    write_records(tmp_path, heart_beats[:2], "ndjson", name="good")
    path = write_records(tmp_path, heart_beats, fmt, name="bad")
    _damage(path, damage)

    with pytest.raises(UnreadableInputError) as raised:
        _condense(tmp_path)

    message = str(raised.value)
    assert f"The raw event file {path} " in message
    assert what in message
    assert "\n" not in message
    assert "No report was written" in message


# -- fingerprints -------------------------------------------------------------------------------


def _fingerprint(root) -> str:
    return ingest.fingerprint(str(root), ingest.partition_files(str(root), DAY))


def test_fingerprint_changes_when_a_file_is_added_or_rewritten(tmp_path):
    path = write_records(tmp_path, [event("LOGIN", "2026-11-02T08:00:00Z")], "ndjson")
    original = _fingerprint(tmp_path)
    assert _fingerprint(tmp_path) == original

    storage.write_bytes(os.path.join(os.path.dirname(path), "_SUCCESS"), b"")
    assert _fingerprint(tmp_path) == original  # marker files are not data

    late = write_records(tmp_path, [event("LOGOUT", "2026-11-02T09:00:00Z")], "ndjson", name="late")
    with_late_file = _fingerprint(tmp_path)
    assert with_late_file != original

    stat = os.stat(late)
    os.utime(late, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    rewritten_same_size = _fingerprint(tmp_path)
    assert rewritten_same_size != with_late_file

    os.remove(late)
    assert _fingerprint(tmp_path) == original


def test_fingerprint_does_not_depend_on_where_the_root_is_named_from(tmp_path, monkeypatch):
    write_records(tmp_path, [event("LOGIN", "2026-11-02T08:00:00Z")], "ndjson")
    monkeypatch.chdir(tmp_path)

    assert _fingerprint(".") == _fingerprint(f"file://{tmp_path}/") == _fingerprint(tmp_path)


def test_pyarrow_parquet_with_all_null_snapshot_groups_keeps_its_attributes(tmp_path):
    """pyarrow types a group that is null in every record as `null`, not as a struct."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    login = event("LOGIN", "2026-11-02T08:00:00Z")
    configuration = login["CurrentAgentSnapshot"]["Configuration"]
    configuration |= {"RoutingProfile": None, "AgentHierarchyGroups": None}
    path = os.path.join(partition_dir(str(tmp_path), DAY_TEXT), "firehose.parquet")
    pq.write_table(pa.Table.from_pylist([login]), path)

    frame = read_day(tmp_path, DAY)

    assert reasons(frame) == []
    assert frame["username"].to_list() == [configuration["Username"]]
    assert frame["routing_profile"].to_list() == [None]


# -- only regular files within the events root are read ---------------------------------------


def _unsafe(root, name: str) -> str:
    """A path in the day's partition for an unsafe entry; a good file sits beside it."""
    folder = partition_dir(str(root), DAY_TEXT)
    write_ndjson(root, DAY_TEXT, [event("LOGIN", "2026-11-02T08:00:00Z")], name="good.json")
    return os.path.join(folder, name)


def _socket(path: str):
    import socket

    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    return server


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (os.mkfifo, "is a named pipe (FIFO), not a regular file"),
        (lambda path: os.symlink("/dev/zero", path), "is a device, not a regular file"),
        (lambda path: os.symlink("nowhere.json", path), "is a symbolic link to nothing"),
        (_socket, "is a socket, not a regular file"),
    ],
    ids=["fifo", "link to /dev/zero", "dangling link", "socket"],
)
def test_a_partition_entry_that_is_not_a_regular_file_is_refused_by_name_unopened(make, expected):
    import shutil
    import tempfile

    root = tempfile.mkdtemp(prefix="tc-")  # short: a socket's path is limited to ~100 bytes
    try:
        path = _unsafe(root, "x.json")
        made = make(path)

        with pytest.raises(UnreadableInputError) as refusal:
            ingest.partition_files(root, DAY)

        assert f"The raw event path {path} {expected}" in str(refusal.value)
        assert "It was not opened and no report was written" in str(refusal.value)
        if made is not None:
            made.close()
    finally:
        shutil.rmtree(root)


def test_a_link_out_of_the_events_root_is_refused_and_one_within_it_is_read(tmp_path):
    root = tmp_path / "events"
    outside = tmp_path / "elsewhere.json"
    outside.write_bytes(json_line(event("LOGIN", "2026-11-02T08:00:00Z")) + b"\n")
    inside = write_ndjson(root, DAY_TEXT, [event("LOGIN", "2026-11-02T09:00:00Z")], name="a.json")
    within = os.path.join(os.path.dirname(inside), "b.json")
    os.symlink(inside, within)
    assert [file.url for file in ingest.partition_files(str(root), DAY)] == [inside, within]

    leaving = os.path.join(os.path.dirname(inside), "c.json")
    os.symlink(outside, leaving)
    with pytest.raises(UnreadableInputError) as refusal:
        ingest.partition_files(str(root), DAY)
    assert f"{leaving} is a symbolic link to {outside}, outside the events root" in str(
        refusal.value
    )


def test_a_file_larger_than_the_decompressed_cap_is_refused_at_listing(tmp_path, monkeypatch):
    monkeypatch.setenv("TIMECARD_MAX_DECOMPRESSED_MB", "1")
    big = write_ndjson(tmp_path, DAY_TEXT, [event("HEART_BEAT", "2026-11-02T08:00:00Z")] * 4000)
    assert os.path.getsize(big) > 2**20

    with pytest.raises(UnreadableInputError) as refusal:
        ingest.partition_files(str(tmp_path), DAY)

    assert f"The raw event file {big} is " in str(refusal.value)
    assert "at most 1 MiB once decompressed (TIMECARD_MAX_DECOMPRESSED_MB)" in str(refusal.value)


def test_a_parquet_file_larger_than_the_cap_is_listed_and_read_by_row_groups(tmp_path, monkeypatch):
    """Parquet is read by columns and row groups, never whole: a day compacted into one large
    file is not refused by its stored size, only by what a JSON file would inflate to."""
    monkeypatch.setenv("TIMECARD_MAX_DECOMPRESSED_MB", "1")
    agents = [secrets.token_hex(48) for _ in range(20000)]  # random names: little compression
    beats = [event("HEART_BEAT", "2026-11-02T08:00:00Z", agent) for agent in agents]
    big = write_parquet(tmp_path, DAY_TEXT, [event("LOGIN", "2026-11-02T07:00:00Z"), *beats])
    assert os.path.getsize(big) > 2**20

    [listed] = ingest.partition_files(str(tmp_path), DAY)

    assert listed.url == big
    raw = ingest.read_file(listed, DAY)
    assert raw.format == "parquet"
    assert raw.checked.collect().height == 20001


def test_a_partition_folder_linked_out_of_the_events_root_is_refused(tmp_path):
    elsewhere = write_ndjson(
        tmp_path / "elsewhere", DAY_TEXT, [event("LOGIN", "2026-11-02T08:00Z")]
    )
    root = tmp_path / "events"
    root.mkdir()
    os.symlink(os.path.dirname(elsewhere), root / f"date={DAY_TEXT}")

    with pytest.raises(UnreadableInputError) as refusal:
        ingest.partition_files(str(root), DAY)

    assert f"is a symbolic link to {elsewhere}, outside the events root" in str(refusal.value)
