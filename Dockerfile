# The image every Airflow service of docker-compose.yaml runs: the official Airflow image plus
# timecard's pinned runtime requirements and its code, so the dag-processor parses the report
# DAGs and every Celery worker can import timecard, transforms and schemas.
FROM apache/airflow:3.3.2-python3.11

# Requirements first: editing code does not rebuild this layer. Naming apache-airflow at the
# image's own version (the documented way to extend the image) keeps pip from moving it.
COPY --chown=airflow:0 requirements.txt /opt/timecard/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/timecard/requirements.txt

# The repository's layout under /opt/timecard, so timecard.settings finds the saved reports
# where it finds them in a checkout. docker-compose.yaml mounts the same folders over these
# copies for development; an image without mounts (Kubernetes, say) runs as built.
COPY --chown=airflow:0 timecard /opt/timecard/timecard
COPY --chown=airflow:0 transforms /opt/timecard/transforms
COPY --chown=airflow:0 schemas /opt/timecard/schemas
COPY --chown=airflow:0 dags /opt/timecard/dags
COPY --chown=airflow:0 plugins /opt/timecard/plugins
COPY --chown=airflow:0 reports /opt/timecard/reports

ENV PYTHONPATH=/opt/timecard \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/timecard/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/timecard/plugins \
    TIMECARD_REPORTS_DIR=/opt/timecard/reports
