"""The condensed per-day cache: each part built once, reused, rebuilt when its partition changes,
and never trusted when a writer died half-way."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bench.widen import widened
from tests.builders import event, write_ndjson, write_parquet
from timecard import condensed, ingest, storage
from timecard.condensed import DayCache
from timecard.limits import SHAPES
from transforms import normalize

DAY = date(2026, 11, 2)
DAY_TEXT = DAY.isoformat()


@pytest.fixture
def events_root(tmp_path) -> str:
    root = str(tmp_path / "events")
    write_parquet(
        root,
        DAY_TEXT,
        [
            event("LOGIN", "2026-11-02T08:00:00Z", event_id="login"),
            event("STATE_CHANGE", "2026-11-02T08:05:00Z", event_id="state"),
            event("HEART_BEAT", "2026-11-02T08:07:00Z", event_id="beat"),
            event("LOGOUT", "2026-11-02T09:00:00Z", event_id="logout"),
            {**event("LOGIN", "2026-11-02T10:00:00Z"), "EventId": None},  # quarantined
        ],
    )
    return root


@pytest.fixture
def cache(events_root, tmp_path) -> DayCache:
    return DayCache(events_root, str(tmp_path / "cache"))


def fresh(cache: DayCache) -> DayCache:
    """The same cache as seen by another run (which lists the partition again)."""
    return DayCache(cache.events_root, cache.base.rsplit("/condensed-", 1)[0])


def assert_same(part: condensed.Part, expected: condensed.Part) -> None:
    assert_frame_equal(part.data(), expected.data())
    if part.name != "attributes":
        assert_frame_equal(part.quarantine(), expected.quarantine())


@pytest.mark.parametrize("name", condensed.PARTS)
def test_each_part_is_built_once_and_then_reused(cache, name):
    built = cache.part(DAY, name)
    reused = fresh(cache).part(DAY, name)

    assert built.built_now and not reused.built_now  # read back from the cache, not recomputed
    assert (reused.fingerprint, reused.counts) == (built.fingerprint, built.counts)
    assert_same(reused, built)


def test_the_parts_hold_what_reports_need(cache):
    session_part, activity_part = cache.part(DAY, "sessions"), cache.part(DAY, "activity")
    attributes = cache.part(DAY, "attributes").data()

    assert session_part.data()["event_id"].to_list() == ["login", "logout"]
    assert activity_part.data().sort("event_ts")["event_ts"].to_list() == [
        datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 8, 5, tzinfo=UTC),
        datetime(2026, 11, 2, 8, 7, tzinfo=UTC),
        datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
    ]
    # The quarantined LOGIN could have bounded a session, so both parts report it.
    for part in (session_part, activity_part):
        assert part.quarantine()["reason"].to_list() == ["missing required field(s): EventId"]
    assert activity_part.counts == {
        "files": 1,
        "events": 4,
        "duplicates": 0,
        "unknown_event_types": 0,
        "quarantined": 1,
        "activity": 4,
        # Every record read, quarantined ones included, by what its reader understood.
        "formats": {"parquet": 5},
        "shapes": {"nested": 5},
    }
    # The sessions part never looked at the heartbeat and the state change.
    assert session_part.counts["events"] == 2
    # Attributes exist for each LOGIN/LOGOUT record, the quarantined one included.
    assert attributes["source_row"].to_list() == [1, 4, 5]
    assert attributes["username"].to_list() == ["a1", "a1", "a1"]


def test_a_new_cache_object_on_the_same_roots_reuses_the_stored_parts(cache, events_root, tmp_path):
    built = cache.part(DAY, "sessions")

    # Another process, naming the same roots differently.
    again = DayCache(f"{events_root}/", f"file://{tmp_path}/cache/").part(DAY, "sessions")

    assert not again.built_now
    assert_same(again, built)


def test_a_late_file_changes_the_fingerprint_and_rebuilds(cache, events_root):
    first = cache.part(DAY, "sessions")
    write_ndjson(
        events_root,
        DAY_TEXT,
        [event("LOGIN", "2026-11-02T12:00:00Z", event_id="late-login")],
        name="late.json",
    )

    rebuilt = fresh(cache).part(DAY, "sessions")

    assert rebuilt.built_now
    assert rebuilt.fingerprint != first.fingerprint
    assert rebuilt.counts["files"] == 2
    assert rebuilt.data()["event_id"].to_list() == ["login", "logout", "late-login"]
    assert not fresh(cache).part(DAY, "sessions").built_now


def test_data_without_its_marker_is_never_trusted(cache):
    """A writer killed after writing (part of) the data, before the part's `.json` marker."""
    good = cache.part(DAY, "sessions")
    storage.delete(storage.join(good.folder, "sessions.json"))
    # What the killed writer left behind: a damaged data file, and an unfinished temp marker.
    storage.write_bytes(storage.join(good.folder, "sessions.parquet"), b"PAR1 half")
    storage.write_bytes(storage.join(good.folder, ".sessions.json.5f3a.tmp"), b'{"counts": ')

    rebuilt = fresh(cache).part(DAY, "sessions")

    assert rebuilt.built_now
    assert rebuilt.fingerprint == good.fingerprint
    assert_same(rebuilt, good)
    # The rebuild replaced the damaged file, so the next run can trust the part again.
    reused = fresh(cache).part(DAY, "sessions")
    assert not reused.built_now
    assert_same(reused, good)


