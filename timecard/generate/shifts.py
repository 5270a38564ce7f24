"""The shift plan: one row per session, planned one local day at a time with one random stream
per agent-day, so a day's sessions do not depend on which other days are planned."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from timecard.generate.model import (
    ABSENCE_SHARE,
    DAY_MS,
    HOUR_MS,
    MAX_DELIVERY_MS,
    NO_LOGOUT_SHARE,
    RELOGIN_SHARE,
)
from timecard.generate.roster import Agent

SESSION_SCHEMA = {
    "session_key": pl.UInt64,
    "agent": pl.UInt32,
    "login_ms": pl.Int64,
    "end_ms": pl.Int64,
    "logs_out": pl.Boolean,
    "changes": pl.Int64,
}
_Row = tuple[int, int, int, int, bool, int]


def plan_day(agents: tuple[Agent, ...], day: date, seed: int) -> pl.DataFrame:
    """The sessions of every agent starting on local `day`. A session's key depends only on
    (agent, local date, segment)."""
    rows: list[_Row] = []
    for index, agent in enumerate(agents):
        rows.extend(_agent_day(index, agent, day, seed))
    return pl.DataFrame(rows, orient="row", schema=SESSION_SCHEMA)


def _agent_day(index: int, agent: Agent, day: date, seed: int) -> list[_Row]:
    rng = random.Random(f"{seed}/shift/{index}/{day.isoformat()}")
    if day.weekday() in agent.days_off or rng.random() < ABSENCE_SHARE:
        return []
    local_start = datetime.combine(day, time(), agent.time_zone) + timedelta(
        hours=agent.shift_start_hour, minutes=rng.uniform(-15, 15)
    )
    login_ms = epoch_ms(local_start)
    length_ms = rng.randint(8 * HOUR_MS, 9 * HOUR_MS)
    end_ms = login_ms + length_ms
    rate = rng.uniform(2.5, 7.5) / HOUR_MS  # state changes per ms: 20 to 60 per shift

    def session(key: int, start_ms: int, stop_ms: int, logs_out: bool) -> _Row:
        changes = max(2, round(rate * (stop_ms - start_ms)))
        return (key, index, start_ms, stop_ms, logs_out, changes)

    # Room for 2 segments a day and 2**24 events a session; MAX_AGENTS keeps it in 64 bits.
    key = ((index << 20) + day.toordinal()) << 1
    variant = rng.random()
    if variant < NO_LOGOUT_SHARE:
        return [session(key, login_ms, end_ms, False)]
    if variant < NO_LOGOUT_SHARE + RELOGIN_SHARE:  # the browser crashed: a LOGIN without LOGOUT
        crash_ms = login_ms + int(length_ms * rng.uniform(0.2, 0.8))
        relogin_ms = crash_ms + rng.randint(60_000, 600_000)
        return [session(key, login_ms, crash_ms, False), session(key + 1, relogin_ms, end_ms, True)]
    return [session(key, login_ms, end_ms, True)]


def epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


class ShiftPlan:
    """The sessions that can deliver into a UTC day, planned a local day at a time: at most the
    four local days around the day are held (no time zone is more than 14 hours from UTC)."""

    def __init__(self, agents: tuple[Agent, ...], seed: int) -> None:
        self.agents, self.seed = agents, seed
        self.days: dict[date, pl.DataFrame] = {}

    def sessions(self, day_start_ms: int) -> pl.DataFrame:
        day = datetime.fromtimestamp(day_start_ms / 1000, UTC).date()
        wanted = [day + timedelta(days=offset) for offset in (-2, -1, 0, 1)]
        self.days = {
            local: self.days[local]
            if local in self.days
            else plan_day(self.agents, local, self.seed)
            for local in wanted
        }
        return pl.concat(self.days.values()).filter(
            pl.col("login_ms") < day_start_ms + DAY_MS,
            pl.col("end_ms") >= day_start_ms - MAX_DELIVERY_MS,
        )
