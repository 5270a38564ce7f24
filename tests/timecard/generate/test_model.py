"""timecard.generate.model: the shares that are weights add up, and names are consistent."""

from __future__ import annotations

import math

from timecard.generate.model import (
    CONFIGURATION_DTYPE,
    GENERAL_PROFILES,
    KOREAN_PROFILE,
    MAX_DELIVERY_MS,
    REDELIVERY_DELAY_MS,
    ROMANIZED,
    ROUTING_PROFILES,
    SHIFT_KINDS,
    SITES,
    SLOW_DELAY_MS,
)


def test_weights_add_up_to_one():
    assert math.isclose(sum(site.share for site in SITES), 1)
    assert math.isclose(sum(kind[0] for kind in SHIFT_KINDS), 1)


def test_names_and_profiles_are_consistent():
    seoul = next(site for site in SITES if site.city == "Seoul")
    assert set(seoul.given_names + seoul.family_names) <= set(ROMANIZED)
    assert KOREAN_PROFILE in ROUTING_PROFILES and KOREAN_PROFILE not in GENERAL_PROFILES
    assert SLOW_DELAY_MS[1] + REDELIVERY_DELAY_MS[1] == MAX_DELIVERY_MS
    assert [field.name for field in CONFIGURATION_DTYPE.fields] == sorted(
        field.name for field in CONFIGURATION_DTYPE.fields
    )