def test_parts_of_an_old_fingerprint_are_never_used_for_new_content(cache, events_root):
    old = cache.part(DAY, "sessions")
    write_ndjson(
        events_root,
        DAY_TEXT,
        [event("LOGOUT", "2026-11-02T23:00:00Z", event_id="late-logout")],
        name="late.json",
    )
    new_fingerprint = ingest.fingerprint(events_root, ingest.partition_files(events_root, DAY))
    # A killed writer's half-written data for the new content, with no marker.
    new_folder = old.folder.replace(old.fingerprint, new_fingerprint)
    storage.write_bytes(storage.join(new_folder, "sessions.parquet"), b"PAR1 half")

    current = fresh(cache).part(DAY, "sessions")

    assert current.built_now
    assert current.fingerprint == new_fingerprint != old.fingerprint
    assert "late-logout" in current.data()["event_id"].to_list()
    assert_same(fresh(cache).part(DAY, "sessions"), current)


def test_an_empty_or_missing_partition_gives_empty_frames(tmp_path):
    cache = DayCache(str(tmp_path / "events"), str(tmp_path / "cache"))

    parts = {name: cache.part(DAY, name) for name in condensed.PARTS}

    assert all(not count for part in parts.values() for count in part.counts.values())
    assert all(part.data().is_empty() for part in parts.values())
    reread = fresh(cache).part(DAY, "sessions")
    assert not reread.built_now
    assert reread.data().schema == normalize.empty_events().schema
    assert reread.quarantine().schema == normalize.empty_quarantine().schema


def test_duplicates_within_a_partition_are_counted_and_kept_once(tmp_path):
    root = str(tmp_path / "events")
    login = event("LOGIN", "2026-11-02T08:00:00Z", event_id="login", first_name="First copy")
    beat = event("HEART_BEAT", "2026-11-02T08:02:00Z", event_id="beat")
    write_ndjson(root, DAY_TEXT, [login, beat, beat], name="a.json")
    # Kinesis redelivers the same EventId, here in another file with different contents.
    redelivered = {**login, "CurrentAgentSnapshot": None}
    write_ndjson(root, DAY_TEXT, [redelivered], name="b.json")
    cache = DayCache(root, str(tmp_path / "cache"))

    activity = cache.part(DAY, "activity")
    kept = cache.part(DAY, "sessions").data()

    assert (activity.counts["events"], activity.counts["duplicates"]) == (4, 2)
    assert kept["event_id"].to_list() == ["login"]
    # The copy kept is the first by (file, row), so every rerun keeps the same one.
    assert kept["source_file"].to_list() == [os.path.join(root, f"date={DAY_TEXT}", "a.json")]
    attributes = cache.part(DAY, "attributes").data()
    first_copy = attributes.join(kept, on=["source_file", "source_row"], how="semi")
    assert first_copy["first_name"].to_list() == ["First copy"]


