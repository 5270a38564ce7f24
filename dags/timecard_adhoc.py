"""`timecard_adhoc`: run one Login/Logout report on demand, from Airflow's trigger form.

The form (rendered from the Params below) asks for a preset or a custom range of at most 7 days,
a time zone, filters and a name. The report publishes under `Reports/adhoc/`.

Two tasks, so that a Generate click waits for as few task starts as possible:
`plan_and_condense` (check the parameters, plan the window, condense every needed raw day; a
listing when the cache is warm) → `build_and_publish` (build, validate, publish).
"""

from datetime import datetime
from zoneinfo import available_timezones

from airflow.sdk import DAG, Param

from timecard import dag_tasks
from timecard.limits import (
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_MAX_ROWS,
    MAX_LOOKBACK_DAYS,
    MAX_RANGE_DAYS,
    MIN_LOOKBACK_DAYS,
    MIN_MAX_ROWS,
    RANGE_PRESETS,
)

_TEXT_LIST = {"type": ["array", "null"], "items": {"type": "string"}}

with DAG(
    dag_id="timecard_adhoc",
    description=(
        f"Ad hoc Login/Logout report: any range up to {MAX_RANGE_DAYS} days, any time zone, filters"
    ),
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
            enum=[*RANGE_PRESETS, "custom"],
            description="A range relative to the trigger time, or 'custom' for start and end.",
        ),
        "start": Param(
            None,
            type=["string", "null"],
            description="Custom range start, ISO-8601 (naive values are read in the time zone).",
        ),
        "end": Param(
            None,
            type=["string", "null"],
            description=f"Custom range end (at most {MAX_RANGE_DAYS} days).",
        ),
        "timezone": Param("UTC", enum=sorted(available_timezones() | {"UTC"})),
        "agents": Param([], **_TEXT_LIST, description="Usernames (ORed)."),
        "routing_profiles": Param([], **_TEXT_LIST, description="Routing profile names (ORed)."),
        "hierarchies": Param(
            [], **_TEXT_LIST, description="Hierarchy paths like 'Americas/Sales'."
        ),
        "max_rows": Param(DEFAULT_MAX_ROWS, type="integer", minimum=MIN_MAX_ROWS),
        "lookback_days": Param(
            DEFAULT_LOOKBACK_DAYS,
            type="integer",
            minimum=MIN_LOOKBACK_DAYS,
            maximum=MAX_LOOKBACK_DAYS,
        ),
    },
    doc_md=__doc__,
) as dag:
    dag_tasks.adhoc_report_run(dag_tasks.report_asset("adhoc"))
