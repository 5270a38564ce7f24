"""Report emails: real report DAG runs (dag.test()) send through the SMTP provider to a real
SMTP server on loopback (aiosmtpd), which requires a login."""

from __future__ import annotations

import email
import email.policy
import json

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.airflow_processes import free_port
from tests.builders import (
    DAILY_SEOUL,
    RUN_DAY_MIDNIGHT,
    S3_SECRET,
    parse_dags,
    published,
    write_definition,
)
from timecard import storage

SMTP_LOGIN, SMTP_PASSWORD = "timecard-mailer", "smtp-password-never-in-a-message"
NOTIFY = "notify:\n  email: [ops@example.com, lead@example.com]\n"


class Mailbox:
    """Every message the server accepted, with its envelope."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def mailbox(monkeypatch):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == SMTP_LOGIN.encode() and auth_data.password == (
            SMTP_PASSWORD.encode()
        )
        return AuthResult(success=ok)

    box = Mailbox()
    port = free_port()
    server = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    server.start()
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "login": SMTP_LOGIN,
        "password": SMTP_PASSWORD,
        "extra": {
            "disable_ssl": True,
            "disable_tls": True,
            "from_email": "timecard@example.com",
            "timeout": 10,
            "retry_limit": 0,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_TIMECARD_SMTP", json.dumps(connection))
    monkeypatch.setenv("TIMECARD_SMTP_CONN_ID", "timecard_smtp")
    monkeypatch.setenv("TIMECARD_UI_BASE_URL", "https://airflow.example.com/")
    yield box
    server.stop()


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def assert_no_credentials(raw: bytes) -> None:
    for secret in (SMTP_PASSWORD, S3_SECRET):
        assert secret.encode() not in raw
    assert b"password" not in raw.lower()


@pytest.mark.slow
def test_a_published_report_is_mailed_with_its_csv(reports_dir, small_events, airflow_db, mailbox):
    write_definition(reports_dir, "daily-seoul", DAILY_SEOUL + NOTIFY)
    assert parse_dags().dags["timecard_daily-seoul"].test(logical_date=RUN_DAY_MIDNIGHT).state == (
        "success"
    )
    [(recipients, raw)] = mailbox.messages
    assert recipients == ["ops@example.com", "lead@example.com"]
    message = parsed(raw)
    assert message["Subject"] == "timecard: Daily Seoul for 2026-11-02 published (3 rows)"
    assert message["From"] == "timecard@example.com"
    body = message.get_body(("html",)).get_content()
    for field in (
        "2026-11-02T00:00:00+09:00 to 2026-11-03T00:00:00+09:00",
        "Asia/Seoul",
        "<th align='left'>Filters</th><td>none</td>",
        "<th align='left'>Rows</th><td>3</td>",
        "https://airflow.example.com/timecard/reports/daily-seoul/2026-11-02",
        "<td>attached</td>",
    ):
        assert field in body
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "daily-seoul-2026-11-02.csv"
    csv_url = published(DAILY_SEOUL, "daily-seoul", "2026-11-02")["csv"]
    assert attachment.get_content() in (
        storage.read_bytes(csv_url),
        storage.read_bytes(csv_url).decode(),
    )
    assert_no_credentials(raw)


@pytest.mark.slow
def test_a_csv_over_the_size_limit_is_linked(
    reports_dir, small_events, airflow_db, mailbox, monkeypatch
):
    monkeypatch.setenv("TIMECARD_EMAIL_ATTACH_MAX_BYTES", "100")
    write_definition(reports_dir, "daily-seoul", DAILY_SEOUL + NOTIFY)
    assert parse_dags().dags["timecard_daily-seoul"].test(logical_date=RUN_DAY_MIDNIGHT).state == (
        "success"
    )
    [(_, raw)] = mailbox.messages
    message = parsed(raw)
    assert list(message.iter_attachments()) == []
    body = message.get_body(("html",)).get_content()
    assert (
        "download it at https://airflow.example.com/timecard/reports/daily-seoul/2026-11-02/csv"
        in body
    )


@pytest.mark.slow
def test_the_row_limit_refusal_is_mailed_with_its_counts(
    reports_dir, small_events, airflow_db, mailbox
):
    write_definition(reports_dir, "daily-seoul", DAILY_SEOUL + "max_rows: 2\n" + NOTIFY)
    run = parse_dags().dags["timecard_daily-seoul"].test(logical_date=RUN_DAY_MIDNIGHT)
    assert run.state == "failed"
    [(recipients, raw)] = mailbox.messages
    assert recipients == ["ops@example.com", "lead@example.com"]
    message = parsed(raw)
    assert message["Subject"] == "timecard: Daily Seoul for 2026-11-02 over its row limit"
    body = message.get_body(("html",)).get_content()
    assert "<th align='left'>Refusal</th>" in body and "validate_report" in body
    assert "The report has 3 rows, over its limit of 2" in body
    assert "rows per routing profile: Billing: 2, Sales Inbound: 1" in body
    assert list(message.iter_attachments()) == []
    assert_no_credentials(raw)


@pytest.mark.slow
def test_no_message_without_notify_or_for_an_outcome_not_asked_for(
    reports_dir, small_events, airflow_db, mailbox
):
    write_definition(reports_dir, "daily-seoul", DAILY_SEOUL)
    assert parse_dags().dags["timecard_daily-seoul"].test(logical_date=RUN_DAY_MIDNIGHT).state == (
        "success"
    )
    write_definition(reports_dir, "daily-seoul", DAILY_SEOUL + NOTIFY + "  on: [failed]\n")
    assert parse_dags().dags["timecard_daily-seoul"].test(logical_date=RUN_DAY_MIDNIGHT).state == (
        "success"
    )
    assert mailbox.messages == []
