"""The typed objects a report run passes from its DAG file to its published files.

One type per object, built once and passed on unchanged:

    ReportDefinition (a saved report) or the ad hoc form (`timecard.adhoc`)
      → ReportSpec          what the run reports on, and where its raw events land
      → WindowPlan          the window's exact instants and the raw UTC days it needs (plan)
      → CondensedDay /      what condensing a raw day, or every day of the window, did
        CondensedWindow
        (a scheduled run condenses in shards: ShardTask → DayToCombine → CondensedDay)
      → StagedReport        the report staged for validation, with its RunSummary (build)
      → ValidatedReport     the rows the contract passed (validate)
      → publishing.Published  the public URLs, rows and revision (publish)

Each crosses XCom as JSON text (`to_json`), and `from_json` gives back an equal object: tuples
stay tuples, instants stay aware. The steps (`timecard.pipeline`) take and return these objects;
the Airflow tasks (`timecard.dag_tasks`) only turn XCom text into them and call a step.

This module is imported while DAG files are parsed: nothing heavy at module level (the engine
and Polars are imported inside the methods that need them, on the worker).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from timecard.limits import DEFAULT_LOOKBACK_DAYS, DEFAULT_MAX_ROWS, FORMATS
from timecard.settings import get_settings

if TYPE_CHECKING:
    from timecard.condensed import Shard
    from timecard.definitions import ReportDefinition
    from timecard.engine import ReportRequest, RunSummary
    from timecard.landing import Landing
    from timecard.timerange import TimeRange
    from transforms.filters import Filters


def _text(data: Mapping[str, object]) -> str:
    return json.dumps(data, ensure_ascii=False)


@dataclass(frozen=True)
class ReportSpec:
    """What a run needs to know about its report, as plain values."""

    slug: str
    name: str
    timezone: str
    agents: tuple[str, ...] = ()
    routing_profiles: tuple[str, ...] = ()
    hierarchies: tuple[str, ...] = ()
    prefix: str | None = None
    max_rows: int = DEFAULT_MAX_ROWS
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    formats: tuple[str, ...] = FORMATS
    layout: str | None = None  # None: the environment's default
    partition_time: str | None = None  # None: the environment's default
    # Who asked for an ad hoc run, and when (ISO UTC): the ad hoc list shows them.
    requested_by: str | None = None
    requested_at: str | None = None

    @classmethod
    def from_definition(cls, definition: ReportDefinition) -> ReportSpec:
        return cls(
            slug=definition.slug,
            name=definition.name,
            timezone=definition.timezone,
            agents=definition.agents,
            routing_profiles=definition.routing_profiles,
            hierarchies=definition.hierarchies,
            prefix=definition.prefix,
            max_rows=definition.max_rows,
            lookback_days=definition.lookback_days,
            formats=definition.formats,
            layout=definition.layout,
            partition_time=definition.partition_time,
        )

    def filters(self) -> Filters:
        from transforms.filters import Filters

        return Filters(self.agents, self.routing_profiles, self.hierarchies)

    def landing(self) -> Landing:
        """Where the report's raw events land: its own layout and partition clock, else the
        environment's, below the environment's events root."""
        from timecard.engine import landing_for

        settings = get_settings()
        return landing_for(
            settings.events_root,
            self.layout or settings.events_layout,
            self.partition_time or settings.partition_time,
        )

    def request(self, window: TimeRange) -> ReportRequest:
        """The engine's request for this report over `window` (checks the lookback, row limit
        and hierarchy paths: a bad value is a UsageError)."""
        from timecard.engine import ReportRequest

        settings = get_settings()
        return ReportRequest(
            settings.events_root,
            window,
            filters=self.filters(),
            lookback_days=self.lookback_days,
            max_rows=self.max_rows,
            layout=self.layout or settings.events_layout,
            partition_time=self.partition_time or settings.partition_time,
        )

    def to_json(self) -> str:
        return _text(
            {
                item.name: list(value) if isinstance(value, tuple) else value
                for item in fields(self)
                for value in [getattr(self, item.name)]
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ReportSpec:
        data = json.loads(text)
        return cls(
            slug=data["slug"],
            name=data["name"],
            timezone=data["timezone"],
            agents=tuple(data.get("agents", ())),
            routing_profiles=tuple(data.get("routing_profiles", ())),
            hierarchies=tuple(data.get("hierarchies", ())),
            prefix=data.get("prefix"),
            max_rows=int(data.get("max_rows", DEFAULT_MAX_ROWS)),
            lookback_days=int(data.get("lookback_days", DEFAULT_LOOKBACK_DAYS)),
            formats=tuple(data.get("formats", FORMATS)),
            layout=data.get("layout"),
            partition_time=data.get("partition_time"),
            requested_by=data.get("requested_by"),
            requested_at=data.get("requested_at"),
        )


@dataclass(frozen=True)
class PlannedDay:
    """One raw UTC day a report needs, and whether its activity is needed too (the days around
    the window) or only its LOGIN/LOGOUT records (the lookback)."""

    day: date
    with_activity: bool

    def to_data(self) -> dict[str, object]:
        return {"day": self.day.isoformat(), "with_activity": self.with_activity}

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> PlannedDay:
        return cls(date.fromisoformat(str(data["day"])), bool(data["with_activity"]))

    def to_json(self) -> str:
        return _text(self.to_data())

    @classmethod
    def from_json(cls, text: str) -> PlannedDay:
        return cls.from_data(json.loads(text))


@dataclass(frozen=True)
class WindowPlan:
    """A run's window as exact instants (aware, UTC) in its report's time zone, and the raw UTC
    days whose condensed data the report needs."""

    start: datetime
    end: datetime
    timezone: str
    days: tuple[PlannedDay, ...] = ()

    @property
    def window(self) -> TimeRange:
        from timecard.timerange import TimeRange

        return TimeRange(self.start, self.end, self.timezone)

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.timezone))

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(ZoneInfo(self.timezone))

    @property
    def local_date(self) -> str:
        """The local date of the window start: it names the output's date partition."""
        return self.local_start.date().isoformat()

    def to_json(self) -> str:
        return _text(
            {
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                # Derived from the instants: for people reading the XCom, not read back.
                "local_start": self.local_start.isoformat(),
                "local_end": self.local_end.isoformat(),
                "timezone": self.timezone,
                "local_date": self.local_date,
                "days": [day.to_data() for day in self.days],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> WindowPlan:
        data = json.loads(text)
        return cls(
            start=datetime.fromisoformat(data["start"]).astimezone(UTC),
            end=datetime.fromisoformat(data["end"]).astimezone(UTC),
            timezone=data["timezone"],
            days=tuple(PlannedDay.from_data(day) for day in data.get("days", ())),
        )


@dataclass(frozen=True)
class CondensedDay:
    """What condensing one raw UTC day did: its fingerprint, the parts built now (none when the
    cache was current) and the counts of what its raw files held."""

    day: date
    fingerprint: str
    built_now: tuple[str, ...] = ()
    counts: Mapping[str, object] = field(default_factory=dict)

    def to_json(self) -> str:
        return _text(
            {
                "day": self.day.isoformat(),
                "fingerprint": self.fingerprint,
                "built_now": list(self.built_now),
                "counts": dict(self.counts),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> CondensedDay:
        data = json.loads(text)
        return cls(
            day=date.fromisoformat(data["day"]),
            fingerprint=data["fingerprint"],
            built_now=tuple(data["built_now"]),
            counts=dict(data["counts"]),
        )


@dataclass(frozen=True)
class CondensedWindow:
    """What condensing every raw day of a window did (the ad hoc run's one condense step)."""

    days: int
    activity_days: int
    parts_built_now: int
    empty_days: tuple[str, ...] = ()  # UTC days of the window with no raw file

    def to_json(self) -> str:
        return _text(
            {
                "days": self.days,
                "activity_days": self.activity_days,
                "parts_built_now": self.parts_built_now,
                "empty_days": list(self.empty_days),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> CondensedWindow:
        data = json.loads(text)
        return cls(
            int(data["days"]),
            int(data["activity_days"]),
            int(data["parts_built_now"]),
            tuple(data["empty_days"]),
        )


@dataclass(frozen=True)
class StagedReport:
    """A built report waiting under `staging` for validation, with what its build read and when
    it listed its raw inputs (ISO UTC: of two builds of one window, the later lister wins)."""

    staging: str
    summary: RunSummary
    listed_at: str | None = None

    def to_json(self) -> str:
        return _text(
            {
                "staging": self.staging,
                "summary": json.loads(self.summary.to_json()),
                "listed_at": self.listed_at,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> StagedReport:
        from timecard.engine import RunSummary

        data = json.loads(text)
        return cls(data["staging"], RunSummary.from_dict(data["summary"]), data.get("listed_at"))


@dataclass(frozen=True)
class ValidatedReport:
    """A staged report that passed its contract and row limit."""

    rows: int

    def to_json(self) -> str:
        return _text({"rows": self.rows})

    @classmethod
    def from_json(cls, text: str) -> ValidatedReport:
        return cls(int(json.loads(text)["rows"]))


# -- a scheduled run condenses in shards (timecard.pipeline: plan_shards → condense_shard →
# combine_day); `condensed.Shard` is one run of a raw day's files or of one file's row groups.


def _shard_data(shard: Shard) -> object:
    return json.loads(shard.to_json())


def _shard(data: object) -> Shard:
    from timecard.condensed import Shard

    return Shard.from_json(json.dumps(data))


@dataclass(frozen=True)
class ShardTask:
    """One mapped condense task: a shard of a raw day and the parts it condenses (those of the
    day not condensed yet for its current files). The first shard of a day of several also
    carries the day's whole plan (`day_shards`), which the day's combine needs."""

    shard: Shard
    parts: tuple[str, ...]
    day_shards: tuple[Shard, ...] = ()

    @property
    def name(self) -> str:
        """How its task instance is named in Airflow: the day and the shard, `2026-11-05 2/4`."""
        return f"{self.shard.day.isoformat()} {self.shard.index + 1}/{self.shard.count}"

    def to_json(self) -> str:
        return _text(
            {
                "shard": _shard_data(self.shard),
                "parts": list(self.parts),
                "day_shards": [_shard_data(shard) for shard in self.day_shards],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ShardTask:
        data = json.loads(text)
        return cls(
            _shard(data["shard"]),
            tuple(data["parts"]),
            tuple(_shard(shard) for shard in data["day_shards"]),
        )


@dataclass(frozen=True)
class DayToCombine:
    """A raw day condensed in several shards whose runs are still to be combined into its
    parts: every shard of its plan, and the parts they condensed."""

    day: date
    parts: tuple[str, ...]
    shards: tuple[Shard, ...]

    def to_json(self) -> str:
        return _text(
            {
                "day": self.day.isoformat(),
                "parts": list(self.parts),
                "shards": [_shard_data(shard) for shard in self.shards],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> DayToCombine:
        data = json.loads(text)
        return cls(
            date.fromisoformat(data["day"]),
            tuple(data["parts"]),
            tuple(_shard(shard) for shard in data["shards"]),
        )
