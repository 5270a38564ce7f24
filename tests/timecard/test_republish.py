"""timecard/republish.py, directly: `timecard republish SLUG --since DATE` checks the published
windows from DATE on as the late-data DAG does, prints progress and the closing table, and
records an Asset event for each republished window that Airflow knows."""

from __future__ import annotations

import io
from datetime import date

from tests.builders import DAILY_SEOUL, final_table, write_definition
from tests.publishing import SEOUL, publish_day, write_day_events
from timecard import healing, publishing, storage
from timecard.pipeline import output_urls
from timecard.republish import exit_code, run_republish

DAY = "2026-11-02"


def asset_known(slug: str) -> bool:
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        name, uri = publishing.asset_name(slug), publishing.asset_uri(slug)
        return (
            session.scalar(select(AssetModel).where(AssetModel.name == name, AssetModel.uri == uri))
            is not None
        )


def test_late_data_is_republished_and_shown_in_the_closing_table(
    reports_dir, timecard_home, airflow_db
):
    write_definition(reports_dir, SEOUL.slug, DAILY_SEOUL)
    events = timecard_home / "events"
    write_day_events(events, DAY)
    publish_day(SEOUL, DAY)
    write_day_events(events, DAY, late_agent="late")  # a second file arrives after publishing

    out = io.StringIO()
    checks = run_republish(SEOUL.slug, date.fromisoformat(DAY), out)

    [check] = [c for c in checks if c.local_date == DAY]
    assert check.status == healing.REPUBLISHED
    assert check.rows == 5 and check.revision == 2
    printed = out.getvalue()
    # The Airflow database is the session's: another test may have parsed this report's DAG into
    # it. If it knows the report's Asset, the event is recorded; if not, the table says so.
    # Every window the run (re)published gets one: the late day, and the quiet windows after it
    # that had no report yet.
    if asset_known(SEOUL.slug):
        announced = [c for c in checks if c.asset_extra]
        assert check in announced and all("no Asset event" not in c.detail for c in announced)
        assert f"{len(announced)} Asset event(s) recorded for {SEOUL.slug}" in printed
    else:
        assert "no Asset event: this Airflow database does not know the report" in check.detail
    assert printed.startswith("[")  # the progress bar
    table = final_table(printed)
    assert table[DAY]["status"] == healing.REPUBLISHED and table[DAY]["rows"] == "5"
    assert b"late" in storage.read_bytes(output_urls(SEOUL, DAY)["csv"])
    assert exit_code(checks) == 0

    # Nothing changed since: checked again, left alone.
    again = run_republish(SEOUL.slug, date.fromisoformat(DAY), io.StringIO())
    assert [c.status for c in again if c.local_date == DAY] == [healing.UNCHANGED]


def test_the_exit_code_is_1_when_any_window_failed():
    ok = healing.WindowCheck("s", "2026-11-02", status=healing.REPUBLISHED)
    failed = healing.WindowCheck("s", "2026-11-03", status=healing.FAILED)
    assert exit_code([ok]) == 0
    assert exit_code([ok, failed]) == 1
