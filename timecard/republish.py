"""`timecard republish SLUG --since DATE`: the late-data check of one report, from the shell.

It checks every published window of the report whose local date is DATE or later, exactly as
the hourly `timecard_late_data` DAG does (`timecard.healing`), with the progress bar and summary
table of `timecard backfill`. Republished windows also get their Asset event, recorded in the
Airflow metadata database the command is configured with, as the REST API records one.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

from timecard import airflow_env, healing, publishing
from timecard.backfill import format_table, progress_bar
from timecard.settings import get_settings
from timecard.spec import ReportSpec


def run_republish(slug: str, since: date, out=None) -> list[healing.WindowCheck]:
    from timecard.definitions import existing_definition_path, load_definition

    out = out or sys.stderr
    settings = get_settings()
    definition = load_definition(existing_definition_path(settings.reports_dir, slug))
    spec = ReportSpec.from_definition(definition)
    run_id = f"republish__{datetime.now(UTC).isoformat()}"

    def progress(done: int, total: int, local_date: str) -> None:
        where = f"{done + 1}/{total} {local_date} ..." if local_date else "done"
        print(f"[{progress_bar(done, total)}] {where}", file=out, flush=True)

    checks = healing.check_report(
        spec, since, "timecard republish", run_id, progress=progress, definition=definition
    )
    announced = announce([check for check in checks if check.asset_extra])
    if announced:
        print(f"timecard: {announced} Asset event(s) recorded for {slug}", file=out)
    print(format_table(checks), file=out)
    return checks


def announce(republished: list[healing.WindowCheck]) -> int:
    """Record an Asset event for each republished window, as the REST API would."""
    if not republished:
        return 0
    airflow_env.configure(get_settings().home)
    airflow_env.migrate_database()
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    count = 0
    with create_session() as session:
        for check in republished:
            name, uri = publishing.asset_name(check.slug), publishing.asset_uri(check.slug)
            model = session.scalar(
                select(AssetModel).where(AssetModel.name == name, AssetModel.uri == uri)
            )
            if model is None:
                check.detail += "; no Asset event: this Airflow database does not know the report"
                continue
            asset_manager.register_asset_change(
                asset=model, extra=check.asset_extra, source_is_api=True, session=session
            )
            count += 1
    return count


def exit_code(checks: list[healing.WindowCheck]) -> int:
    return 1 if any(check.status == healing.FAILED for check in checks) else 0
