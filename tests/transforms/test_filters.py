"""transforms/filters.py: which rows a user wants (values ORed within a kind, kinds ANDed), the
values a filter can take, and the closest ones to a value that matches nothing."""

from __future__ import annotations

import polars as pl
import pytest

from tests.builders import session_table
from transforms.filters import (
    Filters,
    closest,
    filter_expression,
    hierarchy_levels,
    known_values,
    unmatched,
)

SESSIONS = session_table(
    [
        dict(agent_arn="1", username="ana", routing_profile="Sales", hierarchy_1="Americas",
             hierarchy_2="Sales", hierarchy_3="East"),
        dict(agent_arn="2", username="bo", routing_profile="Billing", hierarchy_1="Americas",
             hierarchy_2="Billing"),
        dict(agent_arn="3", username="cy", routing_profile="Sales", hierarchy_1="EMEA"),
        dict(agent_arn="4", username="di", routing_profile=None),
    ]
)  # fmt: skip


def kept(filters: Filters) -> list[str]:
    return SESSIONS.filter(filter_expression(filters))["username"].to_list()


def test_values_are_trimmed_and_hierarchy_paths_level_by_level():
    filters = Filters(
        agents=(" ana ",), routing_profiles=("Sales ",), hierarchies=(" Americas / Sales ",)
    )
    assert filters.agents == ("ana",)
    assert filters.routing_profiles == ("Sales",)
    assert filters.hierarchies == ("Americas/Sales",)
    assert hierarchy_levels("/Americas//Sales/ ") == ["Americas", "Sales"]


def test_empty_filters_keep_every_row():
    assert Filters().is_empty()
    assert kept(Filters()) == ["ana", "bo", "cy", "di"]


@pytest.mark.parametrize(
    ("filters", "rows"),
    [
        (Filters(agents=("ana", "cy")), ["ana", "cy"]),  # one kind: ORed
        (Filters(routing_profiles=("Sales",)), ["ana", "cy"]),
        (Filters(agents=("bo",), routing_profiles=("Sales",)), []),  # two kinds: ANDed
        (Filters(agents=("ana", "bo"), routing_profiles=("Sales",)), ["ana"]),
        (Filters(hierarchies=("Americas",)), ["ana", "bo"]),  # a prefix matches deeper rows
        (Filters(hierarchies=("Americas/Sales",)), ["ana"]),
        (Filters(hierarchies=("Americas/Sales/East",)), ["ana"]),
        (Filters(hierarchies=("Americas/Sales/West",)), []),
        (Filters(hierarchies=("Sales",)), []),  # levels are matched from level 1
        (Filters(hierarchies=("EMEA", "Americas/Billing")), ["bo", "cy"]),
        (Filters(agents=("Ana",)), []),  # exact values: letter case counts
    ],
)
def test_filters_keep_exactly_the_matching_rows(filters, rows):
    assert kept(filters) == rows


def test_describe_and_as_dict():
    filters = Filters(agents=("b",), routing_profiles=("Billing", "Sales"))
    assert filters.describe() == "agents: b · routing profiles: Billing, Sales"
    assert Filters().describe() == "none"
    assert filters.as_dict() == {
        "agents": ["b"],
        "routing_profiles": ["Billing", "Sales"],
        "hierarchies": [],
    }


def test_filters_are_frozen_values():
    assert Filters(agents=(" a ",)) == Filters(agents=("a",))
    with pytest.raises(AttributeError):
        Filters().agents = ("x",)


def test_known_values_list_every_username_profile_and_hierarchy_prefix():
    assert known_values(SESSIONS) == {
        "agents": ["ana", "bo", "cy", "di"],
        "routing_profiles": ["Billing", "Sales"],
        "hierarchies": [
            "Americas",
            "Americas/Billing",
            "Americas/Sales",
            "Americas/Sales/East",
            "EMEA",
        ],
    }


def test_a_hierarchy_gap_ends_the_path():
    rows = SESSIONS.head(1).with_columns(
        pl.lit(None, pl.String).alias("hierarchy_2"), pl.lit("Deep").alias("hierarchy_4")
    )
    assert known_values(rows)["hierarchies"] == ["Americas"]


def test_unmatched_values_get_the_closest_known_ones():
    known = known_values(SESSIONS)
    filters = Filters(agents=("ana", "ann"), hierarchies=("americas / sales",))
    assert unmatched(filters, known) == {
        "agents": {"ann": closest("ann", known["agents"])},
        "hierarchies": {"americas/sales": closest("americas/sales", known["hierarchies"])},
    }
    assert closest("ann", known["agents"])[0] == "ana"
    # Letter case is ignored when ranking: the nearest path is the one that differs in case.
    assert closest("americas/sales", known["hierarchies"])[0] == "Americas/Sales"
    assert unmatched(Filters(agents=("bo",)), known) == {}


def test_closest_gives_at_most_the_limit_most_similar_first():
    candidates = [f"agent-{n:02d}" for n in range(30)]
    found = closest("agent-7", candidates)
    assert len(found) == 10
    assert found[0] == "agent-07"
    assert closest("x", ["b", "a"], limit=5) == ["a", "b"]  # ties: alphabetical
