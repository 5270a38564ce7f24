"""`timecard_late_data`: heal published reports when raw events land after they were published.

Hourly, every scheduled report's windows published within the horizon are compared with the
current raw listings; a changed window is rebuilt and, if its CSV changed, republished with a
new revision and a new event of the report's Asset (`timecard.healing`).
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
    default_args=dag_tasks.TASK_DEFAULTS,
    tags=["timecard", "login-logout-report"],
    doc_md=__doc__,
) as dag:
    dag_tasks.check_late_data()
