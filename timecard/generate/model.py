"""The model's constants: the instance, sites, statuses, routing profiles, shares and the record
types. Data only; the other modules of the generator read it."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

# The largest roster and the longest stream `generate_events` accepts. Memory does not grow with
# either (the stream is written as it is made); the bound keeps session keys in 64 bits.
MAX_AGENTS = 50_000
MAX_DAYS = 366

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
class Site:
    time_zone: str
    region: str  # hierarchy level 1
    city: str  # hierarchy level 2
    share: float
    given_names: tuple[str, ...]
    family_names: tuple[str, ...]


KOREAN_GIVEN = ("민준", "서연", "지호", "하은", "도윤", "지우", "예준", "수아", "현우", "지민")
KOREAN_FAMILY = ("김", "이", "박", "최", "정", "강", "조", "윤", "장", "임")
# Hangul has no ASCII decomposition: usernames use these romanizations.
ROMANIZED = dict(
    zip(
        KOREAN_GIVEN + KOREAN_FAMILY,
        ("minjun", "seoyeon", "jiho", "haeun", "doyun", "jiwoo", "yejun", "sua", "hyunwoo", "jimin")
        + ("kim", "lee", "park", "choi", "jung", "kang", "cho", "yoon", "jang", "lim"),
        strict=True,
    )
)
SITES = (
    Site("Asia/Seoul", "APAC", "Seoul", 0.25, KOREAN_GIVEN, KOREAN_FAMILY),
    Site(
        "America/New_York",
        "Americas",
        "New York",
        0.25,
        ("Michael", "Sofía", "Ethan", "Madison", "Jamal", "Ava", "Carlos", "Emily", "Renée"),
        ("Johnson", "Rodríguez", "Williams", "Davis", "Hernández", "Miller", "Smith, Jr.", "Núñez"),
    ),
    Site(
        "Europe/London",
        "EMEA",
        "London",
        0.2,
        ("Oliver", "Siobhán", "José", "Zoë", "Björn", "François", "Chloé", "Amélie", "Jürgen"),
        ("O'Brien", "Müller", "García", "Dubois", "Taylor", "Jones", "Lefèvre", "D'Angelo"),
    ),
    Site(
        "Asia/Kolkata",
        "APAC",
        "Bengaluru",
        0.2,
        ("Aarav", "Priya", "Ananya", "Rohan", "Vikram", "Sneha", "Arjun", "Kavya"),
        ("Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Singh"),
    ),
    Site(
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

QUEUE_DTYPE = pl.Struct({"ARN": pl.String, "Name": pl.String})
CHANNEL_QUEUE_DTYPE = pl.Struct(
    {"ARN": pl.String, "Channels": pl.List(pl.String), "Name": pl.String}
)
HIERARCHY_DTYPE = pl.Struct({f"Level{level}": QUEUE_DTYPE for level in range(1, 6)})
# As real records order them; Proficiencies is null where the agent has none.
CONFIGURATION_DTYPE = pl.Struct(
    {
        "AgentHierarchyGroups": HIERARCHY_DTYPE,
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
                "DefaultOutboundQueue": CHANNEL_QUEUE_DTYPE,
                # The agent's own queue comes first, with a null Name.
                "InboundQueues": pl.List(CHANNEL_QUEUE_DTYPE),
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
            "Queue": QUEUE_DTYPE,
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
