"""timecard.generate.roster: agents, their configurations and shift patterns."""

from __future__ import annotations

from timecard.generate.model import CONFIGURATION_DTYPE, STATUSES
from timecard.generate.roster import all_queues, make_roster


def test_an_agent_does_not_depend_on_the_size_of_the_roster():
    small, large = make_roster(5, 3), make_roster(50, 3)
    assert small.instance_arn == large.instance_arn
    assert small.agent_arns.to_list() == large.agent_arns.head(5).to_list()
    assert small.configurations.to_list() == large.configurations.head(5).to_list()
    assert small.agents == large.agents[:5]


def test_configurations_hold_a_profile_before_and_after_a_change():
    roster = make_roster(40, 8)
    assert roster.configurations.dtype == CONFIGURATION_DTYPE
    for now, before in zip(
        roster.configurations.to_list(), roster.previous_configurations.to_list(), strict=True
    ):
        assert now["Username"] == before["Username"]
        assert now["RoutingProfile"]["Name"] != before["RoutingProfile"]["Name"]
        # The agent's own queue, with no name, comes first in both.
        assert (
            now["RoutingProfile"]["InboundQueues"][0]
            == before["RoutingProfile"]["InboundQueues"][0]
        )
        assert now["RoutingProfile"]["InboundQueues"][0]["Name"] is None
    assert roster.status_arns.len() == len(STATUSES)
    assert roster.queues.struct.field("Name").to_list() == all_queues()


def test_usernames_are_unique_lowercase_ascii():
    roster = make_roster(500, 0)
    names = roster.configurations.struct.field("Username").to_list()
    assert len(set(names)) == len(names)
    assert all(
        name.replace(".", "").isalnum() and name.isascii() and name == name.lower()
        for name in names
    )
    # Hangul is romanized, accents and apostrophes dropped.
    families = {name.split(".")[-1].rstrip("0123456789") for name in names}
    assert {"kim", "lee", "park", "obrien", "muller"} <= families
    assert not any("'" in name for name in names)


def test_shift_patterns_have_two_consecutive_days_off():
    for agent in make_roster(100, 4).agents:
        first, second = sorted(agent.days_off)
        assert second - first in (1, 6)
        assert 6.75 <= agent.shift_start_hour <= 23
