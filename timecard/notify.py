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

from timecard.settings import get_settings

PLAN_TASK = "plan_scheduled_window"


class ReportEmail(SmtpNotifier):
    """The email of one saved report, sent for the outcomes listed in its `notify.on`."""

    def __init__(self, spec: dict, to: tuple[str, ...], on: tuple[str, ...]):
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
    return "row_limit" if isinstance(exception, RowLimitExceeded) else "failed"


def _window_plan(context) -> dict | None:
    """The run's window, from its plan task (None when planning itself failed)."""
    return context["ti"].xcom_pull(task_ids=PLAN_TASK) or None


def compose(
    spec: dict, outcome: str, window_plan: dict | None, context
) -> tuple[str, str, tuple[str, bytes] | None]:
    """Subject, HTML body and the optional (file name, bytes) attachment of one message."""
    import json

    from timecard import pipeline, storage

    settings = get_settings()
    report = pipeline.ReportSpec(
        **{key: tuple(v) if isinstance(v, list) else v for key, v in spec.items()}
    )
    local_date = window_plan["local_date"] if window_plan else None
    view = f"{settings.ui_base_url}/timecard/reports/{report.slug}/{local_date}"
    fields = [("Report", f"{report.name} ({report.slug})")]
    if window_plan:
        fields.append(("Window", f"{window_plan['local_start']} to {window_plan['local_end']}"))
    fields.append(("Time zone", report.timezone))
    filters = report.filters().as_dict()
    shown_filters = "; ".join(f"{k}: {', '.join(v)}" for k, v in filters.items() if v) or "none"
    fields.append(("Filters", shown_filters))
    attachment = None
    if outcome == "published":
        urls = pipeline.output_urls(report, local_date)
        manifest = json.loads(storage.read_bytes(urls["manifest"]))
        fields.append(("Rows", f"{manifest['rows']:,}"))
        fields.append(("Report view", view))
        csv_size = manifest.get("csv", {}).get("bytes")
        if csv_size is not None and csv_size <= settings.email_attach_max_bytes:
            attachment = (f"{report.slug}-{local_date}.csv", storage.read_bytes(urls["csv"]))
            fields.append(("CSV", "attached"))
        elif csv_size is not None:
            fields.append(("CSV", f"{csv_size:,} bytes, download it at {view}/csv"))
        subject = f"timecard: {report.name} for {local_date} published ({manifest['rows']:,} rows)"
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
