"""Raw agent-event records → normalized events, or quarantine records with a reason.

Input is a frame as read from Parquet or NDJSON: nested structs that mirror the Connect JSON, with
column and field names in any letter case (Firehose/Glue lower-cases them). Output is one flat
row per event with the fields the report uses, plus a `reason` that is null for usable events.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import polars as pl

TIMESTAMP = pl.Datetime("us", "UTC")
KNOWN_EVENT_TYPES = ("LOGIN", "LOGOUT", "STATE_CHANGE", "HEART_BEAT")
SESSION_EVENT_TYPES = ("LOGIN", "LOGOUT")

_CONFIGURATION = ("CurrentAgentSnapshot", "Configuration")
# Flat name → path of field names in the raw record. Core fields are read for every event;
# attributes only for LOGIN/LOGOUT events, since decoding the nested Configuration of every
# heartbeat would cost more than all the rest of condensing together.
CORE_PATHS: dict[str, tuple[str, ...]] = {
    "event_id": ("EventId",),
    "event_type": ("EventType",),
    "agent_arn": ("AgentARN",),
}
ATTRIBUTE_PATHS: dict[str, tuple[str, ...]] = {
    "instance_arn": ("InstanceARN",),
    "username": (*_CONFIGURATION, "Username"),
    "first_name": (*_CONFIGURATION, "FirstName"),
    "last_name": (*_CONFIGURATION, "LastName"),
    "routing_profile": (*_CONFIGURATION, "RoutingProfile", "Name"),
    **{
        f"hierarchy_{level}": (*_CONFIGURATION, "AgentHierarchyGroups", f"Level{level}", "Name")
        for level in range(1, 6)
    },
}
FIELD_PATHS = {**CORE_PATHS, **ATTRIBUTE_PATHS}
TIMESTAMP_PATH = ("EventTimestamp",)
REQUIRED_FIELDS = {"event_id": "EventId", "event_type": "EventType", "agent_arn": "AgentARN"}

# A normalized event: the core fields of one usable record, and where it came from.
EVENT_COLUMNS: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "event_type": pl.String(),
    "event_ts": TIMESTAMP,
    "agent_arn": pl.String(),
    "source_file": pl.String(),
    "source_row": pl.Int64(),
}
SOURCE_KEY = ["source_file", "source_row"]
# The attributes of one LOGIN/LOGOUT record, keyed by where it came from.
ATTRIBUTE_COLUMNS: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_row": pl.Int64(),
    **{flat: pl.String() for flat in ATTRIBUTE_PATHS},
}
# Event types known to carry no session boundary: the only records a lookback-only read skips.
ACTIVITY_ONLY_EVENT_TYPES = ("HEART_BEAT", "STATE_CHANGE")
QUARANTINE_COLUMNS: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_row": pl.Int64(),
    "reason": pl.String(),
    "event_id": pl.String(),
    "event_type": pl.String(),
    "event_timestamp": pl.String(),
    "agent_arn": pl.String(),
}

# Set by a reader on a record it could not decode at all (not UTF-8, not JSON).
PROBLEM_COLUMN = "__problem__"


def canonical_schema() -> dict[str, pl.DataType]:
    """The nested raw schema reduced to the fields the report uses, with canonical names."""
    tree: dict = {}
    for path in [*FIELD_PATHS.values(), TIMESTAMP_PATH]:
        node = tree
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = None

    def dtype(node: dict | None) -> pl.DataType:
        if node is None:
            return pl.String()
        return pl.Struct({name: dtype(child) for name, child in node.items()})

    return {name: dtype(child) for name, child in tree.items()}


_ISO_WITH_OFFSET = "%Y-%m-%dT%H:%M:%S%.f%#z"
_ISO_NAIVE = "%Y-%m-%dT%H:%M:%S%.f"


def _find_field(dtype_fields: dict[str, pl.DataType], name: str) -> str | None:
    """The actual name of `name` among fields, matched case-insensitively."""
    wanted = name.lower()
    return next((actual for actual in dtype_fields if actual.lower() == wanted), None)


def reduced_schema(schema: pl.Schema) -> dict[str, pl.DataType]:
    """The part of a raw schema the report reads, under the file's own names and types.

    Reading a Parquet file with this schema lets the reader skip every other nested field; the
    nested Configuration is by far the costliest thing to decode.
    """
    tree: dict = {}
    for path in [*FIELD_PATHS.values(), TIMESTAMP_PATH]:
        fields, node = dict(schema), tree
        for depth, name in enumerate(path):
            actual = _find_field(fields, name)
            if actual is None:
                break
            dtype = fields[actual]
            if depth == len(path) - 1 or not isinstance(dtype, pl.Struct):
                node[actual] = dtype if depth == len(path) - 1 else node.get(actual, dtype)
                break
            node = node.setdefault(actual, {})
            fields = {field.name: field.dtype for field in dtype.fields}

    def as_dtype(node):
        if isinstance(node, dict):
            return pl.Struct({name: as_dtype(child) for name, child in node.items()})
        return node

    return {name: as_dtype(child) for name, child in tree.items()}


def _path_expr(schema: pl.Schema, path: tuple[str, ...]) -> tuple[pl.Expr | None, pl.DataType]:
    """An expression that reads `path` from nested structs, or None where the schema lacks it."""
    fields: dict[str, pl.DataType] = dict(schema)
    expr: pl.Expr | None = None
    dtype: pl.DataType = pl.Null()
    for depth, name in enumerate(path):
        actual = _find_field(fields, name)
        if actual is None:
            return None, pl.Null()
        expr = pl.col(actual) if expr is None else expr.struct.field(actual)
        dtype = fields[actual]
        if depth < len(path) - 1:
            if not isinstance(dtype, pl.Struct):
                return None, pl.Null()
            fields = {field.name: field.dtype for field in dtype.fields}
    return expr, dtype


def _as_text(expr: pl.Expr | None, dtype: pl.DataType) -> pl.Expr:
    if expr is None or isinstance(dtype, pl.Null | pl.Struct | pl.List | pl.Array):
        # Absent, or a nested value where text was expected: treated as missing.
        return pl.lit(None, pl.String())
    if dtype == pl.String:
        return expr
    return expr.cast(pl.String, strict=False)


def _timestamp_exprs(schema: pl.Schema) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(parsed UTC timestamp, raw text, problem) for EventTimestamp, by its stored type.

    The problem expression reads the `event_ts` and `event_timestamp` output columns.
    """
    expr, dtype = _path_expr(schema, TIMESTAMP_PATH)
    null_ts, null_text = pl.lit(None, TIMESTAMP), pl.lit(None, pl.String())
    if expr is None or isinstance(dtype, pl.Null):
        return null_ts, null_text, null_text
    if dtype == pl.String:
        text = expr.str.strip_chars()
        parsed = text.str.to_datetime(
            _ISO_WITH_OFFSET, time_zone="UTC", time_unit="us", strict=False
        )
        # Stated on the output columns, so each value is parsed once; the naive reading runs
        # only on the values the first one rejected.
        parsed_ts, raw = pl.col("event_ts"), pl.col("event_timestamp")
        naive = (
            pl.when(parsed_ts.is_null())
            .then(raw)
            .str.to_datetime(_ISO_NAIVE, time_unit="us", strict=False)
        )
        problem = (
            pl.when(raw.is_null() | (raw == "") | parsed_ts.is_not_null())
            .then(null_text)
            .when(naive.is_not_null())
            .then(pl.lit("EventTimestamp has no UTC offset, so its instant is ambiguous: ") + raw)
            .otherwise(pl.lit("EventTimestamp is not an ISO-8601 date-time: ") + raw)
        )
        return parsed, text, problem
    if isinstance(dtype, pl.Datetime):
        # A Parquet timestamp without a zone is UTC by the Parquet convention.
        aware = expr.dt.replace_time_zone("UTC") if dtype.time_zone is None else expr
        parsed = aware.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        return parsed, parsed.cast(pl.String), null_text
    problem = pl.lit(
        f"EventTimestamp is stored as {dtype}, not as an ISO-8601 string or a timestamp"
    )
    return null_ts, expr.cast(pl.String, strict=False), problem


