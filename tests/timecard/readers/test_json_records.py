"""JSON records in every shape Firehose and real pipelines write: one reading, one result."""

from __future__ import annotations

import gzip
import json
import os
import re
from datetime import date

import polars as pl
import pytest

from tests.builders import event, lowercase_keys, partition_dir, read_day
from timecard import ingest, storage
from timecard.condensed import RawReads
from timecard.errors import UnreadableInputError
from timecard.readers import read_records
from timecard.readers.json_records import JsonReader, candidate_lines
from transforms.normalize import SOURCE_FILE_COLUMN

DAY = date(2026, 11, 2)


def compact(record: dict) -> bytes:
    """A record as Connect and Firehose serialize it: no spaces."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def pretty(record: dict) -> bytes:
    return json.dumps(record, indent=2, ensure_ascii=False).encode()


def shaped(records: list[dict], shape: str) -> bytes:
    if shape == "ndjson":
        return b"\n".join(compact(r) for r in records) + b"\n"
    if shape == "concatenated":
        return b"".join(compact(r) for r in records)
    if shape == "multi-line":
        return b"\n".join(pretty(r) for r in records) + b"\n"
    if shape == "mixed":  # a concatenated pair, then a pretty record, then a line
        first, second, *rest = records
        return (
            compact(first)
            + compact(second)
            + b"\n"
            + b"\n".join(pretty(r) if n % 2 else compact(r) for n, r in enumerate(rest))
        )
    raise ValueError(shape)


def records() -> list[dict]:
    sample = [
        event("LOGIN", "2026-11-02T08:00:00.125Z", "a", username="민준", event_id="e1"),
        event("HEART_BEAT", "2026-11-02T08:02:00Z", "a", event_id="e2"),
        event("STATE_CHANGE", "2026-11-02T08:03:00Z", "a", event_id="e3"),
        event(
            "LOGOUT", "2026-11-02T17:00:00+09:00", "b", hierarchy=("EMEA", "Paris"), event_id="e4"
        ),
        event("HEART_BEAT", "2026-11-02T08:04:00Z", "b", event_id="e5"),
    ]
    # Real snapshots carry much more, and a previous snapshot that differs.
    for record in sample:
        record["CurrentAgentSnapshot"]["Contacts"] = [
            {"State": "ERROR", "ConnectedToAgentTimestamp": None, "Queue": {"Name": None}}
        ]
        record["PreviousAgentSnapshot"] = {"Configuration": {"Username": "previous"}}
    return sample


def write(root, data: bytes, name: str) -> str:
    path = os.path.join(partition_dir(str(root), DAY.isoformat()), name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


COLUMNS = ["event_id", "event_type", "event_ts", "agent_arn", "username", "hierarchy_1", "reason"]
SHAPES = ("ndjson", "concatenated", "multi-line", "mixed")


@pytest.fixture
def expected(tmp_path) -> pl.DataFrame:
    write(tmp_path / "reference", shaped(records(), "ndjson"), "part.json")
    return read_day(tmp_path / "reference", DAY).select(COLUMNS)


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("shape", SHAPES)
def test_every_json_shape_reads_the_same_records(tmp_path, expected, shape, compressed):
    data = shaped(records(), shape)
    # Firehose object names have no extension; gzip is recognised by its content.
    name = "stream-1-2026-11-02-08-00-00-5b1e"
    write(tmp_path, gzip.compress(data, mtime=0) if compressed else data, name)

    frame = read_day(tmp_path, DAY).select(COLUMNS)

    assert frame.equals(expected)
    assert frame["reason"].null_count() == frame.height == 5
    # Attributes come from the current snapshot, never the previous one.
    assert frame["username"].to_list() == ["민준", None, None, "b", None]
    [file] = ingest.partition_files(str(tmp_path), DAY)
    understood = read_records(file)
    assert understood.format == ("json-gzip" if compressed else "json")
    assert understood.shape == {"mixed": "multi-line"}.get(shape, shape)


@pytest.mark.parametrize("shape", ["ndjson", "concatenated"])
def test_a_lookback_read_parses_only_the_login_and_logout_records(tmp_path, shape):
    write(tmp_path, shaped(records(), shape), "part.json")

    candidates = read_day(tmp_path, DAY, candidates_only=True)

    assert candidates["event_type"].to_list() == ["LOGIN", "LOGOUT"]
    assert candidates["source_row"].to_list() == [1, 4]  # numbered as in the whole file
    assert candidates["username"].to_list() == ["민준", "b"]


def test_records_with_other_name_spellings_are_still_read(tmp_path):
    lower = lowercase_keys(records()[0])
    odd = records()[3]
    odd["eventId"] = odd.pop("EventId")  # neither Connect's nor Glue's spelling
    write(tmp_path, compact(lower) + b"\n" + compact(odd) + b"\n", "part.json")

    frame = read_day(tmp_path, DAY)

    assert frame["reason"].to_list() == [None, None]
    assert frame["event_id"].to_list() == [lower["eventid"], odd["eventId"]]
    assert frame["username"].to_list() == ["민준", "b"]


def test_snapshots_as_json_text_inside_json_records(tmp_path):
    record = records()[0]
    record["CurrentAgentSnapshot"] = json.dumps(record["CurrentAgentSnapshot"])
    groups = records()[3]
    groups["CurrentAgentSnapshot"]["Configuration"]["AgentHierarchyGroups"] = json.dumps(
        groups["CurrentAgentSnapshot"]["Configuration"]["AgentHierarchyGroups"]
    )
    quirk = event("LOGIN", "2026-11-02T09:00:00Z", "c")
    quirk["CurrentAgentSnapshot"]["Configuration"]["AgentHierarchyGroups"] = "null"  # fixtures do
    write(tmp_path, b"".join(compact(r) for r in (record, groups, quirk)), "part.json")

    frame = read_day(tmp_path, DAY)

    assert frame["reason"].to_list() == [None, None, None]
    assert frame["username"].to_list() == ["민준", "b", "c"]
    assert frame["hierarchy_1"].to_list() == ["Americas", "EMEA", None]


def test_a_bad_record_in_concatenated_json_is_quarantined_with_its_position(tmp_path):
    good = [compact(r) for r in records()[:2]]
    data = good[0] + b'{"EventId":"cut' + b"\n" + good[1]
    path = write(tmp_path, data, "part.json")

    frame = read_day(tmp_path, DAY)

    assert frame["reason"].is_null().to_list() == [True, False, True]
    assert frame["source_row"].to_list() == [1, 2, 3]
    offset = len(good[0])
    assert frame["reason"][1].startswith(f"record 2 at byte offset {offset} (line 1) is not")
    assert frame["source_file"].to_list() == [path] * 3


def test_a_file_without_one_parseable_record_is_unreadable(tmp_path):
    path = write(tmp_path, b"<html>Service Unavailable</html>\n", "part.json")

    with pytest.raises(UnreadableInputError) as raised:
        pl.collect_all(ingest.read_file(storage.FileInfo(path, 1, "v"), DAY)[:2])

    message = str(raised.value)
    assert path in message and "holds no JSON record that can be parsed" in message
    assert "record 1 at byte offset 0 (line 1)" in message and "\n" not in message


# -- a lookback day's files in one batch -----------------------------------------------------


def test_candidate_lines_keeps_every_line_it_cannot_rule_out():
    lines = b"\n".join(
        [
            b'{"EventType":"HEART_BEAT","EventId":"1"}',
            b'{"EventType":"STATE_CHANGE","EventId":"2"}',
            b'{"EventType":"LOGIN","EventId":"3"}',
            b'{"EventType":"CONNECTED","EventId":"4"}',  # a type timecard does not know
            b'{"eventtype":"HEART_BEAT","EventId":"5"}',  # another spelling: parsed to see
            b'{"Nested":{"EventType":"HEART_BEAT"},"EventType":"LOGOUT","EventId":"6"}',
            b'{"EventType": "HEART_BEAT","EventId":"7"}',  # a space: not the marker
            b'{"EventType":"HEART_BEATS","EventId":"8"}',
        ]
    )

    count, numbers, chosen = candidate_lines(lines, len(lines))

    assert count == 8
    assert numbers == [3, 4, 5, 6, 7, 8]
    assert [json.loads(line)["EventId"] for line in chosen] == ["3", "4", "5", "6", "7", "8"]


def day_of_files(root) -> list[storage.FileInfo]:
    """A lookback day as Firehose lands it: several gzip files, with lines the marker scan
    must leave to the parser."""
    sample = records()
    odd = lowercase_keys(records()[0]) | {"eventid": "lower-login"}
    unknown = records()[1] | {"EventType": "CONNECTED", "EventId": "unknown"}
    for name, part in (("a", sample[:3]), ("b", [sample[3], odd, sample[4]]), ("c", [unknown])):
        write(root, gzip.compress(shaped(part, "ndjson"), mtime=0), name)
    write(root, gzip.compress(b"\n", mtime=0), "d")  # empty
    return ingest.partition_files(str(root), DAY)


def read_batched(files, parts=("sessions",)) -> pl.DataFrame:
    reads = RawReads(files, DAY, parts)
    return reads.checked(True).with_columns(pl.col("source_file", "agent_arn").cast(pl.String))


def test_a_lookback_day_read_in_one_batch_equals_reading_file_by_file(tmp_path):
    files = day_of_files(tmp_path)
    urls = [file.url for file in files]

    batch = JsonReader().read_batch(urls, session_candidates_only=True)
    batched = read_batched(files).sort("source_file", "source_row")

    assert (batch.format, batch.shape) == ("json-gzip", "ndjson")
    one_by_one = read_day(tmp_path, DAY, candidates_only=True)
    assert batched.equals(one_by_one.select(batched.columns))
    assert batched["event_id"].to_list() == ["e1", "e4", "lower-login", "unknown"]
    assert batched["reason"].to_list() == [None] * 4


def test_a_day_of_mixed_shapes_is_read_one_by_one(tmp_path):
    sample = records()
    write(tmp_path, shaped(sample, "ndjson"), "a")
    write(tmp_path, shaped(sample, "concatenated"), "b")
    files = ingest.partition_files(str(tmp_path), DAY)

    assert JsonReader().read_batch([file.url for file in files], True) is None
    assert read_batched(files)["source_row"].to_list() == [1, 4, 1, 4]


def test_a_batch_of_one_shape_is_parsed_at_once_with_rows_numbered_per_file(tmp_path):
    sample = records()
    for name in ("a", "b"):
        write(tmp_path, gzip.compress(shaped(sample, "ndjson"), mtime=0), name)
    urls = [file.url for file in ingest.partition_files(str(tmp_path), DAY)]

    batch = JsonReader().read_batch(urls, session_candidates_only=True)

    assert (batch.format, batch.shape) == ("json-gzip", "ndjson")
    core = batch.frame.collect()
    assert core["source_row"].to_list() == [1, 4, 1, 4]  # LOGIN and LOGOUT of each file
    assert core[SOURCE_FILE_COLUMN].to_list() == [urls[0], urls[0], urls[1], urls[1]]
    attributes = batch.attribute_records.collect()
    assert attributes["source_row"].to_list() == [1, 4, 1, 4]
    assert JsonReader().read_batch(urls, session_candidates_only=False) is None


def test_a_damaged_file_in_a_lookback_batch_is_named(tmp_path):
    sample = records()
    write(tmp_path, gzip.compress(shaped(sample, "ndjson"), mtime=0), "a")
    damaged = write(tmp_path, gzip.compress(shaped(sample, "ndjson"), mtime=0)[:-20], "b")

    with pytest.raises(UnreadableInputError, match=damaged):
        read_batched(ingest.partition_files(str(tmp_path), DAY))


def test_a_gzip_file_of_several_members_is_read_whole(tmp_path, expected):
    sample = shaped(records(), "ndjson").splitlines(keepends=True)
    # As concatenating two gzip files makes it: each member has its own header and trailer.
    members = gzip.compress(b"".join(sample[:2]), mtime=0) + gzip.compress(b"".join(sample[2:]))
    write(tmp_path, members, "part.json.gz")

    assert read_day(tmp_path, DAY).select(COLUMNS).equals(expected)
    assert read_batched(ingest.partition_files(str(tmp_path), DAY)).height == 2


# -- a core field named twice --------------------------------------------------------------------


def _named_twice() -> list[bytes]:
    """Records as text, some naming a core field twice (each once in the file): the first value
    is what a native parse keeps, the second what `json` keeps."""

    def line(record: dict, old: str, new: str) -> bytes:
        text = compact(record).decode()
        assert old in text
        return text.replace(old, new, 1).encode()

    login = event("LOGIN", "2026-11-02T08:00:00Z", "a", event_id="e2")
    logout = event("LOGOUT", "2026-11-02T09:00:00Z", "a", event_id="e3")
    return [
        compact(event("LOGIN", "2026-11-02T07:00:00Z", "a", event_id="e1")),
        line(login, '"EventType":"LOGIN"', '"EventType":"HEART_BEAT","EventType":"LOGIN"'),
        line(
            logout,
            '"EventTimestamp":"2026-11-02T09:00:00Z"',
            '"EventTimestamp":"2026-11-02T10:00:00Z","EventTimestamp":"2026-11-02T20:00:00Z"',
        ),
        line(
            event("HEART_BEAT", "2026-11-02T11:00:00Z", "a", event_id="e4"),
            '"EventType":"HEART_BEAT"',
            '"EventType":"HEART_BEAT","eventtype":"LOGIN"',
        ),
        line(login | {"EventId": "e5"}, '"AgentARN":', '"AgentARN":"arn:other","AgentARN":'),
        line(logout | {"EventId": "e6"}, '"EventId":"e6"', '"EventId":"e6","eventid":"e7"'),
        compact(event("LOGOUT", "2026-11-02T18:00:00Z", "a", event_id="e8")),
    ]


def _quarantine(checked: pl.DataFrame) -> list[tuple[int, str]]:
    """(row, reason without its byte position) of the quarantined records."""
    rows = checked.filter(pl.col("reason").is_not_null()).sort("source_file", "source_row")
    return [
        (row, re.sub(r"^record \d+ at byte offset \d+ \(line \d+\) ", "", reason))
        for row, reason in rows.select("source_row", "reason").iter_rows()
    ]


def test_a_record_naming_a_core_field_twice_is_quarantined_alike_on_every_reading_path(
    tmp_path,
):
    lines = _named_twice()
    twice = "more than once (a core field must appear once: which value is meant is ambiguous)"
    expected = [
        (2, f'names "EventType" {twice}'),
        (3, f'names "EventTimestamp" {twice}'),
        (4, f'names "EventType" {twice}'),
        (5, f'names "AgentARN" {twice}'),
        (6, f'names "EventId" {twice}'),
    ]
    files = {
        "ndjson": b"\n".join(lines) + b"\n",  # the native parse
        "concatenated": b"".join(lines),
        "crlf": b"\r\n".join(lines) + b"\r\n",  # the careful reading
        "gzip": gzip.compress(b"\n".join(lines), mtime=0),
    }
    for shape, data in files.items():
        root = tmp_path / shape
        write(root, data, "part")
        for candidates_only in (False, True):  # a day of the window, a lookback day
            read = read_day(root, DAY, candidates_only)
            assert _quarantine(read) == expected, (shape, candidates_only)
            assert read.filter(pl.col("reason").is_null())["event_id"].to_list() == ["e1", "e8"]

    # A lookback day of several files: scanned by the workers, parsed as one batch.
    batch = tmp_path / "batch"
    for name in ("a", "b"):
        write(batch, gzip.compress(files["ndjson"], mtime=0), name)
    files = ingest.partition_files(str(batch), DAY)
    # The batch's parse finds the repeated names, so its files are read one by one.
    assert JsonReader().read_batch([file.url for file in files], True) is None
    assert _quarantine(read_batched(files)) == expected * 2


# -- a snapshot that is not the documented object ------------------------------------------------


@pytest.mark.parametrize(
    ("snapshot", "what"),
    [
        (["Available"], "a list"),
        ("Username=ana", "text that is not JSON"),
        ('["ana"]', "JSON text of a list"),
        (7, "a number"),
    ],
)
@pytest.mark.parametrize("shape", ["ndjson", "multi-line"])
def test_a_snapshot_that_is_not_an_object_is_quarantined_with_the_reason(
    tmp_path, snapshot, what, shape
):
    sample = [
        event("LOGIN", "2026-11-02T08:00:00Z", "a", event_id="e1"),
        event("HEART_BEAT", "2026-11-02T08:02:00Z", "a", event_id="e2"),
        event("LOGOUT", "2026-11-02T09:00:00Z", "a", event_id="e3"),
    ]
    for record in sample:
        record["CurrentAgentSnapshot"] = snapshot
    write(tmp_path, shaped(sample, shape), "part")
    reason = (
        f"CurrentAgentSnapshot is {what}, not an object, so this LOGIN/LOGOUT's names, routing "
        "profile and hierarchy cannot be read"
    )
    for candidates_only in (False, True):
        checked = read_day(tmp_path, DAY, candidates_only)
        assert checked.select("event_id", "reason").rows() == [
            ("e1", reason),
            *([("e2", None)] if not candidates_only else []),
            ("e3", reason),
        ]
    # A lookback day of several files, read as one batch.
    write(tmp_path, shaped(sample, shape), "part-2")
    quarantined = read_batched(ingest.partition_files(str(tmp_path), DAY))
    assert quarantined["reason"].to_list() == [reason] * 4


# -- memory: a raw file is decompressed within the cap, whatever its trailer says ---------------

_MEASURED_RUN = r"""
import json, resource, sys
from timecard.cli import main
from timecard.readers import processes
code = main(sys.argv[1:])
processes.shutdown()  # waits for the scan workers, so their peak counts among the children
# This process's own peak from VmHWM, not RUSAGE_SELF: Linux carries ru_maxrss across exec, so
# a process forked from a large parent (a long pytest session) would report the parent's size.
with open("/proc/self/status") as status:
    own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
