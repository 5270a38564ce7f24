"""A synthetic Amazon Connect agent event stream: realistic, deterministic and fast.

The model. Each agent has a home site (time zone, hierarchy, names), a routing profile and a shift
pattern (day, evening or night shift, two days off a week). On a worked day the shift is one
session: LOGIN, STATE_CHANGE activity, a HEART_BEAT every 120 s while nothing else happens, and a
LOGOUT. About 5% of shifts never log out (the CCP window was closed, so events just stop) and
about 5% log in again mid-shift without a LOGOUT (the browser crashed). Every record carries the
full CurrentAgentSnapshot, as the real stream does; that is what makes raw data heavy.

Delivery. An event arrives a little after it happened (mostly within seconds, sometimes minutes)
and is filed under its UTC *arrival* time, as Firehose does, so events from the last minutes
before midnight can land in the next day's partition. About 0.1% are delivered a second time,
sometimes into a later file or partition. A file holds its records in arrival order with a little
shuffling, so they are not in event-time order. Only arrivals in `[start, start + days)` are
written: the stream is cut there, like a real bucket, so the first day holds LOGOUTs whose LOGIN
came before it. With `partition_time="event"` each record is filed under its EventTimestamp's
UTC day or hour instead (Firehose dynamic partitioning); the records written are the same.

Shapes. Every record is built as one Polars frame of CamelCase structs; `encode_records` writes it
in each real landing's shape (JSON in lines, back to back, pretty or mixed, gzip'd or not, keys
lower-cased; Parquet nested, pyarrow-written, or as Firehose converts it with a Glue table), so
the same arguments give the same records in every shape.

Speed and determinism. The roster and the shift plan (one row per session) are made in Python with
one random stream per agent and per agent-day; everything per event is vectorized in Polars, one
arrival day at a time. Per-event randomness hashes a stable event key with a seed per purpose, so
nothing depends on processing order: the same arguments give byte-identical files, and a day's
partition is the same whatever `start` and `days` surround it. (Polars guarantees its hash within
one version only, which the pinned requirements fix.)
"""

from __future__ import annotations

import gzip
import io
import json
import random
import typing
import unicodedata
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from timecard import storage
from timecard.errors import TimecardError, UsageError
from timecard.landing import PARTITION_TIMES, Layout, PartitionTime, parse_layout

Shape = Literal[
    "ndjson",
    "ndjson-gz",
    "concatenated",
    "concatenated-gz",
    "pretty",
    "mixed",
    "mixed-gz",
    "ndjson-lower",
    "parquet",
    "parquet-pyarrow",
    "parquet-glue-struct",
    "parquet-glue-string",
    "parquet-json-text-camel",
]
SHAPES: tuple[Shape, ...] = typing.get_args(Shape)
JSON_SHAPES = frozenset(shape for shape in SHAPES if not shape.startswith("parquet"))
# One arrival day of the largest roster must fit comfortably in memory.
MAX_AGENTS = 50_000
MAX_DAYS = 366
WRITERS = 2  # threads rendering and writing files; the target machine has 2 cores

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
EVENT_VERSION = "2019-05-25"
FIREHOSE_STREAM = "timecard-stream"
EVENT_TYPES = ("LOGIN", "LOGOUT", "STATE_CHANGE", "HEART_BEAT")

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
HEARTBEAT_MS = 120_000
# Files cover a span of arrival time: a few per daily partition, or one per Firehose buffer
# where the layout has hour folders.
DAY_FILE_SPAN_MS = 6 * HOUR_MS
HOUR_FILE_SPAN_MS = 900_000

ABSENCE_SHARE = 0.04
NO_LOGOUT_SHARE = 0.05
RELOGIN_SHARE = 0.05
DUPLICATE_SHARE = 0.001
AWAY_SHARE = 0.35
# Most events arrive within seconds; the rest wait for a Firehose buffer, up to 10 minutes.
FAST_DELIVERY_SHARE = 0.9
FAST_DELAY_MS = (200, 4_000)
SLOW_DELAY_MS = (4_000, 600_000)
REDELIVERY_DELAY_MS = (30_000, 3 * HOUR_MS)
# How long before a partition's first arrival an event can have happened.
MAX_DELIVERY_MS = SLOW_DELAY_MS[1] + REDELIVERY_DELAY_MS[1]

# Agent statuses as (Name, Type); event frames carry the index.
STATUSES = (
    ("Offline", "OFFLINE"),
    ("Available", "ROUTABLE"),
    ("Break", "CUSTOM"),
    ("Lunch", "CUSTOM"),
    ("Training", "CUSTOM"),
    ("Meeting", "CUSTOM"),
)
OFFLINE, AVAILABLE, FIRST_AWAY = 0, 1, 2

ROUTING_PROFILES = {  # name -> inbound queues; every profile dials out through "Outbound"
    "Sales Inbound": ("Sales", "Callbacks"),
    "Support Tier 1": ("Support", "Callbacks"),
    "Support Tier 2": ("Support Escalations",),
    "Billing": ("Billing", "Support"),
    "VIP Care": ("VIP", "Sales", "Support Escalations"),
    "Korean Support": ("Korean Support", "Callbacks"),
}
OUTBOUND_QUEUE = "Outbound"
KOREAN_PROFILE = "Korean Support"
GENERAL_PROFILES = tuple(name for name in ROUTING_PROFILES if name != KOREAN_PROFILE)
KOREAN_PROFILE_SHARE = 0.6  # of the Seoul agents


@dataclass(frozen=True)
class _Site:
    time_zone: str
    region: str  # hierarchy level 1
    city: str  # hierarchy level 2
    share: float
    given_names: tuple[str, ...]
    family_names: tuple[str, ...]