def test_a_partition_mixing_formats_and_name_cases_condenses_into_one_dataset(tmp_path):
    root = str(tmp_path / "events")
    lowercase = {
        key.lower(): value for key, value in event("LOGIN", "2026-11-02T08:00:00Z").items()
    }
    write_parquet(root, DAY_TEXT, [lowercase], name="glue.parquet")
    write_ndjson(
        root,
        DAY_TEXT,
        [event("HEART_BEAT", "2026-11-02T17:01:00+09:00"), event("LOGOUT", "2026-11-02T09:00:00Z")],
        name="firehose.json.gz",
        compress=True,
    )
    timestamp_column = pl.DataFrame([event("STATE_CHANGE", "")]).with_columns(
        EventTimestamp=pl.lit(datetime(2026, 11, 2, 8, 30))
    )
    timestamp_column.write_parquet(os.path.join(root, f"date={DAY_TEXT}", "typed.parquet"))
    cache = DayCache(root, str(tmp_path / "cache"))

    activity = cache.part(DAY, "activity")

    assert (activity.counts["files"], activity.counts["events"]) == (3, 4)
    assert activity.counts["quarantined"] == 0
    assert cache.part(DAY, "sessions").data()["event_type"].to_list() == ["LOGIN", "LOGOUT"]
    assert [ts.strftime("%H:%M") for ts in activity.data().sort("event_ts")["event_ts"]] == [
        "08:00",
        "08:01",
        "08:30",
        "09:00",
    ]
    assert cache.part(DAY, "attributes").data()["username"].to_list() == ["a1", "a1"]


def test_unknown_and_missing_event_types_are_checked_even_when_only_sessions_are_read(tmp_path):
    root = str(tmp_path / "events")
    write_ndjson(
        root,
        DAY_TEXT,
        [
            event("login", "2026-11-02T08:00:00Z"),
            event("CONTACT_MAGIC", "2026-11-02T08:01:00Z"),
            {**event("LOGOUT", "2026-11-02T08:02:00Z"), "EventType": None},
            event("HEART_BEAT", "not a time"),  # only the full read looks at heartbeats
        ],
    )
    cache = DayCache(root, str(tmp_path / "cache"))

    session_part = cache.part(DAY, "sessions")
    activity_part = cache.part(DAY, "activity")

    assert session_part.data()["event_type"].to_list() == ["LOGIN"]
    assert session_part.counts["unknown_event_types"] == 1
    assert session_part.quarantine()["reason"].to_list() == ["missing required field(s): EventType"]
    assert activity_part.counts["unknown_event_types"] == 1
    assert activity_part.counts["quarantined"] == 2
    assert activity_part.data().height == 2


def test_the_cache_is_kept_apart_per_events_root(tmp_path):
    cache_root = str(tmp_path / "cache")
    for name, agent in (("one", "a1"), ("two", "a2")):
        write_ndjson(tmp_path / name, DAY_TEXT, [event("LOGIN", "2026-11-02T08:00:00Z", agent)])

    first = DayCache(str(tmp_path / "one"), cache_root).part(DAY, "attributes")
    second = DayCache(str(tmp_path / "two"), cache_root).part(DAY, "attributes")

    assert second.built_now
    assert first.data()["username"].to_list() == ["a1"]
    assert second.data()["username"].to_list() == ["a2"]


def test_parts_live_in_the_documented_layout(cache):
    part = cache.part(DAY, "sessions")

    assert part.folder == storage.join(cache.base, DAY_TEXT, part.fingerprint)
    assert sorted(os.listdir(part.folder)) == [
        "sessions-quarantine.parquet",
        "sessions.json",
        "sessions.parquet",
    ]
    recorded = json.loads(storage.read_bytes(storage.join(part.folder, "sessions.json")))
    assert recorded == {
        "format": condensed.FORMAT_VERSION,
        "day": DAY_TEXT,
        "part": "sessions",
        "fingerprint": part.fingerprint,
        "counts": part.counts,
    }
    assert pl.read_parquet(storage.join(part.folder, "sessions.parquet")).height == 2


# -- the condense in shards gives the parts the one-read condense gave, byte for byte -----------

SHARD_DAY = date(2026, 11, 3)  # the middle of three generated days


def generated_day(root: str, shape: str) -> None:
    """Three days of a small roster in `shape`; "compacted-<shape>": the middle day's files of
    that Parquet shape rewritten as one file of small row groups (a Glue/Athena compaction)."""
    from timecard.generate import generate_events

    source = shape.removeprefix("compacted-")
    generate_events(root, agents=6, start=date(2026, 11, 2), days=3, seed=4, shape=source)
    if source == shape:
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = os.path.join(root, f"date={SHARD_DAY}")
    paths = sorted(os.path.join(folder, name) for name in os.listdir(folder))
    table = pq.read_table(paths[0]).schema
    tables = [pq.read_table(path, schema=table) for path in paths]
    compacted = pa.concat_tables(tables)
    for path in paths:
        os.remove(path)
    pq.write_table(compacted, os.path.join(folder, "compacted.parquet"), row_group_size=40)


