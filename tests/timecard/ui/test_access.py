"""timecard/ui/access.py, directly: which DAG guards an output, and the same-origin check of
forms. The auth manager's decisions for real users (roles, teams) are exercised route by route in
tests/timecard/ui/test_routes.py, on Airflow's real API app with real JWTs."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from tests.publishing import SEOUL, publish_day, write_day_events
from timecard.publishing import output_urls, read_manifest
from timecard.ui import access


def request(headers: dict[str, str], host: str = "reports.example:8080") -> Request:
    """A real ASGI request as the app receives a form POST."""
    return Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": "https",
            "server": (host.split(":")[0], int(host.split(":")[1])),
            "path": "/timecard/generate",
            "query_string": b"",
            "headers": [(b"host", host.encode())]
            + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
    )


def test_a_report_is_guarded_by_its_dag_and_the_adhoc_outputs_by_the_adhoc_dag():
    assert access.report_dag_id("payroll") == "timecard_payroll"
    assert access.ADHOC_DAG_ID == "timecard_adhoc"


def test_an_output_is_guarded_by_the_report_its_manifest_records(timecard_home):
    write_day_events(timecard_home / "events", "2026-11-02")
    publish_day(SEOUL, "2026-11-02", run_id="scheduled__x")
    manifest = read_manifest(output_urls(SEOUL, "2026-11-02")["manifest"])
    assert access.output_dag_id(manifest) == "timecard_daily-seoul"
    # Whoever published it (the late-data check, `timecard republish`), the report's DAG guards it.
    assert access.output_dag_id(dataclasses.replace(manifest, dag_id="timecard_late_data")) == (
        "timecard_daily-seoul"
    )
    # Only a manifest of the ad hoc DAG is an ad hoc output.
    assert access.output_dag_id(dataclasses.replace(manifest, dag_id="timecard_adhoc")) == (
        "timecard_adhoc"
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://reports.example:8080"},
        {"referer": "https://reports.example:8080/timecard/generate?preset=yesterday"},
        {"authorization": "Bearer x", "origin": "https://evil.test"},  # not a browser form
    ],
)
def test_a_form_from_the_page_itself_is_accepted(headers):
    access.require_same_origin(request(headers))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"origin": "https://evil.test"},
        {"origin": "https://reports.example:9090"},  # another origin of the same site
        {"referer": "https://evil.test/timecard/generate"},
        {"origin": "null"},
    ],
)
def test_a_form_from_anywhere_else_is_refused(headers):
    with pytest.raises(HTTPException) as refusal:
        access.require_same_origin(request(headers))
    assert refusal.value.status_code == 403
    assert (
        refusal.value.detail == "This form must be sent from the Login/Logout reports page itself."
    )


def test_the_configured_base_url_is_an_origin_too(monkeypatch):
    # What browsers see behind a proxy: `[api] base_url`, read from the environment as Airflow does.
    proxy = "https://airflow.example.com"
    assert access.configured_origin() != proxy
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", f"{proxy}/base")
    assert access.configured_origin() == proxy
    access.require_same_origin(request({"origin": proxy}))
    assert access.request_origin(request({})) == "https://reports.example:8080"
