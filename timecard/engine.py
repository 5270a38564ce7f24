"""One report run: plan the partitions, condense what is stale, build, validate, write.

The CLI and the Airflow tasks both call these functions; neither holds report logic of its own.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import polars as pl

from schemas.contract import ContractViolation, enforce
from schemas.report import DEFAULT_MAX_ROWS, MAX_ROWS_CHECK, report_schema
from schemas.sessions import SESSIONS
from timecard import storage
from timecard.condensed import DayCache, DayEntry
from timecard.errors import RowLimitExceeded, UsageError
from timecard.timerange import TimeRange
from transforms import report as report_transforms
from transforms import sessions
from transforms.filters import Filters
from transforms.normalize import TIMESTAMP

DEFAULT_LOOKBACK_DAYS = 31
_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class ReportRequest:
    events_root: str
    time_range: TimeRange
    filters: Filters = Filters()
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    max_rows: int = DEFAULT_MAX_ROWS

    def __post_init__(self):
        if not 0 <= self.lookback_days <= 366:
            raise UsageError(
                f"--lookback-days must be between 0 and 366, not {self.lookback_days}. It is how "
                "far before the range a session's LOGIN is looked for."
            )
        if self.max_rows < 1:
            raise UsageError(f"--max-rows must be at least 1, not {self.max_rows}.")

    @property
    def lookback_start(self):
        return self.time_range.start - timedelta(days=self.lookback_days)


@dataclass
class RunSummary:
    partitions_read: int = 0
    partitions_condensed: int = 0
    files_read: int = 0
    events_read: int = 0
    duplicates: int = 0
    quarantined: int = 0
    unknown_event_types: int = 0
    sessions: int = 0
    rows: int = 0
    elapsed_seconds: float = 0.0
    fingerprints: dict[str, str] = field(default_factory=dict)

    def one_line(self) -> str:
        return (
            f"events read {self.events_read:,}, duplicates {self.duplicates:,}, "
            f"quarantined {self.quarantined:,}, unknown event types {self.unknown_event_types:,}, "
            f"sessions {self.sessions:,}, rows {self.rows:,} "
            f"({self.partitions_read} partitions, {self.partitions_condensed} condensed now) "
            f"in {self.elapsed_seconds:.2f}s"
        )

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ReportResult:
    request: ReportRequest
    report: pl.DataFrame
    quarantine: pl.DataFrame
    summary: RunSummary

    def csv_bytes(self) -> bytes:
        return report_transforms.to_csv_bytes(self.report)


def partition_days(start, end) -> list[date]:
    """Raw partitions that can hold events with `start <= EventTimestamp < end`.

    Firehose partitions by arrival time, so one neighbouring day on each side is read too.
    """
    first = start.date() - timedelta(days=1)
    last = (end - _JUST_BEFORE).date() + timedelta(days=1)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def condense_days(request: ReportRequest, cache_root: str) -> dict[date, DayEntry]:
    """Make sure every partition the report needs is condensed; return the entries."""
    cache = DayCache(request.events_root, cache_root)
    days = partition_days(request.lookback_start, request.time_range.end)
    return {day: cache.entry(day) for day in days}


def build_report(request: ReportRequest, cache_root: str) -> ReportResult:
    """Condense what is stale, assemble the report and enforce its contract (and row limit)."""
    started = time.perf_counter()
    result = assemble_report(request, condense_days(request, cache_root))
    validate_report(result.report, request.max_rows)
    result.summary.elapsed_seconds = round(time.perf_counter() - started, 3)
    return result


def assemble_report(request: ReportRequest, entries: dict[date, DayEntry]) -> ReportResult:
    """The report from condensed partitions, not yet checked against its contract."""
    window = request.time_range
    summary = _summarize(entries)

    lookback_start, end = request.lookback_start, window.end
    session_events = pl.concat([e.load("session_events") for e in entries.values()]).filter(
        pl.col("event_ts").is_between(_ts(lookback_start), _ts(end), closed="left")
    )
    session_events, cross_partition_duplicates = sessions.deduplicate(session_events)
    summary.duplicates += cross_partition_duplicates

    # Only a session with no logout needs activity, and its login lies inside the window.
    activity_days = set(partition_days(window.start, window.end))
    activity = pl.concat(
        [e.load("activity") for day, e in entries.items() if day in activity_days]
    ).filter(pl.col("event_ts").is_between(_ts(window.start), _ts(end), closed="left"))

    session_table = sessions.with_last_activity(
        sessions.build_sessions(session_events, window.start, window.end), activity
    )
    session_table = enforce(SESSIONS, session_table, "session table")
    summary.sessions = session_table.height

    report = report_transforms.build_report(session_table, window.tz, request.filters)
    summary.rows = report.height
    quarantine = pl.concat([e.load("quarantine") for e in entries.values()])
    return ReportResult(request, report, quarantine, summary)


def _ts(instant) -> pl.Expr:
    return pl.lit(instant).cast(TIMESTAMP)


def _summarize(entries: dict[date, DayEntry]) -> RunSummary:
    summary = RunSummary(partitions_read=len(entries))
    for entry in entries.values():
        summary.partitions_condensed += entry.built_now
        summary.files_read += entry.counts["files"]
        summary.events_read += entry.counts["events"]
        summary.duplicates += entry.counts["duplicates"]
        summary.quarantined += entry.counts["quarantined"]
        summary.unknown_event_types += entry.counts["unknown_event_types"]
        summary.fingerprints[entry.day.isoformat()] = entry.fingerprint
    return summary


def validate_report(report: pl.DataFrame, max_rows: int) -> None:
    """Enforce the report contract; over the row limit, refuse with the counts that help."""
    try:
        enforce(report_schema(max_rows), report, "report")
    except ContractViolation as violation:
        if violation.checks != [MAX_ROWS_CHECK]:
            raise
        raise RowLimitExceeded(
            f"The report has {report.height:,} rows, over its limit of {max_rows:,}, so "
            "nothing was written. Choose a shorter time range, or add filters (routing profile, "
            "hierarchy, agent) and run the report once per filter value; "
            f"{report_transforms.row_limit_breakdown(report)}."
        ) from None


def write_outputs(result: ReportResult, out_url: str) -> str | None:
    """Write the CSV whole (or not at all); its quarantine file next to it when there is one."""
    storage.write_bytes(out_url, result.csv_bytes())
    if result.quarantine.is_empty():
        return None
    quarantine_url = quarantine_url_for(out_url)
    lines = [json.dumps(row, ensure_ascii=False) for row in result.quarantine.iter_rows(named=True)]
    storage.write_bytes(quarantine_url, ("\n".join(lines) + "\n").encode())
    return quarantine_url


def quarantine_url_for(out_url: str) -> str:
    base = out_url[: -len(".csv")] if out_url.endswith(".csv") else out_url
    return f"{base}.quarantine.jsonl"
