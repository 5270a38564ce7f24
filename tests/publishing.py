"""Published report days for the delivery tests: hand-built events through the pipeline steps,
called as the report DAG's tasks call them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.builders import event, write_ndjson
from timecard import pipeline
from timecard.publishing import Published

SEOUL = pipeline.ReportSpec(
    slug="daily-seoul",
    name="Daily Seoul",
    timezone="Asia/Seoul",
    prefix="team/daily",
    lookback_days=1,
)


def write_day_events(root, day: str, *, late_agent: str | None = None) -> None:
    """Four agents on UTC day `day` (all inside the Seoul day of the same date): a closed
    session, one never logged out (abandoned), a short one, and a username that starts a
    spreadsheet formula. `late_agent` adds one more closed session in a second file."""
    at = lambda hhmm: f"{day}T{hhmm}:00Z"  # noqa: E731
    write_ndjson(
        root,
        day,
        [
            event("LOGIN", at("00:10"), "a", routing_profile="Sales Inbound"),
            event("HEART_BEAT", at("00:30"), "a"),
            event("LOGOUT", at("08:00"), "a", routing_profile="Sales Inbound"),
            event("LOGIN", at("01:00"), "b", routing_profile="Billing"),
            event("HEART_BEAT", at("03:00"), "b"),
            event("LOGIN", at("02:00"), "c", routing_profile="Billing", hierarchy=None),
            event("LOGOUT", at("04:00"), "c", routing_profile="Billing", hierarchy=None),
            event("LOGIN", at("05:00"), "d", username="=calc", routing_profile="Billing"),
            event("HEART_BEAT", at("14:30"), "d"),
        ],
    )
    if late_agent:
        write_ndjson(
            root,
            day,
            [
                event("LOGIN", at("06:00"), late_agent, routing_profile="Billing"),
                event("LOGOUT", at("07:30"), late_agent, routing_profile="Billing"),
            ],
            name="part-1.json",
        )


def local_window(spec: pipeline.ReportSpec, local_date: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(spec.timezone)
    day = date.fromisoformat(local_date)
    return (
        datetime.combine(day, time(), zone),
        datetime.combine(day + timedelta(days=1), time(), zone),
    )


def publish_day(spec: pipeline.ReportSpec, local_date: str, run_id: str = "test-run") -> Published:
    """Plan, condense, build, validate and publish one local day; returns what publish returns."""
    window_plan = pipeline.plan(spec, *local_window(spec, local_date))
    for day in window_plan.days:
        pipeline.condense(spec, day)
    staged = pipeline.build(spec, window_plan, run_id)
    pipeline.validate(spec, staged)
    return pipeline.publish(spec, window_plan, staged, f"timecard_{spec.slug}", run_id)
