"""The completeness gate: a scheduled window is built only once its events have landed.

Kinesis Firehose buffers agent events for up to 15 minutes before it writes a file, and a
backed-up stream delays files further, so at 00:00 the last minutes of the day are not in S3
yet. A scheduled run therefore waits, before it condenses anything, until one of these holds:

- **watermark**: a raw event with `EventTimestamp >= window_end + settle` has landed. Records
  arrive roughly in time order, so once events that late are in S3, the window's are too.
- **deadline**: the wall clock is at or past `window_end + max_wait`. A quiet night has no later
  events, so a run never waits for ever; it says so in its log and manifest.
- **elapsed**: the deadline had already passed when the gate first looked (a backfill, a
  catch-up after an outage, a rerun of an old window): it passes at once, without reading events.

Only events stamped no later than the wall clock count towards the watermark: an event from a
clock running ahead must not declare a window complete early. So a window never passes by
watermark before `window_end + settle` on the gate's own clock.

The decision (`decide`) is a pure function; `newest_event` reads the evidence: only the raw
partitions after the window end, newest files first, and only their `EventTimestamp`, stopping
at the first file that proves the watermark.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

log = logging.getLogger(__name__)

WATERMARK, DEADLINE, ELAPSED = "watermark", "deadline", "elapsed"
# Ad hoc runs never wait: their manifests say whether the window's deadline had passed.
NOT_WAITED = "not-waited"


@dataclass(frozen=True)
class Gate:
    window_end: datetime
    settle: timedelta
    max_wait: timedelta

    @classmethod
    def from_minutes(cls, window_end: datetime, settle: float, max_wait: float) -> Gate:
        return cls(window_end, timedelta(minutes=settle), timedelta(minutes=max_wait))

    @property
    def threshold(self) -> datetime:
        """Events stamped at or after this instant prove the window's events have landed."""
        return self.window_end + self.settle

    @property
    def deadline(self) -> datetime:
        return self.window_end + self.max_wait


def decide(
    gate: Gate, now: datetime, first_look: datetime, newest_event: datetime | None
) -> str | None:
    """Why the gate passes (WATERMARK, DEADLINE or ELAPSED), or None to keep waiting.

    `newest_event` is the latest EventTimestamp seen after the window end that is not after
    `now` (None: none seen); `first_look` is when this run's gate first looked.
    """
    if first_look >= gate.deadline:
        return ELAPSED
    if newest_event is not None and gate.threshold <= newest_event <= now:
        return WATERMARK
    if now >= gate.deadline:
        return DEADLINE
    return None


def without_waiting(gate: Gate, now: datetime) -> str:
    """What a run that does not wait (ad hoc) can say about its window's completeness."""
    return ELAPSED if now >= gate.deadline else NOT_WAITED


def days_after_window(gate: Gate, now: datetime) -> list[date]:
    """The UTC partitions that can hold an event stamped in [threshold, now], newest first.

    Whether partitions follow arrival time (an event lands at or after its timestamp) or event
    time, such an event lies in the partition of a day from the threshold's to today's.
    """
    first, last = gate.threshold.astimezone(UTC).date(), now.astimezone(UTC).date()
    return [last - timedelta(days=n) for n in range((last - first).days + 1)]


def newest_event(landing, gate: Gate, now: datetime) -> datetime | None:
    """The latest EventTimestamp not after `now` in the partitions after the window end, read
    newest file first (Firehose names files by arrival time), stopping as soon as one file
    proves the watermark. Reads only EventTimestamp; lists, never reads, a file it skips."""
    import polars as pl

    from timecard import ingest, readers
    from transforms import normalize

    newest = None
    for day in days_after_window(gate, now):
        for file in reversed(ingest.partition_files(landing, day)):
            records = readers.read_records(file).frame
            stamps = normalize.flatten(records, file.url).select("event_ts")
            latest = (
                stamps.filter(pl.col("event_ts") <= now)
                .select(pl.col("event_ts").max())
                .collect()
                .item()
            )
            if latest is not None and (newest is None or latest > newest):
                newest = latest
            if newest is not None and newest >= gate.threshold:
                return newest
    return newest


def explain(reason: str | None, gate: Gate, newest: datetime | None) -> str:
    """One log line about a decision."""
    seen = newest.isoformat() if newest else "none"
    if reason == WATERMARK:
        return (
            f"complete by watermark: an event stamped {seen} has landed, at or after the window "
            f"end + settle ({gate.threshold.isoformat()})"
        )
    if reason == DEADLINE:
        return (
            f"passing at the deadline ({gate.deadline.isoformat()}) without a watermark: no "
            f"event stamped at or after {gate.threshold.isoformat()} has landed (newest after "
            f"the window end: {seen}); a quiet night, or events still delayed"
        )
    if reason == ELAPSED:
        return (
            f"the deadline ({gate.deadline.isoformat()}) had passed when the gate first looked: "
            "passing at once"
        )
    return (
        f"waiting: newest event after the window end {seen}; need one stamped at or after "
        f"{gate.threshold.isoformat()}, or the deadline {gate.deadline.isoformat()}"
    )
