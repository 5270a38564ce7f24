"""One report run: plan the partitions, condense what is stale, build, validate, write.

The CLI and the Airflow tasks both call these functions; neither holds report logic of its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, timedelta

import polars as pl

from schemas.columns import SOURCE_KEY, TIMESTAMP
from schemas.report import MAX_ROWS_CHECK, report_schema
from schemas.sessions import SESSIONS
from timecard import condensed, ingest, report_cache, storage
from timecard.condensed import DayCache
from timecard.contracts import BrokenContractError, enforce
from timecard.errors import NoRawEventsError, RowLimitExceeded, UsageError
from timecard.landing import Landing, parse_layout, parse_partition_time, suggest_layout
from timecard.limits import (
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_MAX_ROWS,
    MAX_LOOKBACK_DAYS,
    MIN_LOOKBACK_DAYS,
    MIN_MAX_ROWS,
)
from timecard.timerange import TimeRange
from transforms import normalize, sessions
from transforms import report as report_transforms
from transforms.filters import Filters, hierarchy_levels, known_values, unmatched

LOOKBACK_DAYS_AT_ONCE = 2
_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class ReportRequest:
    events_root: str
    time_range: TimeRange
    filters: Filters = Filters()
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    max_rows: int = DEFAULT_MAX_ROWS
    # How raw files lie below the root: a layout template (None: any known layout), and
    # whether partitions follow arrival or event time.
    layout: str | None = None
    partition_time: str = "arrival"

    def __post_init__(self):
        self.landing  # noqa: B018 - refuse a bad layout or partition time now, not mid-run
        if not MIN_LOOKBACK_DAYS <= self.lookback_days <= MAX_LOOKBACK_DAYS:
            raise UsageError(
                f"--lookback-days must be between {MIN_LOOKBACK_DAYS} and {MAX_LOOKBACK_DAYS}, "
                f"not {self.lookback_days}. It is how far before the range a session's LOGIN is "
                "looked for."
            )
        if self.max_rows < MIN_MAX_ROWS:
            raise UsageError(f"--max-rows must be at least {MIN_MAX_ROWS}, not {self.max_rows}.")
        for path in self.filters.hierarchies:
            if not 1 <= len(hierarchy_levels(path)) <= 5:
                raise UsageError(
                    f"--hierarchy {path!r} must be 1 to 5 level names joined by '/', such as "
                    "'Americas/Sales'."
                )

    @property
    def lookback_start(self):
        return self.time_range.start - timedelta(days=self.lookback_days)

    @property
    def landing(self) -> Landing:
        return landing_for(self.events_root, self.layout, self.partition_time)


def landing_for(events_root: str, layout: str | None, partition_time: str) -> Landing:
    parsed = parse_layout(layout) if layout else None
    return Landing(storage.normalize(events_root), parsed, parse_partition_time(partition_time))


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
    # Records read per file format (parquet, json, json-gzip) and per shape (nested,
    # json-text, ndjson, concatenated, multi-line): what the readers understood.
    formats: dict[str, int] = field(default_factory=dict)
    shapes: dict[str, int] = field(default_factory=dict)
    # UTC days of the window with no raw file at all (a quiet day, or data not landed yet).
    empty_days: list[str] = field(default_factory=list)
    # Filter kind (agents, routing_profiles, hierarchies) → each of its values that matches no
    # session in the range → the closest values the range holds (`transforms.filters.unmatched`).
    unmatched_filters: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def one_line(self) -> str:
        return (
            f"events read {self.events_read:,}, duplicates {self.duplicates:,}, "
            f"quarantined {self.quarantined:,}, unknown event types {self.unknown_event_types:,}, "
            f"sessions {self.sessions:,}, rows {self.rows:,} "
            f"({self.partitions_read} partitions, {self.parts_built_now} parts condensed now) "
            f"in {self.elapsed_seconds:.2f}s; records by format {_counted(self.formats)}, "
            f"by shape {_counted(self.shapes)}"
        )

    def warnings(self) -> list[str]:
        return [
            f"no raw event file for UTC day {day} of the window: a quiet day, or its events "
            "have not landed yet"
            for day in self.empty_days
        ] + [
            f"{_FILTER_OPTIONS[kind]} {value!r} matches no session in the range; closest known "
            f"values: {', '.join(closest) if closest else 'none: no session in the range at all'}."
            for kind, values in self.unmatched_filters.items()
            for value, closest in values.items()
        ]

    def as_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        """As JSON text (part of a staged report's XCom); `from_json` gives it back equal."""
        return json.dumps(self.as_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RunSummary:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: Mapping) -> RunSummary:
        """From `as_dict`'s shape (a summary written before a field existed gets its default)."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


# How a filter kind is named to people (the command line's options; saved reports' keys match).
_FILTER_OPTIONS = {
    "agents": "--agent",
    "routing_profiles": "--routing-profile",
    "hierarchies": "--hierarchy",
}


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counts.items()) or "none"


@dataclass
class ReportResult:
    request: ReportRequest
    report: pl.DataFrame
    quarantine: pl.DataFrame
    summary: RunSummary
    # The validated session table the report was built from (for the typed sessions file).
    sessions: pl.DataFrame

    def csv_bytes(self) -> bytes:
        return report_transforms.to_csv_bytes(self.report)


def partition_days(start, end, neighbour_days: int = 1) -> list[date]:
    """Raw partitions that can hold events with `start <= EventTimestamp < end`.

    Where partitions follow arrival time (Firehose), an event can sit in a neighbouring day's
    partition, so one day on each side is read too; by event time, none is.
    """
    first = start.astimezone(UTC).date() - timedelta(days=neighbour_days)
    last = (end - _JUST_BEFORE).astimezone(UTC).date() + timedelta(days=neighbour_days)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def needed_days(request: ReportRequest) -> tuple[list[date], list[date]]:
    """Raw partitions whose LOGIN/LOGOUT events the report needs (window and lookback), and
    those whose activity it needs (around the window: a session with no logout, the only kind
    with a Last activity, has its login inside the window)."""
    window, neighbours = request.time_range, request.landing.neighbour_days
    return (
        partition_days(request.lookback_start, window.end, neighbours),
        partition_days(window.start, window.end, neighbours),
    )


def condense_days(request: ReportRequest, cache: DayCache) -> tuple[dict, dict]:
    """Make sure the parts the report needs are condensed; return them by day.

    A day around the window is condensed fully in one read: its activity is needed, and it
    holds the LOGINs of most of the report's rows, so its attributes will be too. Lookback days
    need only their LOGIN/LOGOUT records and are condensed two at a time, so one day's Python
    work (contract checks, writes) overlaps another's reading, which runs outside the GIL.
    """
    session_days, activity_days = needed_days(request)
    lookback_days = [day for day in session_days if day not in activity_days]
    with ThreadPoolExecutor(max_workers=LOOKBACK_DAYS_AT_ONCE) as pool:
        found = dict(
            zip(
                lookback_days,
                pool.map(lambda day: cache.parts(day, ("sessions",)), lookback_days),
                strict=True,
            )
        )
    for day in session_days:
        if day in activity_days:
            found[day] = cache.parts(day, ("sessions", "activity", "attributes"))
    session_parts = {day: found[day]["sessions"] for day in session_days}
    activity_parts = {day: found[day]["activity"] for day in session_days if day in activity_days}
    return session_parts, activity_parts


def build_report(request: ReportRequest, cache_root: str) -> ReportResult:
    """Condense what is stale, assemble the report and enforce its contract (and row limit)."""
    started = time.perf_counter()
    cache = DayCache(request.landing, cache_root)
    result = report_cache.load(request, cache)  # a rerun with nothing new: one small file
    if result is None:
        result = assemble_report(request, cache)
        validate_report(result.report, request.max_rows)
        report_cache.keep(request, cache, result)
    result.summary.elapsed_seconds = round(time.perf_counter() - started, 3)
    return result


def assemble_report(request: ReportRequest, cache: DayCache) -> ReportResult:
    """The report from condensed partitions, not yet checked against its contract."""
    window = request.time_range
    empty_days = check_raw_files(request, cache)
    session_parts, activity_parts = condense_days(request, cache)

    # Copies of one EventId are resolved over everything read, before any time filter.
    session_events, cross_partition_duplicates = sessions.deduplicate(
        condensed.load([*session_parts.values()], day_column="partition_day")
    )
    session_events = session_events.filter(
        pl.col("event_ts").is_between(_ts(request.lookback_start), _ts(window.end), "left")
    )

    # Lazily: the days around the window hold millions of (agent, instant) rows on a large
    # roster, and Last activity needs only the window's, of agents with a session left open.
    activity = condensed.scan([*activity_parts.values()]).filter(
        pl.col("event_ts").is_between(_ts(window.start), _ts(window.end), closed="left")
    )
    session_table = sessions.with_last_activity(
        sessions.build_sessions(session_events, window.start, window.end), activity
    )
    attribute_parts = [
        cache.part(day, "attributes") for day in sessions.attribute_days(session_table)
    ]
    attributes = pl.concat(
        [
            normalize.empty_attributes(),
            *([condensed.load(attribute_parts)] if attribute_parts else []),
        ]
    )
    session_table = enforce(
        SESSIONS, sessions.with_attributes(session_table, attributes), "session table"
    )
    report = report_transforms.build_report(session_table, window.tz, request.filters)

    summary = _summarize(session_parts, activity_parts)
    summary.empty_days = [day.isoformat() for day in empty_days]
    summary.parts_built_now = cache.parts_built
    summary.duplicates += cross_partition_duplicates
    summary.sessions, summary.rows = session_table.height, report.height
    if not request.filters.is_empty():
        summary.unmatched_filters = unmatched(request.filters, known_values(session_table))
    quarantined_parts = [activity_parts.get(day) or part for day, part in session_parts.items()]
    quarantine = condensed.load(quarantined_parts, "{name}-quarantine").sort(SOURCE_KEY)
    return ReportResult(request, report, quarantine, summary, session_table)


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
        for total, by_kind in (
            (summary.formats, counts["formats"]),
            (summary.shapes, counts["shapes"]),
        ):
            for kind, records in by_kind.items():
                total[kind] = total.get(kind, 0) + records
        summary.fingerprints[day.isoformat()] = part.fingerprint
    summary.formats, summary.shapes = (
        dict(sorted(summary.formats.items())),
        dict(sorted(summary.shapes.items())),
    )
    return summary


def check_raw_files(request: ReportRequest, cache: DayCache) -> list[date]:
    """Refuse a report whose window (and neighbouring partitions) holds no raw file at all, or
    only empty (zero-byte) ones: a layout timecard cannot see must never pass for a quiet day.
    Return the window's UTC days that have no file, while others do: those are only warned
    about."""
    window, landing = request.time_range, request.landing
    around = partition_days(window.start, window.end, landing.neighbour_days)
    listed = {day: cache.listing(day)[0] for day in around}
    if not any(listed.values()):
        raise NoRawEventsError(_no_raw_files_message(landing, around))
    if not any(file.size for found in listed.values() for file in found):
        empty = [file.url for found in listed.values() for file in found]
        more = f" and {len(empty) - 3} more" if len(empty) > 3 else ""
        raise NoRawEventsError(
            f"Every raw event file of the window and its neighbours ({around[0]} to "
            f"{around[-1]} UTC) under {landing.describe()} is empty (zero bytes): "
            f"{', '.join(empty[:3])}{more}. No report was written: an empty report would look "
            "like a quiet day. Check the delivery stream that writes them (a failed upload "
            "leaves empty objects), then run the report again once the events have landed."
        )
    # A day whose files are all empty holds no event either.
    days = partition_days(window.start, window.end, 0)
    return [day for day in days if not any(file.size for file in listed[day])]


def _no_raw_files_message(landing: Landing, days: list[date]) -> str:
    prefixes = [prefix for day in days for prefix in ingest.partition_prefixes(landing, day)]
    more = f" and {len(prefixes) - 3} more" if len(prefixes) > 3 else ""
    top = storage.list_names(landing.root)
    found = ", ".join(name for name, _ in top[:5]) + (", ..." if len(top) > 5 else "")
    message = (
        f"No raw event file exists for any day of the window or its neighbours "
        f"({days[0]} to {days[-1]} UTC) under {landing.describe()}, so no report was written: "
        f"an empty report would look like a quiet day. Looked in {len(prefixes)} prefixes: "
        f"{', '.join(prefixes[:3])}{more}. "
    )
    if not top:
        return message + "The events root is empty or does not exist: check its name."
    message += f"At the top of the events root there is: {found}. "
    suggestion = suggest_layout(lambda relative: _folders_below(landing.root, relative))
    if suggestion and suggestion not in [layout.template for layout in landing.layouts]:
        message += (
            f"Those files look like the layout '{suggestion}': pass --layout '{suggestion}' "
            "(or set `layout` in the saved report, or TIMECARD_EVENTS_LAYOUT). "
        )
    return message + "Check the events root, the layout and the dates."


def _folders_below(root: str, relative: str) -> list[str]:
    folder = storage.join(root, *relative.split("/")) if relative else root
    return [name for name, is_folder in storage.list_names(folder) if is_folder]


def validate_report(report: pl.DataFrame, max_rows: int) -> None:
    """Enforce the report contract; over the row limit, refuse with the counts that help."""
    try:
        enforce(report_schema(max_rows), report, "report")
    except BrokenContractError as violation:
        if violation.checks != [MAX_ROWS_CHECK]:
            raise
        raise RowLimitExceeded(
            f"The report has {report.height:,} rows, over its limit of {max_rows:,}, so "
            "nothing was written. Choose a shorter time range, or add filters (routing profile, "
            "hierarchy, agent) and run the report once per filter value; "
            f"{report_transforms.row_limit_breakdown(report)}."
        ) from None


def write_outputs(result: ReportResult, out_url: str) -> str | None:
    """Write the CSV whole (or not at all); its quarantine file next to it when there is one,
    and none when there is not: the file of an earlier run would describe other input."""
    storage.write_bytes(out_url, result.csv_bytes())
    quarantine_url = quarantine_url_for(out_url)
    if result.quarantine.is_empty():
        storage.delete(quarantine_url)
        return None
    lines = [json.dumps(row, ensure_ascii=False) for row in result.quarantine.iter_rows(named=True)]
    storage.write_bytes(quarantine_url, ("\n".join(lines) + "\n").encode())
    return quarantine_url


def quarantine_url_for(out_url: str) -> str:
    base = out_url[: -len(".csv")] if out_url.endswith(".csv") else out_url
    return f"{base}.quarantine.jsonl"
