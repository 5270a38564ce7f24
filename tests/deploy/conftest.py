"""Fixtures shared with the DAG tests: a saved-reports folder, and timecard's roots in S3."""

from tests.dags.conftest import reports_dir  # noqa: F401
from tests.dags.test_backfill import s3_roots  # noqa: F401
