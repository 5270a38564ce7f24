"""The roster: each agent's site, names, routing profile, hierarchy and shift pattern, made in
Python with one random stream per agent, and the configurations every record carries."""

from __future__ import annotations

import random
import unicodedata
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from timecard.generate.model import (
    ACCOUNT_ID,
    CONFIGURATION_DTYPE,
    GENERAL_PROFILES,
    HIERARCHY_DEPTH_WEIGHTS,
    HIERARCHY_NULL_SHARE,
    KOREAN_PROFILE,
    KOREAN_PROFILE_SHARE,
    OUTBOUND_QUEUE,
    PROFICIENCIES,
    PROFICIENCY_SHARE,
    QUEUE_DTYPE,
    REGION,
    ROMANIZED,
    ROUTING_PROFILES,
    SHIFT_KINDS,
    SITES,
    STATUSES,
    USERNAME_NUMBERED_SHARE,
    WEEKEND_OFF_SHARE,
    Site,
)


@dataclass(frozen=True)
class Agent:
    time_zone: ZoneInfo
    shift_start_hour: float  # local
    days_off: frozenset[int]  # weekday numbers


@dataclass(frozen=True)
class Roster:
    agents: tuple[Agent, ...]
    instance_arn: str
    agent_arns: pl.Series
    configurations: pl.Series
    previous_configurations: pl.Series  # the same agents before a routing-profile change
    both_configurations: pl.Series  # configurations, then previous_configurations
    status_arns: pl.Series
    queues: pl.Series  # the inbound queues contacts come from


@dataclass(frozen=True)
class _Instance:
    """The Connect instance: its ARN, and stable ARNs for the resources it names."""

    instance_id: uuid.UUID

    @property
    def arn(self) -> str:
        return f"arn:aws:connect:{REGION}:{ACCOUNT_ID}:instance/{self.instance_id}"

    def resource_arn(self, kind: str, name: str) -> str:
        # Named resources get stable ids, so each appears with one ARN wherever it is used.
        return f"{self.arn}/{kind}/{uuid.uuid5(self.instance_id, f'{kind}/{name}')}"

    def queue(self, name: str) -> dict:
        return {"ARN": self.resource_arn("queue", name), "Channels": ["VOICE"], "Name": name}

    def profile(self, name: str, own_queue: dict) -> dict:
        """A routing profile; the agent's own queue comes first among its inbound queues."""
        return {
            "ARN": self.resource_arn("routing-profile", name),
            "Concurrency": [
                {"AvailableSlots": 1, "Channel": "VOICE", "MaximumSlots": 1},
                {"AvailableSlots": 2, "Channel": "CHAT", "MaximumSlots": 2},
            ],
            "DefaultOutboundQueue": self.queue(OUTBOUND_QUEUE),
            "InboundQueues": [own_queue] + [self.queue(queue) for queue in ROUTING_PROFILES[name]],
            "Name": name,
        }


def make_roster(agent_count: int, seed: int) -> Roster:
    """`agent_count` agents, the same for the same seed (agent i does not depend on the count)."""
    instance = _Instance(
        uuid.UUID(int=random.Random(f"{seed}/instance").getrandbits(128), version=4)
    )
    agents, agent_arns, configurations, previous_configurations = [], [], [], []
    usernames: set[str] = set()
    for index in range(agent_count):
        rng = random.Random(f"{seed}/agent/{index}")
        agent_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        site, current, previous = _configurations(index, agent_id, instance, usernames, rng)
        configurations.append(current)
        previous_configurations.append(previous)
        agent_arns.append(f"{instance.arn}/agent/{agent_id}")
        agents.append(_shift_pattern(site, rng))
    now = pl.Series(configurations, dtype=CONFIGURATION_DTYPE)
    before = pl.Series(previous_configurations, dtype=CONFIGURATION_DTYPE)
    return Roster(
        agents=tuple(agents),
        instance_arn=instance.arn,
        agent_arns=pl.Series(agent_arns, dtype=pl.String),
        configurations=now,
        previous_configurations=before,
        both_configurations=pl.concat([now, before]).rechunk(),
        status_arns=pl.Series([instance.resource_arn("agent-state", name) for name, _ in STATUSES]),
        queues=pl.Series(
            [{"ARN": instance.resource_arn("queue", name), "Name": name} for name in all_queues()],
            dtype=QUEUE_DTYPE,
        ),
    )


def _configurations(
    index: int, agent_id: uuid.UUID, instance: _Instance, usernames: set[str], rng: random.Random
) -> tuple[Site, dict, dict]:
    """The agent's site, and configuration now and before a routing-profile change (the next
    profile in the list)."""
    site = rng.choices(SITES, weights=[site.share for site in SITES])[0]
    given, family = rng.choice(site.given_names), rng.choice(site.family_names)
    if site.city == "Seoul" and rng.random() < KOREAN_PROFILE_SHARE:
        profile_name = KOREAN_PROFILE
    else:
        profile_name = rng.choice(GENERAL_PROFILES)
    hierarchy = _hierarchy(site, instance, rng)
    proficiencies = None
    if rng.random() < PROFICIENCY_SHARE:
        proficiencies = [
            {"Level": float(rng.randint(1, 5)), "Name": name, "Value": value}
            for name, value in PROFICIENCIES[: rng.randint(1, len(PROFICIENCIES))]
        ]
    # The agent's personal queue, which has no name, routes to the agent on every channel.
    own_queue = {
        "ARN": f"{instance.arn}/queue/agent/{agent_id}",
        "Channels": ["VOICE", "CHAT"],
        "Name": None,
    }
    configuration = {
        "AgentHierarchyGroups": hierarchy,
        "FirstName": given,
        "LastName": family,
        "Proficiencies": proficiencies,
        "RoutingProfile": instance.profile(profile_name, own_queue),
        "Username": _username(index, given, family, usernames, rng),
    }
    names = list(ROUTING_PROFILES)
    earlier_name = names[(names.index(profile_name) + 1) % len(names)]
    previous = {**configuration, "RoutingProfile": instance.profile(earlier_name, own_queue)}
    return site, configuration, previous


def _hierarchy(site: Site, instance: _Instance, rng: random.Random) -> dict | None:
    if rng.random() < HIERARCHY_NULL_SHARE:
        return None
    depth = rng.choices(range(1, 6), weights=HIERARCHY_DEPTH_WEIGHTS)[0]
    path = (
        site.region,
        site.city,
        f"Team {rng.randint(1, 4)}",
        f"Squad {rng.choice('ABC')}",
        f"Pod {rng.randint(1, 2)}",
    )[:depth]
    hierarchy: dict[str, dict | None] = {f"Level{level}": None for level in range(1, 6)}
    for level in range(1, depth + 1):
        hierarchy[f"Level{level}"] = {
            "ARN": instance.resource_arn("agent-group", "/".join(path[:level])),
            "Name": path[level - 1],
        }
    return hierarchy


def _shift_pattern(site: Site, rng: random.Random) -> Agent:
    _, earliest, latest = rng.choices(SHIFT_KINDS, weights=[kind[0] for kind in SHIFT_KINDS])[0]
    saturday = 5
    first_off = saturday if rng.random() < WEEKEND_OFF_SHARE else rng.randrange(7)
    return Agent(
        time_zone=ZoneInfo(site.time_zone),
        shift_start_hour=earliest + rng.randrange(int((latest - earliest) * 4) + 1) / 4,
        days_off=frozenset({first_off, (first_off + 1) % 7}),
    )


def all_queues() -> list[str]:
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
    name = ROMANIZED.get(name, name)
    decomposed = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(char for char in decomposed.lower() if "a" <= char <= "z")