def part_files(folder: str) -> dict[str, bytes]:
    return {
        name: storage.read_bytes(os.path.join(folder, name))
        for name in sorted(os.listdir(folder))
        if name.endswith(".parquet")
    }


SHARD_SHAPES = [
    *SHAPES,
    "compacted-parquet-pyarrow",
    "compacted-parquet-glue-string",
]


@pytest.mark.parametrize("names", [("sessions",), condensed.PARTS], ids=["lookback", "all"])
@pytest.mark.parametrize("sharded", [False, True], ids=["one-run", "a-run-a-file"])
@pytest.mark.parametrize("shape", SHARD_SHAPES)
def test_the_condense_in_runs_writes_the_parts_the_one_read_condense_wrote(
    tmp_path, monkeypatch, shape, sharded, names
):
    from tests.timecard.condensed_reference import reference_parts

    root = str(tmp_path / "events")
    generated_day(root, shape)
    if sharded:  # every file, and every row group of a large file, a run of its own
        monkeypatch.setattr(condensed, "run_bytes", lambda budget_mb=None: 1)
    cache = DayCache(root, str(tmp_path / "cache"))
    files, _ = cache.listing(SHARD_DAY)
    shards = condensed.plan_shards(cache, SHARD_DAY)
    if sharded:
        assert len(shards) > 1
    expected = str(tmp_path / "reference")
    expected_counts = reference_parts(files, SHARD_DAY, names, expected)

    parts = cache.parts(SHARD_DAY, names)

    folder = parts[names[0]].folder
    assert part_files(folder) == part_files(expected)  # the same bytes
    assert {name: part.counts for name, part in parts.items()} == expected_counts
    assert not [name for name in os.listdir(folder) if name.startswith(condensed.RUN_PREFIX)]


@pytest.fixture
def a_run_a_file(monkeypatch):
    """Every raw file (and every row group of a large Parquet file) is a run of its own."""
    monkeypatch.setattr(condensed, "run_bytes", lambda budget_mb=None: 1)


def test_copies_of_an_event_id_in_different_runs_are_counted_exactly(tmp_path, a_run_a_file):
    root = str(tmp_path / "events")
    login = event("LOGIN", "2026-11-02T08:00:00Z", event_id="login", first_name="First copy")
    beat = event("HEART_BEAT", "2026-11-02T08:02:00Z", event_id="beat")
    write_ndjson(root, DAY_TEXT, [login, beat], name="a.json")
    write_ndjson(root, DAY_TEXT, [beat, {**login, "CurrentAgentSnapshot": None}], name="b.json")
    write_ndjson(root, DAY_TEXT, [login, {**login, "EventId": None}], name="c.json")
    cache = DayCache(root, str(tmp_path / "cache"))
    assert len(condensed.plan_shards(cache, DAY)) == 3

    activity = cache.part(DAY, "activity")
    session_part = fresh(cache).part(DAY, "sessions")

    assert (activity.counts["events"], activity.counts["duplicates"]) == (5, 3)
    assert (session_part.counts["events"], session_part.counts["duplicates"]) == (3, 2)
    # The copy kept is the first by (file, row), whichever run read it.
    kept = session_part.data()
    assert kept["source_file"].to_list() == [os.path.join(root, f"date={DAY_TEXT}", "a.json")]
    for part in (activity, session_part):
        assert part.quarantine()["source_file"].to_list() == [
            os.path.join(root, f"date={DAY_TEXT}", "c.json")
        ]


@pytest.mark.parametrize("budget", [2**30, 64])
def test_duplicates_are_copies_of_an_id_not_ids_that_share_a_hash(monkeypatch, budget):
    """Repeats are found on the hash, then confirmed on the id's text: two ids whose hashes
    collide are not copies. With a budget of 64 bytes, a bucket holds a hash or two."""
    monkeypatch.setattr(condensed, "budget_bytes", lambda budget_mb=None: budget)
    ids = pl.DataFrame(
        {
            "hash": [7, 7, 3, 9, 9, 9, 9, 11, 5, 3],
            "event_id": ["a", "b", "c", "d", "d", "d", "e", "f", "g", "c"],
        },
        schema={"hash": pl.UInt64, "event_id": pl.String},
    )
    # a/b collide (0 copies); c twice (1); d three times beside e (2); f and g alone.
    assert condensed._duplicates(ids.lazy(), ids.height) == 3
    assert condensed._duplicates(ids.head(0).lazy(), 0) == 0
    assert condensed._duplicates(ids.head(1).lazy(), 1) == 0


