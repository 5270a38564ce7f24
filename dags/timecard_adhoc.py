"""`timecard_adhoc`: run one Login/Logout report on demand, from Airflow's trigger form.

The form (rendered from the Params below) asks for a preset or a custom range of at most 7 days,
a time zone, filters and a name. The report publishes under `Reports/adhoc/`.
"""

from datetime import datetime
from zoneinfo import available_timezones

from airflow.sdk import DAG, Param

from timecard import dag_tasks
from timecard.timerange import PRESETS

_TEXT_LIST = {"type": ["array", "null"], "items": {"type": "string"}}

with DAG(
    dag_id="timecard_adhoc",
    description="Ad hoc Login/Logout report: any range up to 7 days, any time zone, filters",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # Always active: a Generate click must run, not wait for someone to unpause the DAG.
    is_paused_upon_creation=False,
    default_args=dag_tasks.TASK_DEFAULTS,
    tags=["timecard", "login-logout-report"],
    params={
        "name": Param("Ad hoc report", type="string", minLength=1, maxLength=120),
        "preset": Param(
            "yesterday",
            enum=[*PRESETS, "custom"],
            description="A range relative to the trigger time, or 'custom' for start and end.",
        ),
        "start": Param(
            None,
            type=["string", "null"],
            description="Custom range start, ISO-8601 (naive values are read in the time zone).",
        ),
        "end": Param(
            None, type=["string", "null"], description="Custom range end (at most 7 days)."
        ),
        "timezone": Param("UTC", enum=sorted(available_timezones() | {"UTC"})),
        "agents": Param([], **_TEXT_LIST, description="Usernames (ORed)."),
        "routing_profiles": Param([], **_TEXT_LIST, description="Routing profile names (ORed)."),
        "hierarchies": Param(
            [], **_TEXT_LIST, description="Hierarchy paths like 'Americas/Sales'."
        ),
        "max_rows": Param(10_000, type="integer", minimum=1),
        "lookback_days": Param(31, type="integer", minimum=0, maximum=366),
    },
    doc_md=__doc__,
) as dag:
    prepared = dag_tasks.plan_adhoc_window()
    dag_tasks.report_run(
        prepared["spec"],
        prepared["plan"],
        dag_tasks.report_asset("adhoc"),
        prepared["completeness"],
    )
