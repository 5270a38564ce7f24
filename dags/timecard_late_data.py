"""`timecard_late_data`: heal published reports when raw events land after they were published.

Hourly, every scheduled report's windows within the horizon, taken from its schedule (not
from the manifests that exist), are checked: a window with no published report is built and
published; a published one is compared with the current raw listings, and a changed window is
rebuilt and, if its CSV changed, republished with a new revision and a new event of the
report's Asset (`timecard.healing`). A window that fails is logged and tried again next hour.
"""

from datetime import datetime

from airflow.sdk import DAG

from timecard import dag_tasks

with DAG(
    dag_id="timecard_late_data",
    description="Republish recently published Login/Logout reports whose raw events changed",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # two checks at once would rebuild the same windows twice
    # Healing is part of publishing: active from the start, whatever
    # `[core] dags_are_paused_at_creation` says (compose sets it to keep example DAGs off).
    is_paused_upon_creation=False,
    default_args=dag_tasks.TASK_DEFAULTS,
    tags=["timecard", "login-logout-report"],
    doc_md=__doc__,
) as dag:
    dag_tasks.check_late_data()
