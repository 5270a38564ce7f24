"""Contract for normalized agent events (what condensing a raw partition keeps)."""

import pandera.polars as pa
import polars as pl

from transforms.normalize import NORMALIZED_COLUMNS

_REQUIRED = ("event_id", "event_type", "event_ts", "agent_arn", "source_file", "source_row")

NORMALIZED_EVENTS = pa.DataFrameSchema(
    {
        name: pa.Column(
            dtype,
            nullable=name not in _REQUIRED,
            checks=[pa.Check.str_length(min_value=1)] if name in ("event_id", "agent_arn") else [],
        )
        for name, dtype in NORMALIZED_COLUMNS.items()
    }
    | {
        "event_type": pa.Column(pl.String, checks=pa.Check.str_matches(r"^[A-Z0-9_]+$")),
        "source_row": pa.Column(pl.Int64, checks=pa.Check.ge(1)),
    },
    strict=True,
    ordered=True,
    name="normalized events",
)
