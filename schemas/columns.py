"""The names (and types) of every data contract's columns, owned here and imported by
`transforms/`. Plain values only: importing this module costs Polars, not Pandera.
"""

from __future__ import annotations

import polars as pl

TIMESTAMP = pl.Datetime("us", "UTC")
WALL_CLOCK = pl.Datetime("us")

# -- normalized events (one per usable raw record) and the quarantine ----------------------------

EVENT_COLUMNS: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "event_type": pl.String(),
    "event_ts": TIMESTAMP,
    "agent_arn": pl.String(),
    "source_file": pl.String(),
    "source_row": pl.Int64(),
}
# Where a record came from: its file and its row (Parquet) or record number (JSON).
SOURCE_KEY = ["source_file", "source_row"]
# Set by a reader on a raw record it could not decode at all (not UTF-8, not JSON); normalize
# quarantines such a record with this column's text as the reason.
PROBLEM_COLUMN = "__problem__"
QUARANTINE_COLUMNS: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_row": pl.Int64(),
    "reason": pl.String(),
    "event_id": pl.String(),
    "event_type": pl.String(),
    "event_timestamp": pl.String(),
    "agent_arn": pl.String(),
}

# -- agent attributes of LOGIN/LOGOUT records ----------------------------------------------------

HIERARCHY_LEVELS = range(1, 6)
# The attributes a report row shows, in report order.
AGENT_ATTRIBUTES = (
    "username",
    "first_name",
    "last_name",
    "routing_profile",
    *(f"hierarchy_{level}" for level in HIERARCHY_LEVELS),
)
ATTRIBUTE_COLUMNS: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_row": pl.Int64(),
    "instance_arn": pl.String(),
    **{name: pl.String() for name in AGENT_ATTRIBUTES},
}

# -- the session table ---------------------------------------------------------------------------

SESSION_COLUMNS: dict[str, pl.DataType] = {
    "agent_arn": pl.String(),
    **{name: pl.String() for name in AGENT_ATTRIBUTES},
    "login_ts": TIMESTAMP,
    "logout_ts": TIMESTAMP,
    # Where activity stops counting for a session with no logout: the next LOGIN, or window end.
    "bound_ts": TIMESTAMP,
    "last_activity_ts": TIMESTAMP,
}

# -- the Login/Logout report (CSV) ---------------------------------------------------------------

REPORT_HEADER = (
    "Username",
    "First name",
    "Last name",
    "Routing profile",
    *(f"Hierarchy level {level}" for level in HIERARCHY_LEVELS),
    "Login time",
    "Logout time",
    "Session duration",
    "Session duration (seconds)",
    "Last activity",
    "Agent ARN",
)
# Session table column → report column.
TEXT_COLUMNS = dict(zip(AGENT_ATTRIBUTES, REPORT_HEADER[: len(AGENT_ATTRIBUTES)], strict=True))
TIME_COLUMNS = {
    "login_ts": "Login time",
    "logout_ts": "Logout time",
    "last_activity_ts": "Last activity",
}
# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# -- the typed sessions dataset (Parquet) --------------------------------------------------------

# Session table column → typed column: the CSV's header in snake_case.
TEXT_NAMES = {src: dst.lower().replace(" ", "_") for src, dst in TEXT_COLUMNS.items()}
TIME_NAMES = {
    "login_ts": "login_time",
    "logout_ts": "logout_time",
    "last_activity_ts": "last_activity",
}
TYPED_COLUMNS: dict[str, pl.DataType] = {
    **{name: pl.String() for name in TEXT_NAMES.values()},
    **{f"{name}_utc": TIMESTAMP for name in TIME_NAMES.values()},
    **{f"{name}_local": WALL_CLOCK for name in TIME_NAMES.values()},
    "timezone": pl.String(),
    "session_duration_seconds": pl.Int64(),
    "possibly_abandoned": pl.Boolean(),
    "agent_arn": pl.String(),
    "report_slug": pl.String(),
    "window_start_utc": TIMESTAMP,
}
