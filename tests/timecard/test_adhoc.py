"""The ad hoc form: its parameters as a ReportSpec and window, or a refusal that names the
parameter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from timecard import adhoc
from timecard.errors import UsageError
from timecard.publishing import ADHOC_PREFIX, adhoc_output_id
from timecard.spec import ReportSpec

NOW = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
CUSTOM = {
    "name": "  Seoul billing ",
    "preset": "custom",
    "start": "2026-11-02T00:00:00",
    "end": "2026-11-03T00:00:00",
    "timezone": "Asia/Seoul",
    "agents": ["a"],
    "routing_profiles": ["Billing"],
    "hierarchies": [],
    "max_rows": 50,
    "lookback_days": 1,
}


def test_a_custom_range_gives_the_spec_and_its_window():
    spec, window = adhoc.from_form(CUSTOM, NOW, "manual__1", "alice")
    assert spec == ReportSpec(
        slug=adhoc_output_id("manual__1"),
        name="Seoul billing",
        timezone="Asia/Seoul",
        agents=("a",),
        routing_profiles=("Billing",),
        prefix=ADHOC_PREFIX,
        max_rows=50,
        lookback_days=1,
        requested_by="alice",
        requested_at="2026-11-03T09:30:00Z",
    )
    assert (window.start, window.end) == (
        datetime(2026, 11, 1, 15, tzinfo=UTC),
        datetime(2026, 11, 2, 15, tzinfo=UTC),
    )
    assert ReportSpec.from_json(spec.to_json()) == spec


def test_a_preset_is_relative_to_the_trigger_time_and_defaults_fill_the_rest():
    spec, window = adhoc.from_form({"preset": "yesterday", "timezone": "UTC"}, NOW)
    assert (window.start, window.end) == (
        datetime(2026, 11, 2, tzinfo=UTC),
        datetime(2026, 11, 3, tzinfo=UTC),
    )
    assert (spec.name, spec.max_rows, spec.lookback_days) == ("Ad hoc report", 10_000, 31)
    assert (spec.agents, spec.routing_profiles, spec.hierarchies) == ((), (), ())
    assert spec.requested_by is None


def test_each_run_gets_its_own_output_id():
    first, _ = adhoc.from_form(CUSTOM, NOW, "run-1")
    second, _ = adhoc.from_form(CUSTOM, NOW, "run-2")
    assert first.slug != second.slug and len(first.slug) == 12
    assert first.slug == adhoc_output_id("run-1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end": None}, "A custom range needs both a start and an end"),
        ({"start": "2026-11-01T00:00", "end": "2026-11-20T00:00"}, "at most 7 days"),
        ({"timezone": "Mars/Olympus"}, "Unknown time zone 'Mars/Olympus'"),
        ({"preset": "last-week"}, "Unknown preset 'last-week'"),
        ({"max_rows": "many"}, "'many' is not a whole number"),
        ({"agents": "a"}, "A filter must be a list of values"),
    ],
)
def test_a_bad_parameter_is_refused_by_name(change, message):
    with pytest.raises(UsageError, match=message):
        adhoc.from_form(CUSTOM | change, NOW)
