"""Records: events shaped as Amazon Connect agent event stream records (CamelCase structs, in
real records' key order), with the full CurrentAgentSnapshot every record carries."""

from __future__ import annotations

import polars as pl

from timecard.generate.draws import Draws
from timecard.generate.model import (
    ACCOUNT_ID,
    CONTACT_SHARE,
    CONTACT_STATES,
    CONTACTS_DTYPE,
    EVENT_VERSION,
    FIRST_AWAY,
    NEXT_STATUS_SHARE,
    PROFILE_CHANGE_SHARE,
    STATUSES,
)
from timecard.generate.roster import Roster

_HEX4 = pl.Series([f"{value:04x}" for value in range(1 << 16)])
_NAMES = pl.Series([name for name, _ in STATUSES])
_KINDS = pl.Series([kind for _, kind in STATUSES])


def records(events: pl.DataFrame, roster: Roster, draws: Draws) -> pl.DataFrame:
    """The record of each event (one row each, in order).

    PreviousAgentSnapshot is null on LOGIN and LOGOUT ("not applicable", as documented); on other
    events it holds the status before the event and, now and then, another routing profile. The
    JSON shapes leave some of these nulls out (see `shapes.encode_records`).
    """
    key = pl.col("key")
    is_activity = pl.col("event_type").is_in(["HEART_BEAT", "STATE_CHANGE"])
    # One gather from both lists: the second half holds each agent before a profile change.
    changed = draws.uniform(key, "profile change") < PROFILE_CHANGE_SHARE
    previous_configuration = pl.lit(roster.both_configurations).gather(
        pl.col("agent") + changed.cast(pl.UInt32) * roster.configurations.len()
    )
    contacts = _contacts(is_activity, roster, draws)
    return events.select(
        AWSAccountId=pl.lit(ACCOUNT_ID),
        AgentARN=pl.lit(roster.agent_arns).gather("agent"),
        CurrentAgentSnapshot=pl.struct(
            AgentStatus=_agent_status(roster, pl.col("status"), pl.col("status_start_ms")),
            NextAgentStatus=_next_status(is_activity, roster, draws),
            Configuration=pl.lit(roster.configurations).gather("agent"),
            Contacts=contacts,
        ),
        EventId=uuid4(key, draws),
        EventTimestamp=iso_ms(pl.col("event_ms")),
        EventType=pl.col("event_type"),
        InstanceARN=pl.lit(roster.instance_arn),
        PreviousAgentSnapshot=pl.when(is_activity).then(
            pl.struct(
                AgentStatus=_agent_status(
                    roster, pl.col("previous_status"), pl.col("previous_start_ms")
                ),
                Configuration=previous_configuration,
                Contacts=contacts,
            )
        ),
        Version=pl.lit(EVENT_VERSION),
    )


def _agent_status(roster: Roster, index: pl.Expr, start_ms: pl.Expr) -> pl.Expr:
    return pl.struct(
        ARN=pl.lit(roster.status_arns).gather(index),
        Name=pl.lit(_NAMES).gather(index),
        StartTimestamp=iso_ms(start_ms),
        Type=pl.lit(_KINDS).gather(index),
    )


def _next_status(is_activity: pl.Expr, roster: Roster, draws: Draws) -> pl.Expr:
    """Now and then a status change is queued."""
    key = pl.col("key")
    away_kinds = len(STATUSES) - FIRST_AWAY
    away = FIRST_AWAY + (draws.uniform(key, "next status") * away_kinds).cast(pl.Int64)
    queued_ms = pl.col("event_ms") - draws.between(key, "queued for", (1_000, 60_000))
    # Connect's documentation spells this key both ways; records carry one of them.
    old_spelling = draws.uniform(key, "spelling") < 0.5
    return pl.when(is_activity & (draws.uniform(key, "queued") < NEXT_STATUS_SHARE)).then(
        pl.struct(
            ARN=pl.lit(roster.status_arns).gather(away),
            Name=pl.lit(_NAMES).gather(away),
            EnqueueTimestamp=pl.when(old_spelling).then(iso_ms(queued_ms)),
            EnqueuedTimestamp=pl.when(~old_spelling).then(iso_ms(queued_ms)),
        )
    )


def _contacts(is_activity: pl.Expr, roster: Roster, draws: Draws) -> pl.Expr:
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
        ConnectedToAgentTimestamp=pl.when(reached_agent).then(iso_ms(started_ms + 20_000)),
        ContactId=uuid4(key, draws, "contact"),
        InitialContactId=pl.lit(None, pl.String),
        InitiationMethod=pl.when(inbound).then(pl.lit("INBOUND")).otherwise(pl.lit("OUTBOUND")),
        Queue=queue,
        QueueTimestamp=pl.when(inbound & (state != "ERROR")).then(iso_ms(started_ms)),
        State=state,
        StateStartTimestamp=iso_ms(started_ms + 30_000),
    )
    has_contact = is_activity & (draws.uniform(key, "contact") < CONTACT_SHARE)
    return (
        pl.when(has_contact)
        .then(pl.concat_list(contact))
        .otherwise(pl.lit([], dtype=CONTACTS_DTYPE))
        .cast(CONTACTS_DTYPE)
    )


def iso_ms(epoch_ms: pl.Expr) -> pl.Expr:
    return pl.from_epoch(epoch_ms, time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")


def uuid4(key: pl.Expr, draws: Draws, purpose: str = "event id") -> pl.Expr:
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
