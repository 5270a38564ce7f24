"""timecard.generate.shifts: a day's sessions do not depend on the days planned around it."""

from __future__ import annotations

from datetime import date

import polars as pl

from timecard.generate.model import DAY_MS, MAX_DELIVERY_MS
from timecard.generate.roster import make_roster
from timecard.generate.shifts import SESSION_SCHEMA, ShiftPlan, plan_day

MONDAY = date(2026, 11, 2)
MONDAY_MS = 1_793_577_600_000


def test_a_day_is_planned_the_same_alone_or_in_a_plan():
    agents = make_roster(60, 2).agents
    alone = plan_day(agents, MONDAY, 2)
    assert alone.schema == pl.Schema(SESSION_SCHEMA)
    assert alone.height > 30  # most agents work on a Monday
    plan = ShiftPlan(agents, 2)
    sessions = plan.sessions(MONDAY_MS + DAY_MS)  # plans Sunday to Wednesday
    monday = sessions.filter(pl.col("session_key") % (1 << 21) // 2 == MONDAY.toordinal())
    assert monday.sort("session_key").equals(
        alone.filter(pl.col("end_ms") >= MONDAY_MS + DAY_MS - MAX_DELIVERY_MS).sort("session_key")
    )


def test_the_plan_holds_four_local_days_and_every_session_that_can_deliver_into_the_day():
    agents = make_roster(40, 6).agents
    plan = ShiftPlan(agents, 6)
    for offset in range(5):
        day_ms = MONDAY_MS + offset * DAY_MS
        sessions = plan.sessions(day_ms)
        assert len(plan.days) == 4
        assert (sessions["login_ms"] < day_ms + DAY_MS).all()
        assert (sessions["end_ms"] >= day_ms - MAX_DELIVERY_MS).all()
    # Planning a wider range finds no other session delivering into the last day.
    wide = pl.concat(
        plan_day(agents, date.fromordinal(MONDAY.toordinal() + d), 6) for d in range(-3, 8)
    ).filter(pl.col("login_ms") < day_ms + DAY_MS, pl.col("end_ms") >= day_ms - MAX_DELIVERY_MS)
    assert wide.sort("session_key").equals(sessions.sort("session_key"))


def test_relogins_split_a_shift_in_two_sessions_and_some_never_log_out():
    sessions = plan_day(make_roster(300, 1).agents, MONDAY, 1)
    assert (sessions["session_key"] % 2 == 1).any()  # a second segment
    assert (~sessions["logs_out"]).any()
    assert (sessions["changes"] >= 2).all()
