"""All configuration, read from the environment in one place.

Every deployment (CLI, `make run`, docker-compose, Celery workers) sets the same variables;
nothing else in timecard reads `os.environ` for storage or credentials.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Run from a checkout (the usual case: `make run`), local state lives in ./var and saved reports
# in ./reports; an installed copy keeps both under ~/.timecard instead of inside site-packages.
_IN_CHECKOUT = (REPO_ROOT / "pyproject.toml").exists()
DEFAULT_MAX_DECOMPRESSED_MB = 256
# Sized for a worker with 2 GB of memory: the rest is the interpreter, Airflow and the page cache.
DEFAULT_MEMORY_BUDGET_MB = 1024

# The variables this module reads. The docker-compose consistency test checks against this list.
ENV_VARS = (
    "TIMECARD_HOME",
    "TIMECARD_EVENTS_ROOT",
    "TIMECARD_EVENTS_LAYOUT",
    "TIMECARD_PARTITION_TIME",
    "TIMECARD_OUTPUT_ROOT",
    "TIMECARD_CACHE_ROOT",
    "TIMECARD_INSTANCE_ALIAS",
    "TIMECARD_REPORTS_DIR",
    "TIMECARD_AWS_CONN_ID",
    "TIMECARD_ABANDONED_AFTER_MINUTES",
    "TIMECARD_SETTLE_MINUTES",
    "TIMECARD_MAX_WAIT_MINUTES",
    "TIMECARD_GATE_POKE_SECONDS",
    "TIMECARD_LATE_DATA_HORIZON_DAYS",
    "TIMECARD_POSTGRES_CONN_ID",
    "TIMECARD_SMTP_CONN_ID",
    "TIMECARD_UI_BASE_URL",
    "TIMECARD_UI_SAVE_DEFINITIONS",
    "TIMECARD_EMAIL_ATTACH_MAX_BYTES",
    "TIMECARD_MAX_DECOMPRESSED_MB",
    "TIMECARD_ORPHAN_GRACE_MINUTES",
    "TIMECARD_MEMORY_BUDGET_MB",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
)


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None = None
    region: str = "us-east-1"
    # Secrets are kept out of repr() so they cannot leak into logs or error messages.
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Settings:
    home: str
    events_root: str
    # How raw files lie below the events root (see timecard.landing): a layout template or
    # None (any known layout), and whether partitions follow arrival or event time.
    events_layout: str | None
    partition_time: str
    output_root: str
    cache_root: str
    instance_alias: str
    reports_dir: str
    s3: S3Settings
    # A session with no logout whose Last activity is older than this is "possibly abandoned".
    abandoned_after_minutes: int = 60
    # The completeness gate of scheduled runs (timecard.completeness): wait for events stamped
    # `settle` after the window end, but no longer than `max_wait` after it; look every
    # `gate_poke_seconds`. Minutes may be fractional.
    settle_minutes: float = 15
    max_wait_minutes: float = 60
    gate_poke_seconds: float = 60
    # How far back the hourly late-data check looks at published windows.
    late_data_horizon_days: int = 7
    # The Airflow connection of the example PostgreSQL load DAG; unset, that DAG does not exist.
    postgres_conn_id: str | None = None
    # The Airflow connection (SMTP provider) that report emails are sent through.
    smtp_conn_id: str = "smtp_default"
    # Where the Airflow UI is reached, for the report links in emails.
    ui_base_url: str = "http://localhost:8080"
    # A published CSV up to this size is attached to its email; a larger one is linked.
    email_attach_max_bytes: int = 5 * 1024 * 1024
    # Unpublished leftovers (staging, revision objects no manifest names) older than this are
    # removed by the next publish; on S3 younger ones may belong to a publish in progress.
    orphan_grace_minutes: float = 60
    # "Save as saved report" in the UI writes the definition file (for users who may edit
    # reports). A deployment that keeps definitions in git turns it off: the page then offers
    # the `timecard reports create` command and the YAML file instead.
    ui_save_definitions: bool = True
    # The most one raw file may hold once decompressed (MiB); a file past it is refused by name
    # before it is decompressed further. Firehose buffers at most 128 MiB per object.
    max_decompressed_mb: int = DEFAULT_MAX_DECOMPRESSED_MB
    # The memory (MiB) a condense and a report size their work by: a raw day is condensed in
    # runs of a sixteenth of it (timecard.condensed.run_bytes), whatever the day's size.
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB


def get_settings(env: dict[str, str] | None = None) -> Settings:
    """Read the settings now (not at import), so tests and tasks see the current environment."""
    env = dict(os.environ if env is None else env)
    default_home = REPO_ROOT / "var" if _IN_CHECKOUT else Path.home() / ".timecard"
    home = env.get("TIMECARD_HOME") or str(default_home)
    default_reports = REPO_ROOT / "reports" if _IN_CHECKOUT else Path(home) / "reports"
    return Settings(
        home=home,
        events_root=env.get("TIMECARD_EVENTS_ROOT") or f"{home}/events",
        events_layout=(env.get("TIMECARD_EVENTS_LAYOUT") or "").strip() or None,
        partition_time=(env.get("TIMECARD_PARTITION_TIME") or "").strip() or "arrival",
        output_root=env.get("TIMECARD_OUTPUT_ROOT") or f"{home}/output",
        cache_root=env.get("TIMECARD_CACHE_ROOT") or f"{home}/cache",
        instance_alias=_path_segment(env, "TIMECARD_INSTANCE_ALIAS", "my-instance"),
        reports_dir=env.get("TIMECARD_REPORTS_DIR") or str(default_reports),
        s3=_s3_settings(env),
        abandoned_after_minutes=_positive_int(env, "TIMECARD_ABANDONED_AFTER_MINUTES", 60),
        settle_minutes=_number(env, "TIMECARD_SETTLE_MINUTES", 15, low=0),
        max_wait_minutes=_number(env, "TIMECARD_MAX_WAIT_MINUTES", 60, low=0),
        gate_poke_seconds=_number(env, "TIMECARD_GATE_POKE_SECONDS", 60, low=1),
        late_data_horizon_days=_positive_int(env, "TIMECARD_LATE_DATA_HORIZON_DAYS", 7),
        postgres_conn_id=env.get("TIMECARD_POSTGRES_CONN_ID") or None,
        smtp_conn_id=env.get("TIMECARD_SMTP_CONN_ID") or "smtp_default",
        ui_base_url=(env.get("TIMECARD_UI_BASE_URL") or "http://localhost:8080").rstrip("/"),
        email_attach_max_bytes=_positive_int(
            env, "TIMECARD_EMAIL_ATTACH_MAX_BYTES", 5 * 1024 * 1024
        ),
        orphan_grace_minutes=_number(env, "TIMECARD_ORPHAN_GRACE_MINUTES", 60, low=0),
        ui_save_definitions=_flag(env, "TIMECARD_UI_SAVE_DEFINITIONS", True),
        max_decompressed_mb=_positive_int(
            env, "TIMECARD_MAX_DECOMPRESSED_MB", DEFAULT_MAX_DECOMPRESSED_MB
        ),
        memory_budget_mb=_positive_int(env, "TIMECARD_MEMORY_BUDGET_MB", DEFAULT_MEMORY_BUDGET_MB),
    )


def _path_segment(env: dict[str, str], name: str, default: str) -> str:
    """A value that becomes one folder name of every output path: it must not escape it."""
    value = (env.get(name) or "").strip() or default
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", value) or ".." in value:
        from timecard.errors import TimecardError

        raise TimecardError(
            f"{name} must be one folder name (letters, digits, '.', '_', '-'; no '..'), "
            f"not {value[:40]!r}."
        )
    return value


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        from timecard.errors import TimecardError

        raise TimecardError(
            f"{name} must be a whole number, at least 1 (default {default}); it is {raw[:40]!r}. "
            "Fix the environment of the process that reads it."
        )
    return int(raw)


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    """true/false (also yes/no, on/off, 1/0, any case); unset or empty is `default`."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "yes", "on", "1"):
        return True
    if raw in ("false", "no", "off", "0"):
        return False
    from timecard.errors import TimecardError

    raise TimecardError(
        f"{name} must be true or false (default {str(default).lower()}); it is {raw[:40]!r}. "
        "Fix the environment of the process that reads it."
    )


