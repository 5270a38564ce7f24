"""The filter pickers' values come from the condensed attributes, recent days only."""

from __future__ import annotations

from datetime import date

from tests.builders import event, write_ndjson
from timecard.condensed import DayCache
from timecard.known_values import known_filter_values
from timecard.settings import get_settings


def condense_attributes(days: dict[str, list[dict]]) -> None:
    settings = get_settings()
    for day, records in days.items():
        write_ndjson(settings.events_root, day, records)
        DayCache(settings.events_root, settings.cache_root).part(
            date.fromisoformat(day), "attributes"
        )


def test_the_values_are_those_of_the_recent_condensed_days(timecard_home):
    condense_attributes(
        {
            "2026-08-01": [event("LOGIN", "2026-08-01T08:00:00Z", "old", routing_profile="Gone")],
            "2026-11-01": [
                event("LOGIN", "2026-11-01T08:00:00Z", "ana", routing_profile="Billing"),
                event("LOGOUT", "2026-11-01T09:00:00Z", "bo", hierarchy=("EMEA", "Paris", None)),
            ],
            "2026-11-02": [event("LOGIN", "2026-11-02T08:00:00Z", "cy", hierarchy=None)],
        }
    )
    assert known_filter_values() == {
        "agents": ["ana", "bo", "cy"],
        "routing_profiles": ["Billing", "Sales Inbound"],
        "hierarchies": ["Americas", "Americas/Sales", "EMEA", "EMEA/Paris"],
    }


def test_an_empty_cache_offers_nothing(timecard_home):
    assert known_filter_values() == {"agents": [], "routing_profiles": [], "hierarchies": []}
