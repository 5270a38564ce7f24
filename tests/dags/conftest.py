"""Report DAGs over a folder of test definitions (`reports_dir`, in tests/conftest.py) and a
small set of hand-built raw events."""

import pytest

from tests.builders import event, write_ndjson


@pytest.fixture
def small_events(timecard_home):
    """Three agents on 2026-11-02 (Seoul), including a session with no logout."""
    root = timecard_home / "events"
    write_ndjson(
        root,
        "2026-11-01",
        [
            event("LOGIN", "2026-11-01T23:00:00Z", "a", routing_profile="Sales Inbound"),
            event("HEART_BEAT", "2026-11-01T23:30:00Z", "a"),
        ],
    )
    write_ndjson(
        root,
        "2026-11-02",
        [
            event("LOGOUT", "2026-11-02T08:00:00Z", "a", routing_profile="Sales Inbound"),
            event("LOGIN", "2026-11-02T01:00:00Z", "b", routing_profile="Billing"),
            event("HEART_BEAT", "2026-11-02T03:00:00Z", "b"),
            event("LOGIN", "2026-11-02T02:00:00Z", "c", routing_profile="Billing"),
            event("LOGOUT", "2026-11-02T04:00:00Z", "c", routing_profile="Billing"),
        ],
    )
    return root