_KOREAN_GIVEN = ("민준", "서연", "지호", "하은", "도윤", "지우", "예준", "수아", "현우", "지민")
_KOREAN_FAMILY = ("김", "이", "박", "최", "정", "강", "조", "윤", "장", "임")
# Hangul has no ASCII decomposition: usernames use these romanizations.
_ROMANIZED = dict(
    zip(
        _KOREAN_GIVEN + _KOREAN_FAMILY,
        ("minjun", "seoyeon", "jiho", "haeun", "doyun", "jiwoo", "yejun", "sua", "hyunwoo", "jimin")
        + ("kim", "lee", "park", "choi", "jung", "kang", "cho", "yoon", "jang", "lim"),
        strict=True,
    )
)
SITES = (
    _Site("Asia/Seoul", "APAC", "Seoul", 0.25, _KOREAN_GIVEN, _KOREAN_FAMILY),
    _Site(
        "America/New_York",
        "Americas",
        "New York",
        0.25,
        ("Michael", "Sofía", "Ethan", "Madison", "Jamal", "Ava", "Carlos", "Emily", "Renée"),
        ("Johnson", "Rodríguez", "Williams", "Davis", "Hernández", "Miller", "Smith, Jr.", "Núñez"),
    ),
    _Site(
        "Europe/London",
        "EMEA",
        "London",
        0.2,
        ("Oliver", "Siobhán", "José", "Zoë", "Björn", "François", "Chloé", "Amélie", "Jürgen"),
        ("O'Brien", "Müller", "García", "Dubois", "Taylor", "Jones", "Lefèvre", "D'Angelo"),
    ),
    _Site(
        "Asia/Kolkata",
        "APAC",
        "Bengaluru",
        0.2,
        ("Aarav", "Priya", "Ananya", "Rohan", "Vikram", "Sneha", "Arjun", "Kavya"),
        ("Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Singh"),
    ),
    _Site(
        "Australia/Sydney",
        "APAC",
        "Sydney",
        0.1,
        ("Jack", "Olivia", "Charlotte", "William", "Isla", "Lachlan", "Matilda"),
        ("Nguyen", "Williams", "Kelly", "Murphy", "O'Connor", "Thompson"),
    ),
)
# Shift kinds: (share, earliest and latest local start hour). Night shifts cross local midnight.
SHIFT_KINDS = ((0.65, 7.0, 10.5), (0.2, 13.0, 15.0), (0.15, 21.0, 23.0))
WEEKEND_OFF_SHARE = 0.7  # the others have two other consecutive days off
HIERARCHY_NULL_SHARE = 0.1
HIERARCHY_DEPTH_WEIGHTS = (5, 20, 45, 20, 10)  # levels 1..5
USERNAME_NUMBERED_SHARE = 0.15  # `agent0042` instead of `given.family`

_QUEUE = pl.Struct({"ARN": pl.String, "Name": pl.String})
_CHANNEL_QUEUE = pl.Struct({"ARN": pl.String, "Channels": pl.List(pl.String), "Name": pl.String})
_HIERARCHY = pl.Struct({f"Level{level}": _QUEUE for level in range(1, 6)})
# As real records order them; Proficiencies is null where the agent has none.
CONFIGURATION_DTYPE = pl.Struct(
    {
        "AgentHierarchyGroups": _HIERARCHY,
        "FirstName": pl.String,
        "LastName": pl.String,
        "Proficiencies": pl.List(
            pl.Struct({"Level": pl.Float64, "Name": pl.String, "Value": pl.String})
        ),
        "RoutingProfile": pl.Struct(
            {
                "ARN": pl.String,
                "Concurrency": pl.List(
                    pl.Struct(
                        {"AvailableSlots": pl.Int64, "Channel": pl.String, "MaximumSlots": pl.Int64}
                    )
                ),
                "DefaultOutboundQueue": _CHANNEL_QUEUE,
                # The agent's own queue comes first, with a null Name.
                "InboundQueues": pl.List(_CHANNEL_QUEUE),
                "Name": pl.String,
            }
        ),
        "Username": pl.String,
    }
)
CONTACTS_DTYPE = pl.List(
    pl.Struct(
        {
            "Channel": pl.String,
            "ConnectedToAgentTimestamp": pl.String,
            "ContactId": pl.String,
            "InitialContactId": pl.String,
            "InitiationMethod": pl.String,
            "Queue": _QUEUE,
            "QueueTimestamp": pl.String,
            "State": pl.String,
            "StateStartTimestamp": pl.String,
        }
    )
)
# Shares of records carrying the stream's optional parts.
CONTACT_SHARE = 0.08  # of HEART_BEAT and STATE_CHANGE records: one contact entry
CONTACT_STATES = ("CONNECTING", "CONNECTED", "ENDED", "ERROR")  # ERROR: no agent, no timestamps
NEXT_STATUS_SHARE = 0.03  # of HEART_BEAT and STATE_CHANGE records: a status change is queued
PROFILE_CHANGE_SHARE = 0.02  # of previous snapshots: the routing profile was just changed
PROFICIENCY_SHARE = 0.3  # of agents
PROFICIENCIES = (("Technology", "Kinesis"), ("Location", "WA"), ("Language", "Korean"))
_HEX4 = pl.Series([f"{value:04x}" for value in range(1 << 16)])


@dataclass
class GenerateSummary:
    events: int = 0  # records written, duplicates included
    duplicates: int = 0  # second deliveries of an event already written
    files: int = 0
    bytes: int = 0
    event_types: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVENT_TYPES, 0))

    def __str__(self) -> str:
        types = ", ".join(f"{name} {count:,}" for name, count in self.event_types.items())
        return (
            f"{self.events:,} events ({types}; {self.duplicates:,} delivered twice) "
            f"in {self.files:,} files, {self.bytes:,} bytes"
        )


@dataclass(frozen=True)
class _Agent:
    time_zone: ZoneInfo
    shift_start_hour: float  # local
    days_off: frozenset[int]  # weekday numbers


@dataclass(frozen=True)
class _Roster:
    agents: tuple[_Agent, ...]
    instance_arn: str
    agent_arns: pl.Series
    configurations: pl.Series
    previous_configurations: pl.Series  # the same agents before a routing-profile change
    status_arns: pl.Series
    queues: pl.Series  # the inbound queues contacts come from


