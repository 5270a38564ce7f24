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
came before it.

Speed and determinism. The roster and the shift plan (one row per session) are made in Python with
one random stream per agent and per agent-day; everything per event is vectorized in Polars, one
arrival day at a time. Per-event randomness hashes a stable event key with a seed per purpose, so
nothing depends on processing order: the same arguments give byte-identical files, and a day's
partition is the same whatever `start` and `days` surround it. (Polars guarantees its hash within
one version only, which the pinned requirements fix.)
"""

from __future__ import annotations

import io
import random
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

from timecard import storage
from timecard.errors import TimecardError, UsageError

Format = Literal["parquet", "ndjson"]
Layout = Literal["date", "ymd", "firehose"]
FORMATS: tuple[Format, ...] = ("parquet", "ndjson")
LAYOUTS: tuple[Layout, ...] = ("date", "ymd", "firehose")
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
# Files cover a span of arrival time: a few per daily partition, or one per Firehose buffer.
FILE_SPAN_MS: dict[Layout, int] = {"date": 6 * HOUR_MS, "ymd": 6 * HOUR_MS, "firehose": 900_000}

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
_HIERARCHY = pl.Struct({f"Level{level}": _QUEUE for level in range(1, 6)})
CONFIGURATION_DTYPE = pl.Struct(
    {
        "AgentHierarchyGroups": _HIERARCHY,
        "FirstName": pl.String,
        "LastName": pl.String,
        "Username": pl.String,
        "RoutingProfile": pl.Struct(
            {
                "ARN": pl.String,
                "Name": pl.String,
                "DefaultOutboundQueue": _QUEUE,
                "InboundQueues": pl.List(_QUEUE),
            }
        ),
    }
)
# The stream's contact entries; always empty here, but typed so Parquet readers see the real shape.
CONTACTS_DTYPE = pl.List(
    pl.Struct(
        {
            "ContactId": pl.String,
            "InitialContactId": pl.String,
            "Channel": pl.String,
            "InitiationMethod": pl.String,
            "State": pl.String,
            "StateStartTimestamp": pl.String,
            "ConnectedToAgentTimestamp": pl.String,
            "QueueTimestamp": pl.String,
            "Queue": _QUEUE,
        }
    )
)
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
    status_arns: pl.Series


def generate_events(
    out_root: str,
    *,
    agents: int,
    start: date,
    days: int,
    seed: int = 0,
    fmt: Format = "parquet",
    layout: Layout = "date",
) -> GenerateSummary:
    """Write the arrivals of `days` UTC days from `start` for `agents` agents under `out_root`."""
    _validate(agents=agents, start=start, days=days, seed=seed, fmt=fmt, layout=layout)
    roster = _make_roster(agents, seed)
    # Shifts of the two days before `start` still deliver into its first partition.
    sessions = _plan_sessions(roster.agents, start - timedelta(days=2), days + 3, seed)
    output = _Output(out_root, fmt, layout, seed)
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


def _validate(*, agents: int, start: date, days: int, seed: int, fmt: str, layout: str) -> None:
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
    if fmt not in FORMATS:
        raise UsageError(f"The format must be one of {', '.join(FORMATS)}; got {fmt!r}.")
    if layout not in LAYOUTS:
        raise UsageError(f"The layout must be one of {', '.join(LAYOUTS)}; got {layout!r}.")


# --- roster and shift plan (Python: one row per agent or session) -----------------------------


def _make_roster(agent_count: int, seed: int) -> _Roster:
    instance_id = uuid.UUID(int=random.Random(f"{seed}/instance").getrandbits(128), version=4)
    instance_arn = f"arn:aws:connect:{REGION}:{ACCOUNT_ID}:instance/{instance_id}"

    def arn(kind: str, name: str) -> str:
        # Named resources get stable ids, so each appears with one ARN wherever it is used.
        return f"{instance_arn}/{kind}/{uuid.uuid5(instance_id, f'{kind}/{name}')}"

    def named(kind: str, name: str) -> dict[str, str]:
        return {"ARN": arn(kind, name), "Name": name}

    profiles = {
        name: {
            **named("routing-profile", name),
            "DefaultOutboundQueue": named("queue", OUTBOUND_QUEUE),
            "InboundQueues": [named("queue", queue) for queue in queues],
        }
        for name, queues in ROUTING_PROFILES.items()
    }
    agents, agent_arns, configurations = [], [], []
    usernames: set[str] = set()
    for index in range(agent_count):
        rng = random.Random(f"{seed}/agent/{index}")
        site = rng.choices(SITES, weights=[site.share for site in SITES])[0]
        given, family = rng.choice(site.given_names), rng.choice(site.family_names)
        if site.city == "Seoul" and rng.random() < KOREAN_PROFILE_SHARE:
            profile = KOREAN_PROFILE
        else:
            profile = rng.choice(GENERAL_PROFILES)
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
        configurations.append(
            {
                "AgentHierarchyGroups": hierarchy,
                "FirstName": given,
                "LastName": family,
                "Username": _username(index, given, family, usernames, rng),
                "RoutingProfile": profiles[profile],
            }
        )
        agent_id = uuid.UUID(int=rng.getrandbits(128), version=4)
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
        status_arns=pl.Series([arn("agent-state", name) for name, _ in STATUSES]),
    )


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

    Columns: agent, event_ms, event_type, status, status_start_ms, key (unique per event).
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
        # Heartbeats fill each gap up to the next anchor of the same session, 120 s apart.
        heartbeats=pl.when(session.shift(-1) == session)
        .then((pl.col("event_ms").shift(-1) - pl.col("event_ms") - 1) // HEARTBEAT_MS)
        .otherwise(0),
    )
    columns = ["agent", "event_ms", "event_type", "status", "status_start_ms", "key"]
    heartbeats = (
        anchors.filter(pl.col("heartbeats") > 0)
        .with_columns(beat=pl.int_ranges(1, pl.col("heartbeats") + 1))
        .explode("beat")
        .with_columns(
            event_ms=pl.col("event_ms") + pl.col("beat") * HEARTBEAT_MS,
            event_type=pl.lit("HEART_BEAT"),
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
    """Agent event stream records, shaped like the Connect JSON."""
    status = pl.col("status")
    return events.select(
        AWSAccountId=pl.lit(ACCOUNT_ID),
        AgentARN=pl.lit(roster.agent_arns).gather("agent"),
        CurrentAgentSnapshot=pl.struct(
            AgentStatus=pl.struct(
                ARN=pl.lit(roster.status_arns).gather(status),
                Name=pl.lit(pl.Series([name for name, _ in STATUSES])).gather(status),
                StartTimestamp=_iso_ms(pl.col("status_start_ms")),
                Type=pl.lit(pl.Series([kind for _, kind in STATUSES])).gather(status),
            ),
            Configuration=pl.lit(roster.configurations).gather("agent"),
            Contacts=pl.lit([], dtype=CONTACTS_DTYPE),
        ),
        EventId=_uuid4(pl.col("key"), draws),
        EventTimestamp=_iso_ms(pl.col("event_ms")),
        EventType=pl.col("event_type"),
        InstanceARN=pl.lit(roster.instance_arn),
        Version=pl.lit(EVENT_VERSION),
    )


def _iso_ms(epoch_ms: pl.Expr) -> pl.Expr:
    return pl.from_epoch(epoch_ms, time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")


def _uuid4(key: pl.Expr, draws: _Draws) -> pl.Expr:
    """A random-looking version 4 UUID string per key (the same for both deliveries)."""
    high, low = draws.bits(key, "event id high"), draws.bits(key, "event id low")

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
    fmt: Format
    layout: Layout
    seed: int

    def url(self, day_start_ms: int, file_start_ms: int, first_arrival_ms: int) -> str:
        start = _utc(file_start_ms)
        if self.layout == "firehose":
            # Firehose's own naming: stream, version, time of the first record, a random id.
            object_bits = random.Random(f"{self.seed}/{file_start_ms}").getrandbits(128)
            object_id = uuid.UUID(int=object_bits, version=4)
            name = f"{FIREHOSE_STREAM}-1-{_utc(first_arrival_ms):%Y-%m-%d-%H-%M-%S}-{object_id}"
            # Firehose adds no extension to gzip'd NDJSON objects here; Parquet keeps its own.
            suffix = ".parquet" if self.fmt == "parquet" else ""
            return storage.join(self.root, f"{start:%Y/%m/%d/%H}", name + suffix)
        if self.layout == "date":
            folder = f"date={start:%Y-%m-%d}"
        else:
            folder = f"{start:year=%Y/month=%m/day=%d}"
        index = (file_start_ms - day_start_ms) // FILE_SPAN_MS[self.layout]
        suffix = ".parquet" if self.fmt == "parquet" else ".json.gz"
        return storage.join(self.root, folder, f"part-{index:05d}{suffix}")

    def serialize(self, records: pl.DataFrame) -> bytes:
        buffer = io.BytesIO()
        if self.fmt == "parquet":
            records.write_parquet(buffer, compression="zstd", compression_level=1)
        else:
            records.write_ndjson(buffer, compression="gzip")  # no time in the header: reruns match
        return buffer.getvalue()


def _files(
    sessions: pl.DataFrame, start: date, days: int, output: _Output, draws: _Draws
) -> Iterator[tuple[str, pl.DataFrame]]:
    """Each file's URL and events, one arrival day at a time."""
    span_ms = FILE_SPAN_MS[output.layout]
    stream_start_ms = _epoch_ms(datetime.combine(start, time(), UTC))
    for day_start_ms in range(stream_start_ms, stream_start_ms + days * DAY_MS, DAY_MS):
        events = _expand(sessions, day_start_ms, draws)
        delivered = _deliver(events, day_start_ms, stream_start_ms, draws)
        # Spans divide a day evenly, so whole multiples of a span since the epoch align with days.
        files = delivered.with_columns(file_start_ms=pl.col("arrival_ms") // span_ms * span_ms)
        for (file_start_ms,), chunk in files.partition_by(
            "file_start_ms", maintain_order=True, as_dict=True
        ).items():
            url = output.url(day_start_ms, file_start_ms, chunk["arrival_ms"].min())
            yield url, chunk


def _write_file(
    url: str, chunk: pl.DataFrame, output: _Output, roster: _Roster, draws: _Draws
) -> GenerateSummary:
    data = output.serialize(_records(chunk, roster, draws))
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
