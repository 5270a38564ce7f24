"""Real report outputs from real DAG runs, and users of Airflow's simple auth manager.

One package-scoped timecard home holds three saved reports and the outputs of real `dag.test()`
runs: the published daily report `daily-seoul` (37 rows, so it pages at 25 rows), the
published `payroll` report (Billing only) and an ad hoc report "Seoul check" (addressed by the
short id of its run). `drafts` is an
unpublished report. The route tests and the browser test both read this home.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

# The constants the route and browser tests share with this home live in tests/builders.py.
from tests.builders import ADHOC_CONF, DAGS, PASSWORDS, RUN_DAY_MIDNIGHT, event, write_ndjson

DEFINITIONS = {
    "daily-seoul": (
        "name: Daily Seoul\ntimezone: Asia/Seoul\nschedule: daily\nprefix: team/daily\n"
        "lookback_days: 1\n"
    ),
    "payroll": (
        "name: Payroll\ntimezone: Asia/Seoul\nschedule: daily\nlookback_days: 1\n"
        "filters: {routing_profiles: [Billing]}\n"
    ),
    "drafts": "name: Draft billing check\ntimezone: Asia/Seoul\npublished: false\n",
}


def write_events(root: Path) -> None:
    """The README's worked example (a, b, c) and 34 more sessions on 2026-11-02 in Seoul.

    - b never logs out and was last active 12:00 local, 12 hours before the window end:
      possibly abandoned. d never logs out but was active 10 minutes before the end: not.
    - e's first session ends with e's next login, 5 minutes after e's last activity: not
      abandoned, although it is long before the window end.
    - f logged in before the window and out in it; agent-01..30 have closed 8-hour sessions.
    """
    day1 = [
        event("LOGIN", "2026-11-01T23:00:00Z", "a", routing_profile="Sales Inbound"),
        event("HEART_BEAT", "2026-11-01T23:30:00Z", "a"),
        event("LOGIN", "2026-11-01T10:00:00Z", "f", routing_profile="Billing"),
    ]
    day2 = [
        event("LOGOUT", "2026-11-02T08:00:00Z", "a", routing_profile="Sales Inbound"),
        event("LOGIN", "2026-11-02T01:00:00Z", "b", routing_profile="Billing"),
        event("HEART_BEAT", "2026-11-02T03:00:00Z", "b"),
        event("LOGIN", "2026-11-02T02:00:00Z", "c", routing_profile="Billing"),
        event("LOGOUT", "2026-11-02T04:00:00Z", "c", routing_profile="Billing"),
        event("LOGIN", "2026-11-02T05:00:00Z", "d", routing_profile="Sales Inbound"),
        event("HEART_BEAT", "2026-11-02T14:50:00Z", "d"),
        event("LOGIN", "2026-11-02T00:00:00Z", "e", routing_profile="Sales Inbound"),
        event("HEART_BEAT", "2026-11-02T01:55:00Z", "e"),
        event("LOGIN", "2026-11-02T02:00:00Z", "e", routing_profile="Sales Inbound"),
        event("LOGOUT", "2026-11-02T06:00:00Z", "e", routing_profile="Sales Inbound"),
        event("LOGOUT", "2026-11-01T16:00:00Z", "f", routing_profile="Billing"),
    ]
    for number in range(1, 31):
        login = datetime(2026, 11, 1, 23, tzinfo=UTC) + timedelta(minutes=10 * number)
        agent = f"agent-{number:02d}"
        day2 += [
            event("LOGIN", login.isoformat(), agent, routing_profile="Sales Inbound"),
            event("LOGOUT", (login + timedelta(hours=8)).isoformat(), agent),
        ]
    write_ndjson(root, "2026-11-01", day1)
    write_ndjson(root, "2026-11-02", day2)


@dataclass(frozen=True)
class ReportHome:
    path: Path
    adhoc_run_id: str

    @property
    def adhoc_id(self) -> str:
        """The short id that addresses the ad hoc run's output."""
        from timecard.pipeline import adhoc_output_id

        return adhoc_output_id(self.adhoc_run_id)


@pytest.fixture(scope="package")
def report_home(tmp_path_factory, airflow_db):
    """A timecard home with the saved reports and the outputs of real DAG runs."""
    from airflow.dag_processing.dagbag import DagBag

    home = tmp_path_factory.mktemp("ui-home")
    reports = home / "reports"
    reports.mkdir()
    for slug, body in DEFINITIONS.items():
        (reports / f"{slug}.yaml").write_text(body)
    write_events(home / "events")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIMECARD_HOME", str(home))
        patch.setenv("TIMECARD_REPORTS_DIR", str(reports))
        for name in ("EVENTS_ROOT", "OUTPUT_ROOT", "CACHE_ROOT", "INSTANCE_ALIAS"):
            patch.delenv(f"TIMECARD_{name}", raising=False)
        bag = DagBag(dag_folder=str(DAGS))
        assert bag.import_errors == {}
        for dag_id in ("timecard_daily-seoul", "timecard_payroll"):
            assert bag.dags[dag_id].test(logical_date=RUN_DAY_MIDNIGHT).state == "success"
        adhoc = bag.dags["timecard_adhoc"].test(
            logical_date=None, run_after=RUN_DAY_MIDNIGHT, run_conf=ADHOC_CONF
        )
        assert adhoc.state == "success"
        yield ReportHome(home, adhoc.run_id)


@pytest.fixture(scope="package")
def passwords_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "passwords.json"
    path.write_text(json.dumps(PASSWORDS))
    return path