def generate_events(
    out_root: str,
    *,
    agents: int,
    start: date,
    days: int,
    seed: int = 0,
    shape: Shape = "parquet",
    layout: str = "date",
    partition_time: PartitionTime = "arrival",
) -> GenerateSummary:
    """Write the arrivals of `days` UTC days from `start` for `agents` agents under `out_root`.

    `shape` is how files hold records (see `encode_records`); `layout` a preset or template of
    `timecard.landing`; `partition_time` whether a record is filed under its arrival time, as
    Firehose's own prefixes do, or under its EventTimestamp, as dynamic partitioning does. Which
    records are written does not depend on it: the stream is cut on arrival time either way.
    """
    _validate(
        agents=agents, start=start, days=days, seed=seed, shape=shape, partition_time=partition_time
    )
    output = _Output(out_root, shape, parse_layout(layout), partition_time, seed)
    roster = _make_roster(agents, seed)
    # Shifts of the two days before `start` still deliver into its first partition.
    sessions = _plan_sessions(roster.agents, start - timedelta(days=2), days + 3, seed)
    draws = _Draws(seed)
    summary = GenerateSummary()
    # Polars' Parquet writer uses one core: a worker renders and writes a file while the next is
    # prepared. The short queue bounds memory.
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        pending: deque[Future[GenerateSummary]] = deque()
        for url, chunk in _files(sessions, start, days, output, draws):
            pending.append(pool.submit(_write_file, url, chunk, output, roster, draws))
            if len(pending) > WRITERS:
                _tally(summary, pending.popleft().result())
        for future in pending:
            _tally(summary, future.result())
    return summary