def test_shards_travel_as_json_and_combine_in_any_order_into_the_same_parts(
    events_root, tmp_path, a_run_a_file
):
    write_ndjson(events_root, DAY_TEXT, [event("LOGOUT", "2026-11-02T11:00:00Z")], name="b.json")
    one_task = DayCache(events_root, str(tmp_path / "one-task")).parts(DAY, condensed.PARTS)
    cache = DayCache(events_root, str(tmp_path / "cache"))
    shards = condensed.plan_shards(cache, DAY)
    assert [(shard.index, shard.count) for shard in shards] == [(0, 2), (1, 2)]
    assert [condensed.Shard.from_json(shard.to_json()) for shard in shards] == list(shards)

    # Each shard on its own "worker", the second twice (a retry), in reverse order.
    results = [
        condensed.condense_shard(DayCache(events_root, str(tmp_path / "cache")), shard, PARTS)
        for shard in (shards[1], shards[0], shards[1])
    ]
    results = [condensed.ShardResult.from_json(result.to_json()) for result in results[1:]]
    parts = condensed.combine_shards(fresh(cache), DAY, results)

    for name in condensed.PARTS:
        assert part_files(parts[name].folder) == part_files(one_task[name].folder)
        assert parts[name].counts == one_task[name].counts
    # Combined once: a second combine finds the parts written, and the runs removed.
    again = condensed.combine_shards(fresh(cache), DAY, results)
    assert not any(part.built_now for part in again.values())
    with pytest.raises(ValueError, match="not one whole plan"):
        condensed.combine_shards(fresh(cache), DAY, results[:1])


PARTS = condensed.PARTS


# -- memory: a day's condense and report are bounded by the budget, not by the day's size -------

_MEASURED_REPORT = r"""
import json, resource, sys
from timecard.cli import main
from timecard.readers import processes
code = main(sys.argv[1:])
processes.shutdown()  # its scan workers' peaks count among the children
# VmHWM, not RUSAGE_SELF: Linux carries ru_maxrss across exec (a large pytest parent's).
with open("/proc/self/status") as status:
    own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
peaks = [own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]
print(json.dumps({"exit": code, "peak_mib": max(peaks) / 1024}))
"""


def measured_report(root: str, cache: str, budget_mb: int) -> float:
    """A cold report of one day (1-day lookback) in a subprocess: its peak RSS in MiB."""
    import subprocess
    import sys

    arguments = ["report", "--events", root, "--cache", cache, "--out", f"{cache}.csv"]
    arguments += ["--start", "2026-10-02T00:00:00", "--end", "2026-10-03T00:00:00", "--tz", "UTC"]
    arguments += ["--lookback-days", "1", "--max-rows", "1000000"]
    env = {**os.environ, "TIMECARD_MEMORY_BUDGET_MB": str(budget_mb)}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED_REPORT, *arguments],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["exit"] == 0, done.stderr[-2000:]
    return measured["peak_mib"]


MEMORY_BUDGET_MB = 400
SMALL_AGENTS, COPIES = 250, 20  # a 250-agent landing and a 5,000-agent one made of its copies


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_day(tmp_path):
    """A 5,000-agent day (20 copies of a 250-agent day, about 930,000 events: generating it
    takes minutes) under a 400 MiB budget: condensed in runs, its report peaks within the
    budget, and close to the peak of the 250-agent day's, not 20 times more."""
    from timecard.generate import generate_events

    small, large = str(tmp_path / "small"), str(tmp_path / "large")
    generate_events(
        small, agents=SMALL_AGENTS, start=date(2026, 10, 1), days=4, shape="parquet-pyarrow"
    )
    widened(small, large, COPIES)
    small_copy = str(tmp_path / "small-one-copy")
    widened(small, small_copy, 1)  # the same files, renamed the same way

    small_peak = measured_report(small_copy, str(tmp_path / "small-cache"), MEMORY_BUDGET_MB)
    large_peak = measured_report(large, str(tmp_path / "large-cache"), MEMORY_BUDGET_MB)

    assert large_peak <= MEMORY_BUDGET_MB, (small_peak, large_peak)
    # The larger day adds what its parts hold (LOGIN/LOGOUT events, attributes), not its raw
    # records: far less than twenty times the smaller day's peak.
    assert large_peak - small_peak <= MEMORY_BUDGET_MB / 2, (small_peak, large_peak)
