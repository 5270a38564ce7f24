"""Presets, custom ranges and their refusals."""

from datetime import UTC, datetime, timedelta

import pytest

from timecard.errors import UsageError
from timecard.timerange import custom_range, duration_words, preset_range

NOW = datetime(2026, 11, 2, 5, 30, 15, 123456, tzinfo=UTC)  # 14:30:15 in Seoul


def local(value, tz="Asia/Seoul") -> str:
    return value.astimezone(__import__("zoneinfo").ZoneInfo(tz)).isoformat()


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("today", "2026-11-02T00:00:00+09:00", "2026-11-02T14:30:15+09:00"),
        ("yesterday", "2026-11-01T00:00:00+09:00", "2026-11-02T00:00:00+09:00"),
        ("last-24-hours", "2026-11-01T14:30:15+09:00", "2026-11-02T14:30:15+09:00"),
        ("last-2-days", "2026-10-31T14:30:15+09:00", "2026-11-02T14:30:15+09:00"),
        ("last-3-days", "2026-10-30T14:30:15+09:00", "2026-11-02T14:30:15+09:00"),
    ],
)
def test_presets_are_relative_to_now_in_the_report_zone(preset, start, end):
    window = preset_range(preset, "Asia/Seoul", NOW)
    assert (local(window.start), local(window.end)) == (start, end)


def test_yesterday_across_fall_back_is_25_hours():
    window = preset_range("yesterday", "America/New_York", datetime(2026, 11, 2, 12, tzinfo=UTC))
    assert (window.end - window.start).total_seconds() == 25 * 3600


def test_naive_custom_values_are_read_in_the_zone_and_offsets_kept():
    window = custom_range("2026-11-02T00:00:00", "2026-11-02T12:00:00-05:00", "Asia/Seoul")
    assert window.start == datetime(2026, 11, 1, 15, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 2, 17, tzinfo=UTC)


def test_seven_days_is_allowed_even_across_dst():
    window = custom_range("2026-10-29T00:00:00", "2026-11-05T00:00:00", "America/New_York")
    assert (window.end - window.start).total_seconds() == 7 * 86400 + 3600


@pytest.mark.parametrize(
    ("start", "end", "tz", "message"),
    [
        ("2026-11-01T00:00:00", "2026-11-08T00:00:01", "UTC", "at most 7 days"),
        ("2026-11-02T00:00:00", "2026-11-02T00:00:00", "UTC", "must be after the start"),
        ("2026-11-03T00:00:00", "2026-11-02T00:00:00", "UTC", "must be after the start"),
        ("2026-11-02T00:00:00", "2026-11-03T00:00:00", "Mars/Olympus", "Unknown time zone"),
        ("yesterday", "2026-11-03T00:00:00", "UTC", "Cannot read 'yesterday'"),
        ("2026-03-08T02:30:00", "2026-03-09T00:00:00", "America/New_York", "does not exist"),
    ],
)
def test_refusals_are_clear(start, end, tz, message):
    with pytest.raises(UsageError, match=message):
        custom_range(start, end, tz)


def test_unknown_preset_is_refused():
    with pytest.raises(UsageError, match="Unknown preset"):
        preset_range("last-week", "UTC", NOW)


@pytest.mark.parametrize(
    ("length", "words"),
    [
        (timedelta(days=12), "12 days"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=7, minutes=1), "7 days and 1 minute"),
        (timedelta(hours=2, minutes=30, seconds=5), "2 hours 30 minutes and 5 seconds"),
        (timedelta(0), "0 seconds"),
    ],
)
def test_durations_read_in_words(length, words):
    assert duration_words(length) == words


def test_a_range_too_long_is_named_in_words_not_as_a_timedelta():
    with pytest.raises(UsageError) as refused:
        custom_range("2026-11-01T00:00:00", "2026-11-13T00:00:00", "UTC")
    assert "The range is 12 days long; a report covers at most 7 days" in str(refused.value)
    assert "0:00:00" not in str(refused.value)