def _validate(
    *, agents: int, start: date, days: int, seed: int, shape: str, partition_time: str
) -> None:
    if not isinstance(agents, int) or not 1 <= agents <= MAX_AGENTS:
        raise UsageError(
            f"The number of agents must be a whole number from 1 to {MAX_AGENTS:,}; "
            f"got {agents!r}. Larger rosters would not fit one day of events in memory."
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


# --- roster and shift plan (Python: one row per agent or session) -----------------------------


def _make_roster(agent_count: int, seed: int) -> _Roster:
    instance_id = uuid.UUID(int=random.Random(f"{seed}/instance").getrandbits(128), version=4)
    instance_arn = f"arn:aws:connect:{REGION}:{ACCOUNT_ID}:instance/{instance_id}"

    def arn(kind: str, name: str) -> str:
        # Named resources get stable ids, so each appears with one ARN wherever it is used.
        return f"{instance_arn}/{kind}/{uuid.uuid5(instance_id, f'{kind}/{name}')}"

    def queue(name: str) -> dict:
        return {"ARN": arn("queue", name), "Channels": ["VOICE"], "Name": name}

    def profile(name: str) -> dict:
        return {
            "ARN": arn("routing-profile", name),
            "Concurrency": [
                {"AvailableSlots": 1, "Channel": "VOICE", "MaximumSlots": 1},
                {"AvailableSlots": 2, "Channel": "CHAT", "MaximumSlots": 2},
            ],
            "DefaultOutboundQueue": queue(OUTBOUND_QUEUE),
            "InboundQueues": [queue(name) for name in ROUTING_PROFILES[name]],
            "Name": name,
        }

    agents, agent_arns, configurations, previous_configurations = [], [], [], []
    usernames: set[str] = set()
    for index in range(agent_count):
        rng = random.Random(f"{seed}/agent/{index}")
        agent_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        site = rng.choices(SITES, weights=[site.share for site in SITES])[0]
        given, family = rng.choice(site.given_names), rng.choice(site.family_names)
        if site.city == "Seoul" and rng.random() < KOREAN_PROFILE_SHARE:
            profile_name = KOREAN_PROFILE
        else:
            profile_name = rng.choice(GENERAL_PROFILES)
        if rng.random() < HIERARCHY_NULL_SHARE:
            hierarchy = None
        else:
            depth = rng.choices(range(1, 6), weights=HIERARCHY_DEPTH_WEIGHTS)[0]
            path = (
                site.region,
                site.city,
                f"Team {rng.randint(1, 4)}",
                f"Squad {rng.choice('ABC')}",
                f"Pod {rng.randint(1, 2)}",
            )[:depth]
            hierarchy = {f"Level{level}": None for level in range(1, 6)}
            for level in range(1, depth + 1):
                hierarchy[f"Level{level}"] = {
                    "ARN": arn("agent-group", "/".join(path[:level])),
                    "Name": path[level - 1],
                }
        proficiencies = None
        if rng.random() < PROFICIENCY_SHARE:
            proficiencies = [
                {"Level": float(rng.randint(1, 5)), "Name": name, "Value": value}
                for name, value in PROFICIENCIES[: rng.randint(1, len(PROFICIENCIES))]
            ]
        # The agent's personal queue, which has no name, routes to the agent on every channel.
        own_queue = {
            "ARN": f"{instance_arn}/queue/agent/{agent_id}",
            "Channels": ["VOICE", "CHAT"],
            "Name": None,
        }
        configuration = {
            "AgentHierarchyGroups": hierarchy,
            "FirstName": given,
            "LastName": family,
            "Proficiencies": proficiencies,
            "RoutingProfile": profile(profile_name),
            "Username": _username(index, given, family, usernames, rng),
        }
        configuration["RoutingProfile"]["InboundQueues"].insert(0, own_queue)
        configurations.append(configuration)
        # Before a routing-profile change: the next profile in the list.
        names = list(ROUTING_PROFILES)
        earlier_name = names[(names.index(profile_name) + 1) % len(names)]
        earlier_profile = profile(earlier_name)
        earlier_profile["InboundQueues"].insert(0, own_queue)
        previous_configurations.append({**configuration, "RoutingProfile": earlier_profile})
        agent_arns.append(f"{instance_arn}/agent/{agent_id}")
        _, earliest, latest = rng.choices(SHIFT_KINDS, weights=[kind[0] for kind in SHIFT_KINDS])[0]
        saturday = 5
        first_off = saturday if rng.random() < WEEKEND_OFF_SHARE else rng.randrange(7)
        agents.append(
            _Agent(
                time_zone=ZoneInfo(site.time_zone),
                shift_start_hour=earliest + rng.randrange(int((latest - earliest) * 4) + 1) / 4,
                days_off=frozenset({first_off, (first_off + 1) % 7}),
            )
        )
    return _Roster(
        agents=tuple(agents),
        instance_arn=instance_arn,
        agent_arns=pl.Series(agent_arns, dtype=pl.String),
        configurations=pl.Series(configurations, dtype=CONFIGURATION_DTYPE),
        previous_configurations=pl.Series(previous_configurations, dtype=CONFIGURATION_DTYPE),
        status_arns=pl.Series([arn("agent-state", name) for name, _ in STATUSES]),
        queues=pl.Series(
            [{"ARN": arn("queue", name), "Name": name} for name in _all_queues()], dtype=_QUEUE
        ),
    )


def _all_queues() -> list[str]:
    return sorted({name for queues in ROUTING_PROFILES.values() for name in queues})


def _username(index: int, given: str, family: str, taken: set[str], rng: random.Random) -> str:
    if rng.random() < USERNAME_NUMBERED_SHARE:
        name = f"agent{index + 1:04d}"  # cannot clash with the dotted form
    else:
        base = f"{_ascii(given)}.{_ascii(family)}"
        name, suffix = base, 1
        while name in taken:
            suffix += 1
            name = f"{base}{suffix}"
    taken.add(name)
    return name


def _ascii(name: str) -> str:
    """Lowercase ASCII letters only: 'Siobhán' -> 'siobhan', "O'Brien" -> 'obrien', 김 -> 'kim'."""
    name = _ROMANIZED.get(name, name)
    decomposed = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(char for char in decomposed.lower() if "a" <= char <= "z")


def _plan_sessions(
    agents: tuple[_Agent, ...], first_day: date, day_count: int, seed: int
) -> pl.DataFrame:
    """One row per session. A session's key depends only on (agent, local date, segment)."""
    rows: list[tuple[int, int, int, int, bool, int]] = []

    def add(key: int, agent: int, login_ms: int, end_ms: int, logs_out: bool, rate: float) -> None:
        changes = max(2, round(rate * (end_ms - login_ms)))
        rows.append((key, agent, login_ms, end_ms, logs_out, changes))

    for index, agent in enumerate(agents):
        for offset in range(day_count):
            day = first_day + timedelta(days=offset)
            rng = random.Random(f"{seed}/shift/{index}/{day.isoformat()}")
            if day.weekday() in agent.days_off or rng.random() < ABSENCE_SHARE:
                continue
            local_start = datetime.combine(day, time(), agent.time_zone) + timedelta(
                hours=agent.shift_start_hour, minutes=rng.uniform(-15, 15)
            )
            login_ms = _epoch_ms(local_start)
            length_ms = rng.randint(8 * HOUR_MS, 9 * HOUR_MS)
            end_ms = login_ms + length_ms
            changes_per_ms = rng.uniform(2.5, 7.5) / HOUR_MS  # 20 to 60 per shift
            # Room for 2 segments a day and 2**24 events a session; MAX_AGENTS keeps it in 64 bits.
            key = ((index << 20) + day.toordinal()) << 1
            variant = rng.random()
            if variant < NO_LOGOUT_SHARE:
                add(key, index, login_ms, end_ms, False, changes_per_ms)
            elif variant < NO_LOGOUT_SHARE + RELOGIN_SHARE:
                crash_ms = login_ms + int(length_ms * rng.uniform(0.2, 0.8))
                relogin_ms = crash_ms + rng.randint(60_000, 600_000)
                add(key, index, login_ms, crash_ms, False, changes_per_ms)
                add(key + 1, index, relogin_ms, end_ms, True, changes_per_ms)
            else:
                add(key, index, login_ms, end_ms, True, changes_per_ms)
    return pl.DataFrame(
        rows,
        orient="row",
        schema={
            "session_key": pl.UInt64,
            "agent": pl.UInt32,
            "login_ms": pl.Int64,
            "end_ms": pl.Int64,
            "logs_out": pl.Boolean,
            "changes": pl.Int64,
        },
    )


# --- events (Polars: vectorized per arrival day) ----------------------------------------------


@dataclass(frozen=True)
class _Draws:
    """Per-event randomness: a stable key hashed with a seed per purpose."""

    seed: int

    def bits(self, key: pl.Expr, purpose: str) -> pl.Expr:
        return key.hash(seed=random.Random(f"{self.seed}/{purpose}").getrandbits(63))

    def uniform(self, key: pl.Expr, purpose: str) -> pl.Expr:
        """A float in [0, 1) from the top 53 bits."""
        return (self.bits(key, purpose) // (1 << 11)).cast(pl.Float64) / (1 << 53)

    def between(self, key: pl.Expr, purpose: str, bounds: tuple[int, int]) -> pl.Expr:
        low, high = bounds
        return low + (self.uniform(key, purpose) * (high - low)).cast(pl.Int64)


def _expand(sessions: pl.DataFrame, day_start_ms: int, draws: _Draws) -> pl.DataFrame:
    """Every event of the sessions that can deliver into the day starting at `day_start_ms`.

    Columns: agent, event_ms, event_type, status, status_start_ms, previous_status,
    previous_start_ms (the status before this event and when it began), key (unique per event).
    """
    sessions = sessions.filter(
        pl.col("login_ms") < day_start_ms + DAY_MS,
        pl.col("end_ms") >= day_start_ms - MAX_DELIVERY_MS,
    )
    login, end, ordinal = pl.col("login_ms"), pl.col("end_ms"), pl.col("k")
    change_key = pl.col("session_key") * (1 << 24) + ordinal.cast(pl.UInt64)
    is_last_change = pl.col("logs_out") & (ordinal == pl.col("changes") - 1)
    settle = draws.between(change_key, "settle", (3_000, 43_000))
    # The first change (to Available) follows the LOGIN; a logging-out agent goes Offline last.
    changes = (
        sessions.with_columns(k=pl.int_ranges(0, "changes"))
        .explode("k")
        .select(
            "session_key",
            "agent",
            event_ms=pl.when(ordinal == 0)
            .then(login + settle)
            .when(is_last_change)
            .then(end - settle)
            .otherwise(
                login
                + 60_000
                + (draws.uniform(change_key, "change") * (end - login - 120_000)).cast(pl.Int64)
            ),
            event_type=pl.lit("STATE_CHANGE"),
            is_last_change=is_last_change,
            order=ordinal + 1,
        )
    )
    # The session's end is an anchor too: a LOGOUT, or (null type) the moment events stop.
    bounds = sessions.select(
        "session_key",
        "agent",
        event_ms=pl.concat_list(login, end),
        event_type=pl.concat_list(
            pl.lit("LOGIN"), pl.when("logs_out").then(pl.lit("LOGOUT")).otherwise(pl.lit(None))
        ),
        is_last_change=pl.lit(False),
        order=pl.concat_list(pl.lit(0, pl.Int64), pl.lit(1 << 12, pl.Int64)),
    ).explode("event_ms", "event_type", "order")
    anchors = pl.concat([bounds, changes]).sort("session_key", "event_ms", "order")

    session = pl.col("session_key")
    opens_session = session.ne_missing(session.shift(1))
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    position = row - pl.when(opens_session).then(row).forward_fill()
    key = session * (1 << 24) + position.cast(pl.UInt64) * (1 << 12)
    # Every second change may step away (Break, Lunch, ...); the ones between return to Available.
    away = FIRST_AWAY + (draws.uniform(key, "away kind") * (len(STATUSES) - FIRST_AWAY)).cast(
        pl.Int64
    )
    status = (
        pl.when(pl.col("event_type") != "STATE_CHANGE")
        .then(OFFLINE)
        .when("is_last_change")
        .then(OFFLINE)
        .when((position % 2 == 0) & (draws.uniform(key, "away") < AWAY_SHARE))
        .then(away)
        .otherwise(AVAILABLE)
    )
    anchors = anchors.with_columns(key=key, status=status, opens_session=opens_session)
    anchors = anchors.with_columns(
        status_start_ms=pl.when(
            pl.col("opens_session") | pl.col("status").ne_missing(pl.col("status").shift(1))
        )
        .then("event_ms")
        .forward_fill(),
    )
    anchors = anchors.with_columns(
        previous_status=pl.when("opens_session").then(OFFLINE).otherwise(pl.col("status").shift(1)),
        previous_start_ms=pl.when("opens_session")
        .then("event_ms")
        .otherwise(pl.col("status_start_ms").shift(1)),
        # Heartbeats fill each gap up to the next anchor of the same session, 120 s apart.
        heartbeats=pl.when(session.shift(-1) == session)
        .then((pl.col("event_ms").shift(-1) - pl.col("event_ms") - 1) // HEARTBEAT_MS)
        .otherwise(0),
    )
    columns = ["agent", "event_ms", "event_type", "status", "status_start_ms"]
    columns += ["previous_status", "previous_start_ms", "key"]
    heartbeats = (
        anchors.filter(pl.col("heartbeats") > 0)
        .with_columns(beat=pl.int_ranges(1, pl.col("heartbeats") + 1))
        .explode("beat")
        .with_columns(
            event_ms=pl.col("event_ms") + pl.col("beat") * HEARTBEAT_MS,
            event_type=pl.lit("HEART_BEAT"),
            # Nothing changed since the anchor: the previous snapshot shows the same status.
            previous_status=pl.col("status"),
            previous_start_ms=pl.col("status_start_ms"),
            key=pl.col("key") + pl.col("beat").cast(pl.UInt64),
        )
        .select(columns)
    )
    return pl.concat(
        [anchors.filter(pl.col("event_type").is_not_null()).select(columns), heartbeats]
    )


def _deliver(
    events: pl.DataFrame, day_start_ms: int, stream_start_ms: int, draws: _Draws
) -> pl.DataFrame:
    """The events (and second deliveries) arriving on the day, in the order they are filed."""
    key = pl.col("key")
    delay = (
        pl.when(draws.uniform(key, "fast delivery") < FAST_DELIVERY_SHARE)
        .then(draws.between(key, "fast delay", FAST_DELAY_MS))
        .otherwise(draws.between(key, "slow delay", SLOW_DELAY_MS))
    )
    first = events.with_columns(arrival_ms=pl.col("event_ms") + delay, is_copy=pl.lit(False))
    again = first.filter(draws.uniform(key, "duplicate") < DUPLICATE_SHARE).with_columns(
        arrival_ms=pl.col("arrival_ms") + draws.between(key, "redelivery", REDELIVERY_DELAY_MS),
        # Where the first delivery came before the stream's start, this one is the only one.
        is_copy=pl.col("arrival_ms") >= stream_start_ms,
    )
    # Arrival order, shuffled within each second; key and is_copy make the order total.
    return (
        pl.concat([first, again])
        .filter(pl.col("arrival_ms").is_between(day_start_ms, day_start_ms + DAY_MS, "left"))
        .with_columns(shuffle=draws.bits(key, "shuffle"))
        .sort(pl.col("arrival_ms") // 1000, "shuffle", "key", "is_copy")
        .drop("shuffle")
    )


def _records(events: pl.DataFrame, roster: _Roster, draws: _Draws) -> pl.DataFrame:
    """Agent event stream records, shaped like the Connect JSON, in real records' key order.

    PreviousAgentSnapshot is null on LOGIN and LOGOUT ("not applicable", as documented); on other
    events it holds the status before the event and, now and then, another routing profile. The
    JSON shapes leave some of these nulls out (see `encode_records`).
    """
    key, status, previous = pl.col("key"), pl.col("status"), pl.col("previous_status")
    names = pl.lit(pl.Series([name for name, _ in STATUSES]))
    kinds = pl.lit(pl.Series([kind for _, kind in STATUSES]))

    def agent_status(index: pl.Expr, start_ms: pl.Expr) -> pl.Expr:
        return pl.struct(
            ARN=pl.lit(roster.status_arns).gather(index),
            Name=names.gather(index),
            StartTimestamp=_iso_ms(start_ms),
            Type=kinds.gather(index),
        )

    is_activity = pl.col("event_type").is_in(["HEART_BEAT", "STATE_CHANGE"])
    configuration = pl.lit(roster.configurations).gather("agent")
    # One gather from both lists: the second half holds each agent before a profile change.
    changed = draws.uniform(key, "profile change") < PROFILE_CHANGE_SHARE
    both = pl.concat([roster.configurations, roster.previous_configurations])
    previous_configuration = pl.lit(both).gather(
        pl.col("agent") + changed.cast(pl.UInt32) * roster.configurations.len()
    )
    contacts = _contacts(is_activity, roster, draws)
    away = FIRST_AWAY + (draws.uniform(key, "next status") * (len(STATUSES) - FIRST_AWAY)).cast(
        pl.Int64
    )
    next_status = pl.when(is_activity & (draws.uniform(key, "queued") < NEXT_STATUS_SHARE)).then(
        pl.struct(
            ARN=pl.lit(roster.status_arns).gather(away),
            Name=names.gather(away),
            # Connect's documentation spells this key both ways; records carry one of them.
            **_either_spelling(
                draws.uniform(key, "spelling") < 0.5,
                _iso_ms(pl.col("event_ms") - draws.between(key, "queued for", (1_000, 60_000))),
            ),
        )
    )
    return events.select(
        AWSAccountId=pl.lit(ACCOUNT_ID),
        AgentARN=pl.lit(roster.agent_arns).gather("agent"),
        CurrentAgentSnapshot=pl.struct(
            AgentStatus=agent_status(status, pl.col("status_start_ms")),
            NextAgentStatus=next_status,
            Configuration=configuration,
            Contacts=contacts,
        ),
        EventId=_uuid4(key, draws),
        EventTimestamp=_iso_ms(pl.col("event_ms")),
        EventType=pl.col("event_type"),
        InstanceARN=pl.lit(roster.instance_arn),
        PreviousAgentSnapshot=pl.when(is_activity).then(
            pl.struct(
                AgentStatus=agent_status(previous, pl.col("previous_start_ms")),
                Configuration=previous_configuration,
                Contacts=contacts,
            )
        ),
        Version=pl.lit(EVENT_VERSION),
    )


def _either_spelling(old_spelling: pl.Expr, timestamp: pl.Expr) -> dict[str, pl.Expr]:
    return {
        "EnqueueTimestamp": pl.when(old_spelling).then(timestamp),
        "EnqueuedTimestamp": pl.when(~old_spelling).then(timestamp),
    }


def _contacts(is_activity: pl.Expr, roster: _Roster, draws: _Draws) -> pl.Expr:
    """Now and then one contact, in any state; an ERROR contact never reached the agent."""
    key = pl.col("key")
    state = pl.lit(pl.Series(CONTACT_STATES)).gather(
        (draws.uniform(key, "contact state") * len(CONTACT_STATES)).cast(pl.Int64)
    )
    started_ms = pl.col("event_ms") - draws.between(key, "contact age", (5_000, 600_000))
    inbound = draws.uniform(key, "inbound") < 0.8
    queue = pl.lit(roster.queues).gather(
        (draws.uniform(key, "contact queue") * roster.queues.len()).cast(pl.Int64)
    )
    reached_agent = state.is_in(["CONNECTED", "ENDED"])
    contact = pl.struct(
        Channel=pl.when(draws.uniform(key, "chat") < 0.3)
        .then(pl.lit("CHAT"))
        .otherwise(pl.lit("VOICE")),
        ConnectedToAgentTimestamp=pl.when(reached_agent).then(_iso_ms(started_ms + 20_000)),
        ContactId=_uuid4(key, draws, "contact"),
        InitialContactId=pl.lit(None, pl.String),
        InitiationMethod=pl.when(inbound).then(pl.lit("INBOUND")).otherwise(pl.lit("OUTBOUND")),
        Queue=queue,
        QueueTimestamp=pl.when(inbound & (state != "ERROR")).then(_iso_ms(started_ms)),
        State=state,
        StateStartTimestamp=_iso_ms(started_ms + 30_000),
    )
    has_contact = is_activity & (draws.uniform(key, "contact") < CONTACT_SHARE)
    return (
        pl.when(has_contact)
        .then(pl.concat_list(contact))
        .otherwise(pl.lit([], dtype=CONTACTS_DTYPE))
        .cast(CONTACTS_DTYPE)
    )


def _iso_ms(epoch_ms: pl.Expr) -> pl.Expr:
    return pl.from_epoch(epoch_ms, time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")


def _uuid4(key: pl.Expr, draws: _Draws, purpose: str = "event id") -> pl.Expr:
    """A random-looking version 4 UUID string per key (the same for both deliveries)."""
    high, low = draws.bits(key, f"{purpose} high"), draws.bits(key, f"{purpose} low")

    def hex4(bits: pl.Expr, shift: int, fixed: int = 0, kept: int = 0xFFFF) -> pl.Expr:
        """Four hex digits from 16 bits; `fixed` sets the version and variant bits."""
        return pl.lit(_HEX4).gather((bits // (1 << shift)) % (kept + 1) + fixed)

    return pl.concat_str(
        hex4(high, 48),
        hex4(high, 32),
        pl.lit("-"),
        hex4(high, 16),
        pl.lit("-"),
        hex4(high, 0, fixed=0x4000, kept=0x0FFF),
        pl.lit("-"),
        hex4(low, 48, fixed=0x8000, kept=0x3FFF),
        pl.lit("-"),
        hex4(low, 32),
        hex4(low, 16),
        hex4(low, 0),
    )


# --- files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Output:
    root: str
    shape: Shape
    layout: Layout
    partition_time: PartitionTime
    seed: int

    @property
    def has_hour_folders(self) -> bool:
        return "{HH}" in self.layout.template

    @property
    def file_span_ms(self) -> int:
        return HOUR_FILE_SPAN_MS if self.has_hour_folders else DAY_FILE_SPAN_MS

    @property
    def folder_span_ms(self) -> int:
        return HOUR_MS if self.has_hour_folders else DAY_MS

    def url(self, folder_ms: int, file_start_ms: int, first_arrival_ms: int) -> str:
        """Where the records filed under `folder_ms` that arrived from `file_start_ms` go."""
        folder = self.layout.folder_for(_utc(folder_ms))
        is_json = self.shape in JSON_SHAPES
        if self.has_hour_folders:
            # Firehose's own naming: stream, version, time of the first record, a random id.
            object_bits = random.Random(f"{self.seed}/{folder}/{file_start_ms}").getrandbits(128)
            object_id = uuid.UUID(int=object_bits, version=4)
            name = f"{FIREHOSE_STREAM}-1-{_utc(first_arrival_ms):%Y-%m-%d-%H-%M-%S}-{object_id}"
            # Firehose gives JSON objects no extension, gzip'd or not; Parquet keeps its own.
            return storage.join(self.root, folder, name if is_json else name + ".parquet")
        # Numbered by arrival span from the folder's day: unique, as an event-time folder can
        # receive records on the next arrival day too.
        index = (file_start_ms - folder_ms // DAY_MS * DAY_MS) // self.file_span_ms
        suffix = ".json.gz" if self.shape.endswith("-gz") else ".json" if is_json else ".parquet"
        return storage.join(self.root, folder, f"part-{index:05d}{suffix}")


def _files(
    sessions: pl.DataFrame, start: date, days: int, output: _Output, draws: _Draws
) -> Iterator[tuple[str, pl.DataFrame]]:
    """Each file's URL and events, one arrival day at a time."""
    file_span_ms, folder_span_ms = output.file_span_ms, output.folder_span_ms
    filing_ms = pl.col("arrival_ms" if output.partition_time == "arrival" else "event_ms")
    stream_start_ms = _epoch_ms(datetime.combine(start, time(), UTC))
    for day_start_ms in range(stream_start_ms, stream_start_ms + days * DAY_MS, DAY_MS):
        events = _expand(sessions, day_start_ms, draws)
        delivered = _deliver(events, day_start_ms, stream_start_ms, draws)
        # Spans divide a day evenly, so whole multiples of a span since the epoch align with days.
        files = delivered.with_columns(
            folder_ms=filing_ms // folder_span_ms * folder_span_ms,
            file_start_ms=pl.col("arrival_ms") // file_span_ms * file_span_ms,
        )
        for (folder_ms, file_start_ms), chunk in files.partition_by(
            "folder_ms", "file_start_ms", maintain_order=True, as_dict=True
        ).items():
            url = output.url(folder_ms, file_start_ms, chunk["arrival_ms"].min())
            yield url, chunk


# --- shapes: how a file holds its records ---------------------------------------------------------

# Optional parts real records leave out rather than set to null; the JSON shapes do the same.
_LEFT_OUT_WHEN_NULL = ("NextAgentStatus", "EnqueueTimestamp", "EnqueuedTimestamp", "Proficiencies")
# A struct Glue table types these as `string` (aws-samples' connect_ae): Firehose stores JSON text.
_GLUE_TEXT_FIELDS = {"configuration": ("agenthierarchygroups",), "": ("nextagentstatus",)}
_SNAPSHOTS = ("CurrentAgentSnapshot", "PreviousAgentSnapshot")
_ISO_INSTANT = "%Y-%m-%dT%H:%M:%S%.f%#z"
PYARROW_ROW_GROUP = 10_000


def encode_records(records: pl.DataFrame, shape: Shape) -> bytes:
    """The bytes of one file holding `records` (CamelCase agent event records, EventTimestamp
    as ISO text) in `shape`:

    - `ndjson`, `ndjson-gz`: one record per line; `concatenated`, `concatenated-gz`: records back
      to back with no delimiter (Firehose's default); `pretty`: records indented over several
      lines; `mixed`, `mixed-gz`: each record in one of those three styles; `ndjson-lower`: every
      key lower-cased. JSON shapes leave out null optional parts, and PreviousAgentSnapshot is
      null in some records and missing in others. `-gz` is gzip, recognisable by content only.
    - `parquet`: Polars, nested CamelCase structs. `parquet-pyarrow`: the same written as
      Firehose and Glue write Parquet (dictionary-encoded strings in the structs, snappy, row
      groups of 10,000, no Arrow schema). `parquet-glue-struct`: Firehose's conversion with a
      struct Glue table: every name lower-case, `eventtimestamp` a UTC timestamp in ms,
      `agenthierarchygroups` and `nextagentstatus` JSON text. `parquet-glue-string`: conversion
      with a string Glue table: lower-case columns, the snapshots JSON text with lower-case keys;
      `parquet-json-text-camel`: the same with CamelCase keys in the JSON text.

    The choice of style per record depends only on its position, so output is deterministic.
    """
    if shape == "parquet":
        buffer = io.BytesIO()
        records.write_parquet(buffer, compression="zstd", compression_level=1)
        return buffer.getvalue()
    if shape == "parquet-pyarrow":
        return _pyarrow_parquet(records)
    if shape == "parquet-glue-struct":
        frame = _lower_names(_timestamped(records))
        return _pyarrow_parquet(frame.with_columns(_glue_text_fields(frame)))
    if shape == "parquet-glue-string":
        frame = _lower_names(_timestamped(records))
        return _pyarrow_parquet(frame.with_columns(_json_text_columns(frame, lower=True)))
    if shape == "parquet-json-text-camel":
        frame = _timestamped(records)
        frame = frame.with_columns(_json_text_columns(frame, lower=False))
        return _pyarrow_parquet(frame.rename(str.lower))
    if shape not in JSON_SHAPES:
        raise UsageError(f"The shape must be one of {', '.join(SHAPES)}; got {shape!r}.")
    lower = shape == "ndjson-lower"
    texts = _json_records(_lower_names(records) if lower else records, lower)
    style = shape.removesuffix("-gz")
    if style in ("ndjson", "ndjson-lower", "concatenated"):
        # Each text as it is, then a newline or nothing: no quoting, no copy through Python, and
        # gzip without a time in its header, so reruns match.
        buffer = io.BytesIO()
        texts.to_frame().write_csv(
            buffer,
            include_header=False,
            quote_style="never",
            line_terminator="" if style == "concatenated" else "\n",
            compression="gzip" if shape.endswith("-gz") else "uncompressed",
            check_extension=False,
        )
        return buffer.getvalue()
    if style == "pretty":
        encoded = "".join(_pretty(text) + "\n" for text in texts).encode()
    else:  # mixed: by position, a line, a record glued to the next, or an indented record
        styles = _by_position(len(texts), 3, "mixed")
        endings = ("\n", "", "\n")
        encoded = "".join(
            (_pretty(text) if kind == 2 else text) + endings[kind]
            for text, kind in zip(texts, styles, strict=True)
        ).encode()
    return gzip.compress(encoded, compresslevel=6, mtime=0) if shape.endswith("-gz") else encoded


def _json_records(records: pl.DataFrame, lower: bool) -> pl.Series:
    """One compact JSON text per record, null optional parts left out."""
    spelled = str.lower if lower else str
    text = pl.col("text")
    # Documented as "not applicable" to some events: absent from half of them, null in the rest.
    missing = _by_position_expr(2, "previous snapshot missing") == 0
    previous = spelled("PreviousAgentSnapshot")
    text = pl.when(missing).then(text.str.replace(f',"{previous}":null', "", literal=True))
    text = text.otherwise(pl.col("text"))
    # A key is always followed by `:`, and a quote inside a string is escaped: these patterns
    # cannot match inside a value. One pass per key the records have (passes are what cost).
    for key, is_last in _optional_keys(records.schema, set(map(spelled, _LEFT_OUT_WHEN_NULL))):
        pattern = f',"{key}":null' if is_last else f'"{key}":null,'
        text = text.str.replace_all(pattern, "", literal=True)
    encoded = records.select(text=pl.struct(pl.all()).struct.json_encode())
    return encoded.select(text)["text"]


def _optional_keys(schema: pl.Schema, wanted: set[str]) -> set[tuple[str, bool]]:
    """(key, whether it is the last field of its struct) of the `wanted` keys in the records."""
    found = set()
    pending = [list(schema.items())]
    while pending:
        fields = pending.pop()
        for position, (name, dtype) in enumerate(fields):
            if name in wanted:
                found.add((name, position == len(fields) - 1))
            while isinstance(dtype, pl.List):
                dtype = dtype.inner
            if isinstance(dtype, pl.Struct):
                pending.append([(field.name, field.dtype) for field in dtype.fields])
    return found


def _pretty(text: str) -> str:
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False)


def _by_position_expr(choices: int, purpose: str) -> pl.Expr:
    seed = random.Random(purpose).getrandbits(63)
    return pl.int_range(pl.len(), dtype=pl.UInt64).hash(seed) % choices


def _by_position(count: int, choices: int, purpose: str) -> list[int]:
    frame = pl.DataFrame({"row": pl.zeros(count, dtype=pl.UInt8, eager=True)})
    return frame.select(_by_position_expr(choices, purpose).alias("choice"))["choice"].to_list()


def _timestamped(records: pl.DataFrame) -> pl.DataFrame:
    """EventTimestamp as Firehose's conversion stores it: a UTC timestamp in milliseconds."""
    column = pl.col("EventTimestamp")
    if records.schema["EventTimestamp"] == pl.String:
        column = column.str.to_datetime(_ISO_INSTANT, time_zone="UTC", time_unit="ms")
    return records.with_columns(column.dt.convert_time_zone("UTC").dt.cast_time_unit("ms"))


def _json_text(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A nested value as JSON text; null stays null."""
    if dtype == pl.Null:
        return column.cast(pl.String)
    return pl.when(column.is_not_null()).then(column.struct.json_encode())


def _json_text_columns(frame: pl.DataFrame, lower: bool) -> list[pl.Expr]:
    names = [name.lower() if lower else name for name in _SNAPSHOTS]
    return [
        _json_text(pl.col(name), frame.schema[name]).alias(name)
        for name in names
        if name in frame.schema
    ]


def _glue_text_fields(frame: pl.DataFrame) -> list[pl.Expr]:
    """Lower-cased snapshots with the fields a struct Glue table types `string` as JSON text."""
    columns = []
    for name in (snapshot.lower() for snapshot in _SNAPSHOTS):
        dtype = frame.schema.get(name)
        if not isinstance(dtype, pl.Struct):
            continue
        snapshot = pl.col(name)
        fields = {field.name: field.dtype for field in dtype.fields}
        changes = {
            field: _json_text(snapshot.struct.field(field), fields[field])
            for field in _GLUE_TEXT_FIELDS[""]
            if field in fields
        }
        if isinstance(fields.get("configuration"), pl.Struct):
            configuration = snapshot.struct.field("configuration")
            inner = {field.name: field.dtype for field in fields["configuration"].fields}
            changes["configuration"] = pl.when(configuration.is_not_null()).then(
                configuration.struct.with_fields(
                    **{
                        field: _json_text(configuration.struct.field(field), inner[field])
                        for field in _GLUE_TEXT_FIELDS["configuration"]
                        if field in inner
                    }
                )
            )
        changed = snapshot.struct.with_fields(**changes)
        columns.append(pl.when(snapshot.is_not_null()).then(changed).alias(name))
    return columns


def _lower_names(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column and nested field name lower-cased, as Glue and the OpenX JSON SerDe do."""
    return pl.from_arrow(_arrow_table(frame, lower=True))


def _arrow_table(frame: pl.DataFrame, lower: bool = False) -> pa.Table:
    """`frame` as Arrow with plain string and list types, as parquet-mr's files read back."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    columns = [_plain_array(column.combine_chunks(), lower) for column in table.columns]
    names = [name.lower() if lower else name for name in table.column_names]
    return pa.table(columns, names=names)


def _plain_array(array: pa.Array, lower: bool) -> pa.Array:
    kind = array.type
    if pa.types.is_struct(kind):
        children = [_plain_array(child, lower) for child in array.flatten()]
        names = [kind.field(i).name for i in range(kind.num_fields)]
        names = [name.lower() for name in names] if lower else names
        return pa.StructArray.from_arrays(children, names=names, mask=array.is_null())
    if pa.types.is_large_list(kind) or pa.types.is_list(kind):
        offsets = array.offsets.cast(pa.int32())
        values = _plain_array(array.values, lower)
        return pa.ListArray.from_arrays(offsets, values, mask=array.is_null())
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return array.cast(pa.string())
    return array


def _pyarrow_parquet(frame: pl.DataFrame) -> bytes:
    """Parquet as Firehose and Glue write it: dictionary-encoded strings, snappy, 10k-row groups."""
    buffer = io.BytesIO()
    pq.write_table(
        _arrow_table(frame),
        buffer,
        row_group_size=PYARROW_ROW_GROUP,
        compression="snappy",
        use_dictionary=True,
        store_schema=False,
    )
    return buffer.getvalue()


def _write_file(
    url: str, chunk: pl.DataFrame, output: _Output, roster: _Roster, draws: _Draws
) -> GenerateSummary:
    data = encode_records(_records(chunk, roster, draws), output.shape)
    try:
        storage.write_bytes(url, data)
    except OSError as error:
        raise TimecardError(
            f"Could not write the generated events to {url}: {error}. "
            "Check that the output root exists or can be created, and that it is writable."
        ) from error
    type_counts = dict(chunk["event_type"].value_counts().iter_rows())
    return GenerateSummary(
        events=chunk.height,
        duplicates=int(chunk["is_copy"].sum()),
        files=1,
        bytes=len(data),
        event_types={name: type_counts.get(name, 0) for name in EVENT_TYPES},
    )


def _tally(total: GenerateSummary, part: GenerateSummary) -> None:
    total.events += part.events
    total.duplicates += part.duplicates
    total.files += part.files
    total.bytes += part.bytes
    for name, count in part.event_types.items():
        total.event_types[name] += count


def _epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _utc(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)
