"""The completeness gate's decision and the evidence it reads, on their edge cases."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.builders import event, utc, write_ndjson
from timecard.completeness import (
    DEADLINE,
    ELAPSED,
    NOT_WAITED,
    WATERMARK,
    Gate,
    days_after_window,
    decide,
    newest_event,
    without_waiting,
)
from timecard.landing import Landing

END = utc("2026-11-03T00:00:00Z")
GATE = Gate.from_minutes(END, settle=15, max_wait=60)
STARTED = END  # a scheduled run first looks at the window end


def at(minutes: float) -> datetime:
    return END + timedelta(minutes=minutes)


def test_exactly_at_settle_passes_and_a_microsecond_before_waits():
    assert decide(GATE, now=at(15), first_look=STARTED, newest_event=at(15)) == WATERMARK
    just_before = at(15) - timedelta(microseconds=1)
    assert decide(GATE, now=at(20), first_look=STARTED, newest_event=just_before) is None


def test_no_later_event_waits_until_the_deadline_and_passes_exactly_at_it():
    assert decide(GATE, now=at(59.99), first_look=STARTED, newest_event=None) is None
    assert decide(GATE, now=at(60), first_look=STARTED, newest_event=None) == DEADLINE
    # At the deadline, the watermark is still the better reason when it holds.
    assert decide(GATE, now=at(61), first_look=STARTED, newest_event=at(16)) == WATERMARK


def test_an_event_stamped_after_the_gates_clock_never_passes_it():
    """Clock skew: an event from a clock running ahead proves nothing about the window."""
    assert decide(GATE, now=at(10), first_look=STARTED, newest_event=at(15)) is None
    assert decide(GATE, now=at(15), first_look=STARTED, newest_event=at(15)) == WATERMARK


def test_a_window_whose_deadline_passed_before_the_first_look_passes_at_once():
    long_ago = at(60 * 24 * 30)
    assert decide(GATE, now=long_ago, first_look=at(60), newest_event=None) == ELAPSED
    # A run that started before the deadline and reaches it while waiting says "deadline".
    assert decide(GATE, now=at(60), first_look=at(59), newest_event=None) == DEADLINE


def test_ad_hoc_runs_say_whether_their_deadline_had_passed():
    assert without_waiting(GATE, at(5)) == NOT_WAITED
    assert without_waiting(GATE, at(60)) == ELAPSED


def test_only_partitions_from_the_threshold_to_today_are_read_newest_first():
    seoul = Gate.from_minutes(utc("2026-11-02T15:00:00Z"), settle=15, max_wait=60)
    assert days_after_window(seoul, utc("2026-11-04T01:00:00Z")) == [
        datetime(2026, 11, 4).date(),
        datetime(2026, 11, 3).date(),
        datetime(2026, 11, 2).date(),
    ]
    late_settle = Gate.from_minutes(utc("2026-11-02T23:50:00Z"), settle=15, max_wait=60)
    assert days_after_window(late_settle, utc("2026-11-03T00:30:00Z")) == [
        datetime(2026, 11, 3).date()
    ]


@pytest.fixture
def landing(tmp_path) -> Landing:
    return Landing(str(tmp_path / "events"))


def test_events_past_the_window_but_before_settle_do_not_pass(landing):
    # The next day's partition holds events 5 minutes after the window end: not enough.
    write_ndjson(landing.root, "2026-11-03", [event("HEART_BEAT", "2026-11-03T00:05:00Z")])
    newest = newest_event(landing, GATE, at(30))
    assert newest == at(5)
    assert decide(GATE, at(30), STARTED, newest) is None


def test_events_in_the_windows_own_partition_are_not_read(landing):
    """An event stamped after the threshold, filed (by a skewed clock) in the window's day,
    lies before the partitions after the window end, which are all the gate reads."""
    write_ndjson(landing.root, "2026-11-02", [event("HEART_BEAT", "2026-11-03T00:20:00Z")])
    assert newest_event(landing, GATE, at(30)) is None


def test_an_empty_partition_waits_then_passes_at_the_deadline(landing):
    folder = write_ndjson(landing.root, "2026-11-03", [], name="_SUCCESS")
    assert folder.endswith("_SUCCESS")
    assert newest_event(landing, GATE, at(30)) is None
    assert decide(GATE, at(30), STARTED, None) is None
    assert decide(GATE, at(60), STARTED, None) == DEADLINE


def test_events_stamped_in_the_future_are_left_out_of_the_watermark(landing):
    write_ndjson(
        landing.root,
        "2026-11-03",
        [event("HEART_BEAT", "2026-11-03T00:10:00Z"), event("HEART_BEAT", "2026-11-03T02:00:00Z")],
    )
    assert newest_event(landing, GATE, at(30)) == at(10)


def test_the_newest_file_that_proves_the_watermark_ends_the_reading(landing):
    # Files sort by arrival (Firehose names them so); the older one is not even readable,
    # which shows it is never opened once the newer one proves the watermark.
    write_ndjson(landing.root, "2026-11-03", [event("LOGIN", "2026-11-03T00:01:00Z")], "a-0001")
    with open(f"{landing.root}/date=2026-11-03/a-0001", "wb") as broken:
        broken.write(b"\x1f\x8b not really gzip")
    write_ndjson(
        landing.root, "2026-11-03", [event("HEART_BEAT", "2026-11-03T00:16:00Z")], "a-0002"
    )
    newest = newest_event(landing, GATE, at(20))
    assert newest == at(16)
    assert decide(GATE, at(20), STARTED, newest) == WATERMARK
    assert newest.tzinfo is not None and newest.astimezone(UTC) == newest
