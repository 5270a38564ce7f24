"""The condensed per-day cache: built once, reused, rebuilt when its partition changes, and
never trusted when a writer died half-way."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.builders import event, write_ndjson, write_parquet
from timecard import condensed, ingest, storage
from timecard.condensed import DayCache
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


def day_folder(cache: DayCache) -> str:
    return storage.join(cache.base, DAY_TEXT)


def assert_same_frames(entry: condensed.DayEntry, expected: condensed.DayEntry) -> None:
    for part in condensed.PARTS:
        assert_frame_equal(entry.load(part), expected.load(part))


def test_an_entry_is_built_once_and_then_reused(cache):
    built = cache.entry(DAY)
    reused = cache.entry(DAY)

    assert built.built_now and not reused.built_now
    assert reused.fingerprint == built.fingerprint
    assert reused.counts == built.counts
    assert reused.frames == {}  # read back from the cache, not recomputed
    assert_same_frames(reused, built)
    assert built.counts == {
        "files": 1,
        "events": 4,
        "duplicates": 0,
        "unknown_event_types": 0,
        "quarantined": 1,
        "session_events": 2,
        "activity": 4,
    }
    assert built.load("session_events")["event_id"].to_list() == ["login", "logout"]
    assert built.load("activity")["event_ts"].to_list() == [
        datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 8, 5, tzinfo=UTC),
        datetime(2026, 11, 2, 8, 7, tzinfo=UTC),
        datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
    ]
    assert built.load("quarantine")["reason"].to_list() == ["missing required field(s): EventId"]


def test_a_new_cache_object_on_the_same_roots_reuses_the_stored_entry(cache, events_root, tmp_path):
    built = cache.entry(DAY)

    # Another process, naming the same roots differently.
    again = DayCache(f"{events_root}/", f"file://{tmp_path}/cache/").entry(DAY)

    assert not again.built_now
    assert_same_frames(again, built)


def test_a_late_file_changes_the_fingerprint_and_rebuilds(cache, events_root):
    first = cache.entry(DAY)
    write_ndjson(
        events_root,
        DAY_TEXT,
        [event("LOGIN", "2026-11-02T12:00:00Z", event_id="late-login")],
        name="late.json",
    )

    rebuilt = cache.entry(DAY)

    assert rebuilt.built_now
    assert rebuilt.fingerprint != first.fingerprint
    assert rebuilt.counts["files"] == 2
    assert rebuilt.load("session_events")["event_id"].to_list() == [
        "login",
        "logout",
        "late-login",
    ]
    assert not cache.entry(DAY).built_now


def test_data_files_without_an_entry_are_never_trusted(cache):
    """A writer killed after its data files (or part of them) but before `_entry.json`."""
    good = cache.entry(DAY)
    storage.delete(storage.join(day_folder(cache), "_entry.json"))
    # What the killed writer left behind: a damaged data file, and its unfinished temp entry.
    storage.write_bytes(storage.join(good.folder, "session_events.parquet"), b"PAR1 half")
    storage.write_bytes(
        storage.join(day_folder(cache), "._entry.json.5f3a.tmp"), b'{"fingerprint": "'
    )

    rebuilt = cache.entry(DAY)

    assert rebuilt.built_now
    assert rebuilt.fingerprint == good.fingerprint
    assert_same_frames(rebuilt, good)
    # The rebuild replaced the damaged file, so the next run can trust the entry again.
    reused = cache.entry(DAY)
    assert not reused.built_now
    assert_same_frames(reused, good)


def test_a_stale_entry_for_an_old_fingerprint_is_never_trusted(cache, events_root):
    """A writer killed after the data of a new fingerprint, before moving `_entry.json` on."""
    old = cache.entry(DAY)
    write_ndjson(
        events_root,
        DAY_TEXT,
        [event("LOGOUT", "2026-11-02T23:00:00Z", event_id="late-logout")],
        name="late.json",
    )
    new_fingerprint = ingest.fingerprint(events_root, ingest.partition_files(events_root, DAY))
    new_folder = storage.join(day_folder(cache), new_fingerprint)
    storage.write_bytes(storage.join(new_folder, "session_events.parquet"), b"PAR1 half")
    entry = json.loads(storage.read_bytes(storage.join(day_folder(cache), "_entry.json")))
    assert entry["fingerprint"] == old.fingerprint

    current = cache.entry(DAY)

    assert current.built_now
    assert current.fingerprint == new_fingerprint != old.fingerprint
    assert "late-logout" in current.load("session_events")["event_id"].to_list()
    entry = json.loads(storage.read_bytes(storage.join(day_folder(cache), "_entry.json")))
    assert entry["fingerprint"] == current.fingerprint
    assert_same_frames(cache.entry(DAY), current)  # the damaged file was replaced


def test_an_empty_or_missing_partition_gives_empty_frames(tmp_path):
    cache = DayCache(str(tmp_path / "events"), str(tmp_path / "cache"))

    entry = cache.entry(DAY)

    assert all(count == 0 for count in entry.counts.values())
    for part in condensed.PARTS:
        assert entry.load(part).is_empty()
    assert entry.load("session_events").schema == normalize.empty_normalized().schema
    assert not cache.entry(DAY).built_now
    reread = cache.entry(DAY).load("quarantine")
    assert reread.schema == normalize.empty_quarantine().schema


def test_duplicates_within_a_partition_are_counted_and_kept_once(tmp_path):
    root = str(tmp_path / "events")
    login = event("LOGIN", "2026-11-02T08:00:00Z", event_id="login", first_name="First copy")
    beat = event("HEART_BEAT", "2026-11-02T08:02:00Z", event_id="beat")
    write_ndjson(root, DAY_TEXT, [login, beat, beat], name="a.json")
    # Kinesis redelivers the same EventId, here in another file with different contents.
    redelivered = {**login, "CurrentAgentSnapshot": None}
    write_ndjson(root, DAY_TEXT, [redelivered], name="b.json")

    entry = DayCache(root, str(tmp_path / "cache")).entry(DAY)

    assert entry.counts["events"] == 4
    assert entry.counts["duplicates"] == 2
    kept = entry.load("session_events")
    assert kept["event_id"].to_list() == ["login"]
    # The copy kept is the first by (file, row), so every rerun keeps the same one.
    assert kept["first_name"].to_list() == ["First copy"]
    assert kept["source_file"].to_list() == [os.path.join(root, f"date={DAY_TEXT}", "a.json")]
    assert entry.load("activity").height == 2


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

    entry = DayCache(root, str(tmp_path / "cache")).entry(DAY)

    assert entry.counts["files"] == 3
    assert entry.counts["events"] == 4
    assert entry.counts["quarantined"] == 0
    assert entry.load("session_events")["event_type"].to_list() == ["LOGIN", "LOGOUT"]
    assert [ts.strftime("%H:%M") for ts in entry.load("activity")["event_ts"]] == [
        "08:00",
        "08:01",
        "08:30",
        "09:00",
    ]


def test_unknown_event_types_are_counted_not_fatal(tmp_path):
    root = str(tmp_path / "events")
    write_ndjson(
        root,
        DAY_TEXT,
        [
            event("login", "2026-11-02T08:00:00Z"),
            event("CONTACT_MAGIC", "2026-11-02T08:01:00Z"),
        ],
    )

    entry = DayCache(root, str(tmp_path / "cache")).entry(DAY)

    assert entry.counts["unknown_event_types"] == 1
    assert entry.counts["quarantined"] == 0
    assert entry.load("session_events")["event_type"].to_list() == ["LOGIN"]
    assert entry.load("activity").height == 2


def test_the_cache_is_kept_apart_per_events_root(tmp_path):
    cache_root = str(tmp_path / "cache")
    for name, agent in (("one", "a1"), ("two", "a2")):
        write_ndjson(tmp_path / name, DAY_TEXT, [event("LOGIN", "2026-11-02T08:00:00Z", agent)])

    first = DayCache(str(tmp_path / "one"), cache_root).entry(DAY)
    second = DayCache(str(tmp_path / "two"), cache_root).entry(DAY)

    assert second.built_now
    assert first.load("session_events")["username"].to_list() == ["a1"]
    assert second.load("session_events")["username"].to_list() == ["a2"]


def test_entries_live_in_the_documented_layout(cache):
    entry = cache.entry(DAY)

    folder = day_folder(cache)
    assert entry.folder == storage.join(folder, entry.fingerprint)
    assert sorted(os.listdir(entry.folder)) == [
        f"{part}.parquet" for part in sorted(condensed.PARTS)
    ]
    recorded = json.loads(storage.read_bytes(storage.join(folder, "_entry.json")))
    assert recorded == {
        "format": condensed.FORMAT_VERSION,
        "day": DAY_TEXT,
        "fingerprint": entry.fingerprint,
        "counts": entry.counts,
    }
    assert pl.read_parquet(storage.join(entry.folder, "session_events.parquet")).height == 2
