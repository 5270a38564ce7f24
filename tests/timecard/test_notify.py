"""timecard/notify.py, directly: which outcome a task's context is, and the message composed for
each. Real sends through Airflow's SMTP notifier to a real SMTP server are in
tests/dags/test_report_email.py."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tests.publishing import SEOUL, local_window, publish_day, write_day_events
from timecard import pipeline
from timecard.errors import NoRawEventsError, RowLimitExceeded
from timecard.notify import ReportEmail, _outcome, compose

DAY = "2026-11-02"
SPEC = SEOUL


def failure(error: Exception) -> dict:
    """A failure callback's context: what Airflow passes, as plain values."""
    return {
        "exception": error,
        "ti": SimpleNamespace(task_id="validate_report"),
        "dag_run": SimpleNamespace(run_id="scheduled__2026-11-02T15:00:00+00:00"),
    }


def refused(refusal: Exception) -> AirflowFailException:
    """A refusal as it reaches Airflow: AirflowFailException raised from it (no retries)."""
    try:
        raise AirflowFailException(str(refusal)) from refusal
    except AirflowFailException as error:
        return error


@pytest.fixture
def window_plan(timecard_home):
    write_day_events(timecard_home / "events", DAY)
    publish_day(SEOUL, DAY)
    return pipeline.plan(SEOUL, *local_window(SEOUL, DAY))


def test_the_outcome_is_read_from_the_context():
    assert _outcome({}) == "published"
    assert _outcome(failure(refused(RowLimitExceeded("12,000 rows")))) == "row_limit"
    assert _outcome(failure(RowLimitExceeded("12,000 rows"))) == "row_limit"
    assert _outcome(failure(refused(NoRawEventsError("no files")))) == "failed"
    assert _outcome(failure(ValueError("boom"))) == "failed"


def test_a_published_message_has_the_rows_the_link_and_the_csv(window_plan, monkeypatch):
    monkeypatch.setenv("TIMECARD_UI_BASE_URL", "https://reports.example/")
    subject, body, attachment = compose(SPEC, "published", window_plan, {})
    assert subject == f"timecard: Daily Seoul for {DAY} published (4 rows)"
    assert "<th align='left'>Rows</th><td>4</td>" in body
    assert f"https://reports.example/timecard/reports/daily-seoul/{DAY}" in body
    assert "<td>2026-11-02T00:00:00+09:00 to 2026-11-03T00:00:00+09:00</td>" in body
    name, data = attachment
    assert name == f"daily-seoul-{DAY}.csv"
    assert data.decode().splitlines()[0].startswith("Username,")


def test_a_csv_over_the_size_limit_is_linked_instead(window_plan, monkeypatch):
    monkeypatch.setenv("TIMECARD_EMAIL_ATTACH_MAX_BYTES", "10")
    _, body, attachment = compose(SPEC, "published", window_plan, {})
    assert attachment is None
    assert f"download it at http://localhost:8080/timecard/reports/daily-seoul/{DAY}/csv" in body


def test_a_refusal_message_names_the_task_the_run_and_the_reason(window_plan):
    context = failure(refused(RowLimitExceeded("The report has 12,000 rows <limit 10,000>")))
    subject, body, attachment = compose(SPEC, "row_limit", window_plan, context)
    assert subject == f"timecard: Daily Seoul for {DAY} over its row limit"
    assert attachment is None
    assert "<td>validate_report</td>" in body
    assert "scheduled__2026-11-02T15:00:00+00:00" in body
    assert (
        "<th align='left'>Refusal</th><td>The report has 12,000 rows &lt;limit 10,000&gt;</td>"
        in body
    )


def test_a_failure_before_planning_has_no_window():
    spec = dataclasses.replace(SPEC, name="<b>Payroll</b>", routing_profiles=("Billing",))
    subject, body, _ = compose(spec, "failed", None, failure(ValueError("boom")))
    assert subject == "timecard: <b>Payroll</b> for its window failed"
    assert "&lt;b&gt;Payroll&lt;/b&gt;" in body and "<b>" not in body  # escaped in HTML
    assert "Window" not in body
    assert "routing_profiles: Billing" in body
    assert "<th align='left'>Error</th><td>boom</td>" in body


def test_an_outcome_not_asked_for_sends_nothing():
    # No SMTP server exists here: sending would fail the test.
    email = ReportEmail(SPEC, ("ops@example.com",), on=("row_limit",))
    email.notify(failure(ValueError("boom")))
    assert email.subject == ""  # nothing was composed either
