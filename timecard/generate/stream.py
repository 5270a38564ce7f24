"""generate_events: the stream made and written as it goes, one window of event time at a time,
so memory holds a window's events and a batch of records, whatever the roster and the days."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, time

from timecard.errors import UsageError
from timecard.generate.draws import Draws
from timecard.generate.events import arrivals
from timecard.generate.model import DAY_MS, MAX_AGENTS, MAX_DAYS
from timecard.generate.roster import make_roster
from timecard.generate.shifts import ShiftPlan, epoch_ms
from timecard.generate.writers import Files, GenerateSummary, Output
from timecard.landing import PARTITION_TIMES, PartitionTime, parse_layout
from timecard.limits import DEFAULT_SHAPE, SHAPES, Shape

# Files are written on a thread of their own while the next window's events are made; at most
# this many windows wait for it.
WAITING_WINDOWS = 2


def generate_events(
    out_root: str,
    *,
    agents: int,
    start: date,
    days: int,
    seed: int = 0,
    shape: Shape = DEFAULT_SHAPE,
    layout: str = "date",
    partition_time: PartitionTime = "arrival",
    until: datetime | None = None,
) -> GenerateSummary:
    """Write the arrivals of `days` UTC days from `start` for `agents` agents under `out_root`.

    `until` (an aware instant) cuts the stream earlier too: nothing arriving at or after it is
    written, as a bucket read at that moment holds nothing later (`make run` stops at now).

    `shape` is how files hold records (see `encode_records`); `layout` a preset or template of
    `timecard.landing`; `partition_time` whether a record is filed under its arrival time, as
    Firehose's own prefixes do, or under its EventTimestamp, as dynamic partitioning does. Which
    records are written does not depend on it: the stream is cut on arrival time either way.
    """
    _validate(
        agents=agents, start=start, days=days, seed=seed, shape=shape, partition_time=partition_time
    )
    if until is not None and (not isinstance(until, datetime) or until.tzinfo is None):
        raise UsageError(f"The end of the stream must be an aware date and time; got {until!r}.")
    output = Output(out_root, shape, parse_layout(layout), partition_time, seed)
    roster = make_roster(agents, seed)
    draws = Draws(seed)
    stream_start_ms = epoch_ms(datetime.combine(start, time(), UTC))
    stream_end_ms = stream_start_ms + days * DAY_MS
    if until is not None:
        stream_end_ms = min(stream_end_ms, epoch_ms(until))
    files = Files(output, roster, draws)
    plan = ShiftPlan(roster.agents, seed)
    batches = arrivals(plan.sessions, stream_start_ms, stream_end_ms, draws)
    with ThreadPoolExecutor(max_workers=1) as writer:  # one thread: each file's batches in order
        waiting: deque[Future[None]] = deque()
        try:
            for deliveries, complete_until_ms in batches:
                waiting.append(writer.submit(files.take, deliveries, complete_until_ms))
                if len(waiting) > WAITING_WINDOWS:
                    waiting.popleft().result()
            waiting.append(writer.submit(files.close))
            while waiting:
                waiting.popleft().result()
        except BaseException:
            for future in waiting:
                future.cancel()
            writer.shutdown(wait=True)
            files.abandon()
            raise
    return files.summary


def _validate(
    *, agents: int, start: date, days: int, seed: int, shape: str, partition_time: str
) -> None:
    if not isinstance(agents, int) or not 1 <= agents <= MAX_AGENTS:
        raise UsageError(
            f"The number of agents must be a whole number from 1 to {MAX_AGENTS:,}; got {agents!r}."
        )
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise UsageError(
            f"The number of days must be a whole number from 1 to {MAX_DAYS}; got {days!r}."
        )
    if not isinstance(start, date) or isinstance(start, datetime):
        raise UsageError(f"The start must be a calendar date such as 2026-11-01; got {start!r}.")
    if not isinstance(seed, int):
        raise UsageError(f"The seed must be a whole number; got {seed!r}.")
    if shape not in SHAPES:
        raise UsageError(f"The shape must be one of {', '.join(SHAPES)}; got {shape!r}.")
    if partition_time not in PARTITION_TIMES:
        raise UsageError(
            f"The partition time must be one of {', '.join(PARTITION_TIMES)}; "
            f"got {partition_time!r}."
        )