def _number(env: dict[str, str], name: str, default: float, low: float) -> float:
    """A decimal number of at least `low`, such as 15 or 0.25."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is None or not low <= value < float("inf"):
        from timecard.errors import TimecardError

        raise TimecardError(
            f"{name} must be a number of at least {low:g}, such as {default:g} or 0.5 "
            f"(default {default:g}); it is {raw[:40]!r}. Fix the environment of the process "
            "that reads it."
        )
    return value


def _s3_settings(env: dict[str, str]) -> S3Settings:
    conn_id = env.get("TIMECARD_AWS_CONN_ID")
    if conn_id:
        return _s3_settings_from_airflow_connection(conn_id)
    return S3Settings(
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        region=env.get("AWS_DEFAULT_REGION") or "us-east-1",
        access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
        secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
        session_token=env.get("AWS_SESSION_TOKEN") or None,
    )


def _s3_settings_from_airflow_connection(conn_id: str) -> S3Settings:
    """S3 access as the Amazon provider resolves the connection: static keys, `role_arn`
    (assume role), a profile, web identity, or no keys at all (the instance or task role).

    The session is resolved once per process; its credentials are read again on every call,
    so refreshable ones (an assumed role's) are renewed by botocore before they expire, and the
    renewed keys reach s3fs and Polars through the new S3Settings value.
    """
    session, endpoint_url, region = _aws_session(conn_id)
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    return S3Settings(
        endpoint_url=endpoint_url,
        region=region,
        access_key_id=frozen.access_key if frozen else None,
        secret_access_key=frozen.secret_key if frozen else None,
        session_token=frozen.token if frozen else None,
    )


@lru_cache(maxsize=4)
def _aws_session(conn_id: str):
    # The CLI must not pay for Airflow unless an Airflow connection is configured.
    from timecard.dependencies import aws_base_hook

    hook = aws_base_hook()(aws_conn_id=conn_id, client_type="s3")
    config = hook.conn_config
    region = config.region_name or "us-east-1"
    return hook.get_session(region_name=region), config.get_service_endpoint_url("s3"), region