def _text(schema: pl.Schema, path: tuple[str, ...]) -> pl.Expr:
    return _as_text(*_path_expr(schema, path)).str.strip_chars()


def flatten(frame: pl.LazyFrame, source_file: str) -> pl.LazyFrame:
    """Raw nested records → one flat row of core fields per record, ready for `with_reasons`.

    `frame` must carry a 1-based `source_row` column (row in Parquet, line in NDJSON).
    """
    schema = frame.collect_schema()
    text_columns = {flat: _text(schema, path).alias(flat) for flat, path in CORE_PATHS.items()}
    parsed, raw_text, problem = _timestamp_exprs(schema)
    record_problem = (
        pl.col(PROBLEM_COLUMN) if PROBLEM_COLUMN in schema else pl.lit(None, pl.String())
    )
    return frame.select(
        *text_columns.values(),
        parsed.alias("event_ts"),
        raw_text.alias("event_timestamp"),
        record_problem.alias("record_problem"),
        pl.lit(source_file, pl.String()).alias("source_file"),
        pl.col("source_row").cast(pl.Int64),
    ).with_columns(problem.alias("timestamp_problem"))


def _raw_event_type(schema: pl.Schema) -> pl.Expr:
    return _text(schema, CORE_PATHS["event_type"]).str.to_uppercase()


