"""The typed objects of a run: built once, and through JSON (XCom) back to an equal object."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import yaml

from timecard.definitions import parse_definition
from timecard.engine import RunSummary
from timecard.errors import UsageError
from timecard.publishing import Published
from timecard.spec import (
    CondensedDay,
    CondensedWindow,
    PlannedDay,
    ReportSpec,
    StagedReport,
    ValidatedReport,
    WindowPlan,
)
from timecard.timerange import TimeRange

SAVED = """\
name: Payroll, 서울
timezone: Asia/Seoul
schedule: daily
filters:
  agents: [a, b]
  routing_profiles: [Billing]
  hierarchies: [Americas/Sales]
prefix: team/payroll
max_rows: 500
lookback_days: 3
formats: [csv]
layout: ymd
partition_time: event
"""


def saved_spec() -> ReportSpec:
    return ReportSpec.from_definition(
        parse_definition("payroll", yaml.safe_load(SAVED), "payroll.yaml")
    )


def round_trip(value):
    """The object from its JSON text, checked to give the very same text again."""
    text = value.to_json()
    json.loads(text)  # JSON text, not a Python repr
    again = type(value).from_json(text)
    assert again.to_json() == text
    return again


def test_a_spec_from_a_definition_keeps_every_setting_and_round_trips_with_tuples():
    spec = saved_spec()
    assert (spec.slug, spec.name, spec.timezone, spec.prefix) == (
        "payroll",
        "Payroll, 서울",
        "Asia/Seoul",
        "team/payroll",
    )
    assert (spec.agents, spec.routing_profiles, spec.hierarchies) == (
        ("a", "b"),
        ("Billing",),
        ("Americas/Sales",),
    )
    assert (spec.max_rows, spec.lookback_days, spec.formats) == (500, 3, ("csv",))
    assert (spec.layout, spec.partition_time) == ("ymd", "event")
    again = round_trip(spec)
    assert again == spec
    assert isinstance(again.agents, tuple) and isinstance(again.formats, tuple)
    assert "서울" in spec.to_json()  # text as typed, not escaped


def test_an_ad_hoc_spec_round_trips_who_asked_and_when():
    spec = ReportSpec(
        "0123456789ab",
        "Ad hoc",
        "UTC",
        prefix="adhoc",
        requested_by="alice",
        requested_at="2026-11-02T09:00:00Z",
    )
    assert round_trip(spec) == spec
    assert ReportSpec.from_json(json.dumps({"slug": "x", "name": "X", "timezone": "UTC"})) == (
        ReportSpec("x", "X", "UTC")
    )


def test_a_spec_knows_its_landing_and_makes_its_request(timecard_home, monkeypatch):
    monkeypatch.setenv("TIMECARD_EVENTS_LAYOUT", "date")
    window = TimeRange(
        datetime(2026, 11, 1, 15, tzinfo=UTC), datetime(2026, 11, 2, 15, tzinfo=UTC), "Asia/Seoul"
    )
    spec = saved_spec()
    # Its own layout and clock win over the environment's.
    landing = spec.landing()
    assert [layout.template for layout in landing.layouts] == ["year={yyyy}/month={MM}/day={dd}"]
    assert landing.partition_time == "event"
    request = spec.request(window)
    assert request.landing == landing and request.time_range == window
    assert (request.max_rows, request.lookback_days) == (500, 3)
    assert request.filters == spec.filters()
    assert request.events_root.endswith("/home/events")

    # Without its own: the environment's.
    plain = ReportSpec("plain", "Plain", "UTC")
    assert [layout.template for layout in plain.landing().layouts] == ["date={date}"]
    assert plain.request(window).partition_time == "arrival"

    # The engine's checks hold for every request a spec makes.
    with pytest.raises(UsageError, match="--lookback-days must be between 0 and 366"):
        ReportSpec("bad", "Bad", "UTC", lookback_days=400).request(window)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Seoul", "America/New_York"])
def test_a_window_plan_round_trips_exactly_and_names_its_local_date(zone):
    plan = WindowPlan(
        datetime(2026, 11, 1, 4, 30, 0, 123456, tzinfo=UTC),  # across the New York fall-back
        datetime(2026, 11, 2, 15, tzinfo=UTC),
        zone,
        (PlannedDay(date(2026, 10, 31), False), PlannedDay(date(2026, 11, 1), True)),
    )
    again = round_trip(plan)
    assert again == plan
    assert again.start.tzinfo is UTC and isinstance(again.days, tuple)
    assert again.days[1] == PlannedDay(date(2026, 11, 1), True)
    assert again.window == TimeRange(plan.start, plan.end, zone)
    data = json.loads(plan.to_json())
    assert data["local_start"] == plan.local_start.isoformat()
    assert data["local_date"] == plan.local_date
    expected = {"UTC": "2026-11-01", "Asia/Seoul": "2026-11-01", "America/New_York": "2026-11-01"}
    assert plan.local_date == expected[zone]
    seoul = WindowPlan(datetime(2026, 11, 1, 15, tzinfo=UTC), plan.end, "Asia/Seoul")
    assert seoul.local_date == "2026-11-02"
    assert seoul.local_start.isoformat() == "2026-11-02T00:00:00+09:00"


def test_the_results_of_the_steps_round_trip():
    day = CondensedDay(
        date(2026, 11, 2),
        "fp-1",
        ("sessions", "activity"),
        {"events": 9, "formats": {"json": 9}},
    )
    assert round_trip(day) == day
    assert round_trip(PlannedDay(date(2026, 11, 2), True)) == PlannedDay(date(2026, 11, 2), True)
    window = CondensedWindow(5, 4, 7, ("2026-11-01",))
    assert round_trip(window) == window
    summary = RunSummary(
        partitions_read=5,
        events_read=9,
        elapsed_seconds=0.25,
        fingerprints={"2026-11-02": "fp-1"},
        formats={"json": 9},
        shapes={"ndjson": 9},
        empty_days=["2026-11-01"],
        unmatched_filters={"agents": {"zed": ["a", "b"]}},
    )
    assert RunSummary.from_json(summary.to_json()) == summary
    staged = StagedReport("/out/_staging/x/2026-11-02/k", summary, "2026-11-02T15:30:00Z")
    again = round_trip(staged)
    assert again == staged and again.summary.unmatched_filters == {"agents": {"zed": ["a", "b"]}}
    assert round_trip(ValidatedReport(4)) == ValidatedReport(4)
    published = Published(
        "daily", "2026-11-02", "s3://b/daily_manifest.json", 4, 2, parquet="s3://b/daily.parquet"
    )
    assert Published.from_json(published.to_json()) == published
    assert json.loads(published.to_json()) == published.as_extra()


def test_a_summary_from_before_a_field_existed_gets_its_default():
    old = {"events_read": 3, "fingerprints": {"2026-11-02": "fp"}}
    assert RunSummary.from_dict(old) == RunSummary(events_read=3, fingerprints={"2026-11-02": "fp"})