peaks = [own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]
print(json.dumps({"exit": code, "peak_mib": max(peaks) / 1024}))
"""
_INFLATED = 2500 * 2**20  # what each bomb inflates to: ~2.5 GB
_LINE = compact(event("HEART_BEAT", "2026-11-02T10:00:00Z")) + b"\n"


def _gzip_bomb(kind: str) -> bytes:
    """~2.5 GB of JSON lines in a few MB of gzip: one member with a true trailer, the same with
    a trailer that states 1,000 bytes, or 40 members of 64 MiB (each trailer states 64 MiB)."""
    from isal import isal_zlib

    chunk = _LINE * (64 * 2**20 // len(_LINE))
    if kind == "members":
        member = gzip.compress(chunk, compresslevel=9, mtime=0)
        return member * (_INFLATED // len(chunk))
    compressor = isal_zlib.compressobj(1, isal_zlib.DEFLATED, 31)
    pieces = [compressor.compress(chunk) for _ in range(_INFLATED // len(chunk))]
    data = b"".join([*pieces, compressor.flush()])
    if kind == "lying-trailer":
        data = data[:-4] + (1000).to_bytes(4, "little")
    return data


@pytest.mark.parametrize(
    ("kind", "day"),
    [
        ("true-trailer", "2026-11-02"),  # a window day: each file read on its own
        ("lying-trailer", "2026-11-02"),
        ("members", "2026-11-02"),
        ("lying-trailer", "2026-10-30"),  # a lookback day: scanned in a batch by the workers
    ],
)
def test_a_gzip_inflating_to_gigabytes_is_refused_by_name_within_the_memory_cap(
    tmp_path, kind, day
):
    """A 2.5 GB gzip bomb is refused naming the file, and the run (with its scan workers)
    never holds much more than the 256 MiB cap: peak RSS measured in a subprocess."""
    import subprocess
    import sys

    root = tmp_path / "events"
    good = [event("LOGIN", "2026-11-02T08:00:00Z"), event("LOGOUT", "2026-11-02T16:00:00Z")]
    for partition in {"2026-11-02", day}:
        path = os.path.join(partition_dir(str(root), partition), "a-ok.json")
        with open(path, "wb") as handle:
            handle.write(b"".join(compact(record) + b"\n" for record in good))
    bomb = os.path.join(partition_dir(str(root), day), "b-bomb.json.gz")
    with open(bomb, "wb") as handle:
        handle.write(_gzip_bomb(kind))
    env = {**os.environ, "TIMECARD_HOME": str(tmp_path / "home")}
    env.pop("TIMECARD_MAX_DECOMPRESSED_MB", None)  # the default cap, 256 MiB
    command = [
        sys.executable, "-c", _MEASURED_RUN,
        "report", "--events", str(root), "--out", str(tmp_path / "out.csv"),
        "--cache", str(tmp_path / "cache"), "--lookback-days", "3",
        "--start", "2026-11-02T00:00:00", "--end", "2026-11-03T00:00:00",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    print(kind, day, measured)
    assert measured["exit"] == 1, done.stderr
    assert bomb in done.stderr and "TIMECARD_MAX_DECOMPRESSED_MB" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert measured["peak_mib"] < 600, measured
    assert not (tmp_path / "out.csv").exists()
