"""Report time ranges: presets relative to now, custom ranges, and their validation.

A range is half-open, `[start, end)`, held as aware UTC datetimes plus the report's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from timecard.errors import UsageError
from timecard.limits import MAX_RANGE
from timecard.limits import RANGE_PRESETS as PRESETS


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    tz: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(self.zone)

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(self.zone)

    def describe(self) -> str:
        return f"[{self.local_start.isoformat()}, {self.local_end.isoformat()}) {self.tz}"


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or a clear refusal."""
    try:
        if name in _known_zones():
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    raise UsageError(
        f"Unknown time zone {name!r}. Use an IANA time zone name such as 'UTC', 'Asia/Seoul' or "
        "'America/New_York'."
    )


def local_midnight(day, tz: ZoneInfo) -> datetime:
    """The first instant of a local calendar day (where midnight is skipped by DST, the first
    instant that exists), as an aware UTC datetime."""
    naive = datetime.combine(day, time(0))
    candidate = naive.replace(tzinfo=tz)
    if candidate.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        # Midnight falls in a DST gap: the day starts when the clocks jump forward.
        candidate = candidate.astimezone(UTC).astimezone(tz)
    return candidate.astimezone(UTC)


def preset_range(preset: str, tz_name: str, now: datetime) -> TimeRange:
    tz = zone(tz_name)
    now = now.astimezone(UTC).replace(microsecond=0)
    today = now.astimezone(tz).date()
    if preset == "today":
        start, end = local_midnight(today, tz), now
    elif preset == "yesterday":
        start, end = local_midnight(today - timedelta(days=1), tz), local_midnight(today, tz)
    elif preset in ("last-24-hours", "last-2-days", "last-3-days"):
        hours = {"last-24-hours": 24, "last-2-days": 48, "last-3-days": 72}[preset]
        start, end = now - timedelta(hours=hours), now
    else:
        raise UsageError(f"Unknown preset {preset!r}. Choose one of: {', '.join(PRESETS)}.")
    return checked_range(start, end, tz_name)


def parse_instant(text: str, tz_name: str) -> datetime:
    """An ISO-8601 value: naive values are read in `tz_name`, values with an offset as given."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"Cannot read {text!r} as a date and time. Use ISO-8601, for example "
            "'2026-11-02T00:00:00' (read in --tz) or '2026-11-02T00:00:00+09:00'."
        ) from None
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    tz = zone(tz_name)
    local = value.replace(tzinfo=tz)
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != value:
        raise UsageError(
            f"{text!r} does not exist in {tz_name}: the clocks skip it for daylight saving time. "
            "Pick a time outside the gap, or give an explicit offset."
        )
    # An ambiguous wall time (the repeated hour of a fall-back) means its first occurrence.
    return local.astimezone(UTC)


def custom_range(start: str, end: str, tz_name: str) -> TimeRange:
    zone(tz_name)
    return checked_range(parse_instant(start, tz_name), parse_instant(end, tz_name), tz_name)


def checked_range(start: datetime, end: datetime, tz_name: str) -> TimeRange:
    """Refuse ranges that are empty, reversed or longer than 7 days.

    The length is measured on the local wall clock, so a 7-day range that crosses a DST change
    (7 days and 1 hour of absolute time) is still a 7-day range, as users count it.
    """
    tz = zone(tz_name)
    if end <= start:
        raise UsageError(
            f"The range ends ({end.astimezone(tz).isoformat()}) at or before it starts "
            f"({start.astimezone(tz).isoformat()}). The end must be after the start."
        )
    wall_clock = end.astimezone(tz).replace(tzinfo=None) - start.astimezone(tz).replace(tzinfo=None)
    if wall_clock > MAX_RANGE:
        raise UsageError(
            f"The range is {duration_words(wall_clock)} long; a report covers at most 7 days. "
            "Split it into several reports of 7 days or less."
        )
    return TimeRange(start.astimezone(UTC), end.astimezone(UTC), tz_name)


def duration_words(length: timedelta) -> str:
    """A length as people say it: '12 days', '7 days and 1 minute', '2 hours 30 minutes'."""
    seconds = int(length.total_seconds())
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    if not parts:
        return "0 seconds"
    return parts[0] if len(parts) == 1 else f"{' '.join(parts[:-1])} and {parts[-1]}"
