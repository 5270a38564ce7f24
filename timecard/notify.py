"""Report emails through Airflow's notifier mechanism and the SMTP provider.

A saved report's `notify: {email: [...], on: [published, failed, row_limit]}` becomes a
`ReportEmail` notifier on its DAG: the publish task's success callback (published) and every
task's failure callback (failed; row_limit when the validation refused the row count). SMTP
host, port, login and sender come from the Airflow connection `TIMECARD_SMTP_CONN_ID`
(default `smtp_default`); this module only writes the message.

The subject and body are set when the message is sent, after the notifier's own template
rendering, so a value such as a report name with `{{` is shown as it is, never run as a template.
"""

from __future__ import annotations

import html
import os
import tempfile

from airflow.providers.smtp.notifications.smtp import SmtpNotifier

from timecard.dag_tasks import PLAN_TASK
from timecard.settings import get_settings
from timecard.spec import ReportSpec, WindowPlan


class ReportEmail(SmtpNotifier):
    """The email of one saved report, sent for the outcomes listed in its `notify.on`."""

    def __init__(self, spec: ReportSpec, to: tuple[str, ...], on: tuple[str, ...]):
        super().__init__(
            to=list(to), subject="", html_content="", smtp_conn_id=get_settings().smtp_conn_id
        )
        self.spec = spec
        self.on = tuple(on)

    def notify(self, context) -> None:
        outcome = _outcome(context)
        if outcome not in self.on:
            return
        window_plan = _window_plan(context)
        self.subject, body, attachment = compose(self.spec, outcome, window_plan, context)
        self.html_content = body
        with tempfile.TemporaryDirectory(prefix="timecard-email-") as folder:
            self.files = []
            if attachment is not None:
                name, data = attachment
                path = os.path.join(folder, name)
                with open(path, "wb") as file:
                    file.write(data)
                self.files = [path]
            super().notify(context)


def _outcome(context) -> str:
    from timecard.errors import RowLimitExceeded

    exception = context.get("exception")
    if exception is None:
        return "published"
    # A refusal reaches Airflow as AirflowFailException (no retries), raised from the refusal.
    refusal = exception.__cause__ if exception.__cause__ is not None else exception
    return "row_limit" if isinstance(refusal, RowLimitExceeded) else "failed"


def _window_plan(context) -> WindowPlan | None:
    """The run's window, from its plan task (None when planning itself failed)."""
    text = context["ti"].xcom_pull(task_ids=PLAN_TASK)
    return WindowPlan.from_json(text) if text else None


def compose(
    report: ReportSpec, outcome: str, window_plan: WindowPlan | None, context
) -> tuple[str, str, tuple[str, bytes] | None]:
    """Subject, HTML body and the optional (file name, bytes) attachment of one message."""
    from timecard import publishing

    settings = get_settings()
    local_date = window_plan.local_date if window_plan else None
    view = f"{settings.ui_base_url}/timecard/reports/{report.slug}/{local_date}"
    fields = [("Report", f"{report.name} ({report.slug})")]
    if window_plan:
        window = f"{window_plan.local_start.isoformat()} to {window_plan.local_end.isoformat()}"
        fields.append(("Window", window))
    fields.append(("Time zone", report.timezone))
    filters = report.filters().as_dict()
    shown_filters = "; ".join(f"{k}: {', '.join(v)}" for k, v in filters.items() if v) or "none"
    fields.append(("Filters", shown_filters))
    attachment = None
    if outcome == "published":
        if local_date is None:  # a publish follows its plan task, so this is not expected
            raise FileNotFoundError(f"{report.slug}: the run's plan is missing, so is its window")
        manifest_url = publishing.output_urls(report, local_date)["manifest"]
        manifest = publishing.read_manifest(manifest_url)
        if manifest is None:
            raise FileNotFoundError(f"{manifest_url} is missing: the report is not published")
        fields.append(("Rows", f"{manifest.rows:,}"))
        fields.append(("Report view", view))
        csv = manifest.files.get("csv")
        if csv is not None and csv.bytes <= settings.email_attach_max_bytes:
            data = publishing.read_committed(manifest_url, manifest, "csv")
            attachment = (f"{report.slug}-{local_date}.csv", data)
            fields.append(("CSV", "attached"))
        elif csv is not None:
            fields.append(("CSV", f"{csv.bytes:,} bytes, download it at {view}/csv"))
        subject = f"timecard: {report.name} for {local_date} published ({manifest.rows:,} rows)"
    else:
        ti = context.get("ti")
        refusal = str(context.get("exception"))
        fields.append(("Failed task", getattr(ti, "task_id", "?")))
        fields.append(("Run", str(getattr(context.get("dag_run"), "run_id", "?"))))
        fields.append(("Refusal" if outcome == "row_limit" else "Error", refusal))
        what = "over its row limit" if outcome == "row_limit" else "failed"
        subject = f"timecard: {report.name} for {local_date or 'its window'} {what}"
    rows = "".join(
        f"<tr><th align='left'>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in fields
    )
    return subject, f"<table>{rows}</table>", attachment
