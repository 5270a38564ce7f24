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
from timecard.condensed import DayCache
from timecard.errors import RowLimitExceeded, UsageError
from timecard.timerange import TimeRange
from transforms import normalize, sessions
from transforms import report as report_transforms
from transforms.filters import Filters, hierarchy_levels, known_values, unmatched
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
        for path in self.filters.hierarchies:
            if not 1 <= len(hierarchy_levels(path)) <= 5:
                raise UsageError(
                    f"--hierarchy {path!r} must be 1 to 5 level names joined by '/', such as "
                    "'Americas/Sales'."
                )

    @property
    def lookback_start(self):
        return self.time_range.start - timedelta(days=self.lookback_days)


@dataclass
class RunSummary:
    partitions_read: int = 0
    parts_built_now: int = 0
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
            f"({self.partitions_read} partitions, {self.parts_built_now} parts condensed now) "
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
    # Filter values that match no session in the range → the closest known values (empty report).
    unmatched_filters: dict = field(default_factory=dict)

    def csv_bytes(self) -> bytes:
        return report_transforms.to_csv_bytes(self.report)


def partition_days(start, end) -> list[date]:
    """Raw partitions that can hold events with `start <= EventTimestamp < end`.

    Firehose partitions by arrival time, so one neighbouring day on each side is read too.
    """
    first = start.date() - timedelta(days=1)
    last = (end - _JUST_BEFORE).date() + timedelta(days=1)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def needed_days(request: ReportRequest) -> tuple[list[date], list[date]]:
    """Raw partitions whose LOGIN/LOGOUT events the report needs (window and lookback), and
    those whose activity it needs (around the window: a session with no logout, the only kind
    with a Last activity, has its login inside the window)."""
    window = request.time_range
    return (
        partition_days(request.lookback_start, window.end),
        partition_days(window.start, window.end),
    )


def condense_days(request: ReportRequest, cache: DayCache) -> tuple[dict, dict]:
    """Make sure the parts the report needs are condensed; return them by day.

    A day around the window is condensed fully in one read: its activity is needed, and it
    holds the LOGINs of most of the report's rows, so its attributes will be too.
    """
    session_days, activity_days = needed_days(request)
    session_parts, activity_parts = {}, {}
    for day in session_days:
        if day in activity_days:
            parts = cache.parts(day, ("sessions", "activity", "attributes"))
            activity_parts[day] = parts["activity"]
        else:
            parts = cache.parts(day, ("sessions",))
        session_parts[day] = parts["sessions"]
    return session_parts, activity_parts


def build_report(request: ReportRequest, cache_root: str) -> ReportResult:
    """Condense what is stale, assemble the report and enforce its contract (and row limit)."""
    started = time.perf_counter()
    result = assemble_report(request, DayCache(request.events_root, cache_root))
    validate_report(result.report, request.max_rows)
    result.summary.elapsed_seconds = round(time.perf_counter() - started, 3)
    return result


def assemble_report(request: ReportRequest, cache: DayCache) -> ReportResult:
    """The report from condensed partitions, not yet checked against its contract."""
    window = request.time_range
    session_parts, activity_parts = condense_days(request, cache)

    # Copies of one EventId are resolved over everything read, before any time filter.
    session_events, cross_partition_duplicates = sessions.deduplicate(
        pl.concat(
            [p.data().with_columns(partition_day=pl.lit(day)) for day, p in session_parts.items()]
        )
    )
    session_events = session_events.filter(
        pl.col("event_ts").is_between(_ts(request.lookback_start), _ts(window.end), "left")
    )

    activity = pl.concat([p.data() for p in activity_parts.values()]).filter(
        pl.col("event_ts").is_between(_ts(window.start), _ts(window.end), closed="left")
    )
    session_table = sessions.with_last_activity(
        sessions.build_sessions(session_events, window.start, window.end), activity
    )
    attribute_parts = [
        cache.part(day, "attributes") for day in sessions.attribute_days(session_table)
    ]
    attributes = pl.concat(
        [normalize.empty_attributes(), *(p.data() for p in attribute_parts)], how="vertical"
    )
    session_table = enforce(
        SESSIONS, sessions.with_attributes(session_table, attributes), "session table"
    )
    report = report_transforms.build_report(session_table, window.tz, request.filters)

    summary = _summarize(session_parts, activity_parts)
    summary.parts_built_now = cache.parts_built
    summary.duplicates += cross_partition_duplicates
    summary.sessions, summary.rows = session_table.height, report.height
    quarantine = pl.concat(
        [normalize.empty_quarantine()]
        + [(activity_parts.get(day) or part).quarantine() for day, part in session_parts.items()]
    )
    misses = unmatched(request.filters, known_values(session_table)) if report.is_empty() else {}
    return ReportResult(request, report, quarantine, summary, misses)


def _ts(instant) -> pl.Expr:
    return pl.lit(instant).cast(TIMESTAMP)


def _summarize(session_parts: dict, activity_parts: dict) -> RunSummary:
    """Counts over what was read: every record of the days around the window, and the records
    that could bound a session on the lookback days."""
    summary = RunSummary(partitions_read=len(session_parts))
    for day, part in session_parts.items():
        counts = (activity_parts.get(day) or part).counts
        summary.files_read += counts["files"]
        summary.events_read += counts["events"]
        summary.duplicates += counts["duplicates"]
        summary.quarantined += counts["quarantined"]
        summary.unknown_event_types += counts["unknown_event_types"]
        summary.fingerprints[day.isoformat()] = part.fingerprint
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
