"""Contracts for what condensing a raw partition keeps: normalized events and attributes."""

import polars as pl

from schemas.columns import ATTRIBUTE_COLUMNS, EVENT_COLUMNS
from schemas.pandera_polars import pa

NORMALIZED_EVENTS = pa.DataFrameSchema(
    {
        "event_id": pa.Column(pl.String, checks=pa.Check.str_length(min_value=1)),
        "event_type": pa.Column(pl.String, checks=pa.Check.str_matches(r"^[A-Z0-9_]+$")),
        "event_ts": pa.Column(EVENT_COLUMNS["event_ts"]),
        "agent_arn": pa.Column(pl.String, checks=pa.Check.str_length(min_value=1)),
        "source_file": pa.Column(pl.String),
        "source_row": pa.Column(pl.Int64, checks=pa.Check.ge(1)),
    },
    strict=True,
    ordered=True,
    name="normalized events",
)

SESSION_EVENT_ATTRIBUTES = pa.DataFrameSchema(
    {
        name: pa.Column(dtype, nullable=name not in ("source_file", "source_row"))
        for name, dtype in ATTRIBUTE_COLUMNS.items()
    },
    unique=["source_file", "source_row"],
    strict=True,
    ordered=True,
    name="LOGIN/LOGOUT attributes",
)