def may_bound_a_session(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Only the records that could be a LOGIN or LOGOUT: all but known activity-only types.

    Records with a missing or unknown type stay, so they are checked and counted, never skipped.
    The filter reads only EventType, so the reader can skip decoding the other columns.
    """
    event_type = _raw_event_type(frame.collect_schema())
    return frame.filter(~event_type.is_in(ACTIVITY_ONLY_EVENT_TYPES).fill_null(False))


def session_attributes(frame: pl.LazyFrame, source_file: str) -> pl.LazyFrame:
    """The attributes of the LOGIN/LOGOUT records only, keyed by source file and row.

    The filter touches only EventType, so a Parquet reader decodes Configuration just for the
    rows that pass it.
    """
    schema = frame.collect_schema()
    return frame.filter(_raw_event_type(schema).is_in(SESSION_EVENT_TYPES)).select(
        pl.lit(source_file, pl.String()).alias("source_file"),
        pl.col("source_row").cast(pl.Int64),
        *(_text(schema, path).alias(flat) for flat, path in ATTRIBUTE_PATHS.items()),
    )


def with_reasons(flat: pl.LazyFrame, partition_day: date) -> pl.LazyFrame:
    """Add `reason`: why a record cannot be used, or null. Also upper-cases `event_type`.

    An event more than a day away from its partition's UTC date is quarantined: reports read only
    one neighbouring partition on each side, so no report would ever see it.
    """
    earliest = datetime.combine(partition_day - timedelta(days=1), time(0)).replace(tzinfo=None)
    latest = datetime.combine(partition_day + timedelta(days=2), time(0)).replace(tzinfo=None)
    missing = [
        pl.when(pl.col(flat).is_null() | (pl.col(flat) == "")).then(pl.lit(raw))
        for flat, raw in REQUIRED_FIELDS.items()
    ]
    missing.append(
        pl.when(pl.col("event_timestamp").is_null() | (pl.col("event_timestamp") == "")).then(
            pl.lit("EventTimestamp")
        )
    )
    missing_list = pl.concat_str(missing, separator=", ", ignore_nulls=True)
    naive_ts = pl.col("event_ts").dt.replace_time_zone(None)
    reason = (
        pl.when(pl.col("record_problem").is_not_null())
        .then(pl.col("record_problem"))
        .when(missing_list != "")
        .then(pl.lit("missing required field(s): ") + missing_list)
        .when(pl.col("timestamp_problem").is_not_null())
        .then(pl.col("timestamp_problem"))
        .when((naive_ts < earliest) | (naive_ts >= latest))
        .then(
            pl.lit(
                f"EventTimestamp is more than a day away from its partition date {partition_day}"
            )
            + pl.lit(", so no report would read it: ")
            + pl.col("event_timestamp")
        )
    )
    return flat.with_columns(
        pl.col("event_type").str.to_uppercase(),
        reason.alias("reason"),
    ).drop("timestamp_problem", "record_problem")


def usable_events(checked: pl.LazyFrame) -> pl.LazyFrame:
    return checked.filter(pl.col("reason").is_null()).select(list(EVENT_COLUMNS))


def quarantined(checked: pl.LazyFrame) -> pl.LazyFrame:
    return checked.filter(pl.col("reason").is_not_null()).select(list(QUARANTINE_COLUMNS))


def empty_events() -> pl.DataFrame:
    return pl.DataFrame(schema=EVENT_COLUMNS)


def empty_attributes() -> pl.DataFrame:
    return pl.DataFrame(schema=ATTRIBUTE_COLUMNS)


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_COLUMNS)
