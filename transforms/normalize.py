"""Raw agent-event records → normalized events, or quarantine records with a reason.

Input is a frame as read from Parquet or NDJSON: nested structs that mirror the Connect JSON, with
column and field names in any letter case (Firehose/Glue lower-cases them). Output is one flat
row per event with the fields the report uses, plus a `reason` that is null for usable events.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from functools import lru_cache, partial
from typing import cast

import polars as pl

from schemas.columns import (
    AGENT_ATTRIBUTES,
    ATTRIBUTE_COLUMNS,
    EVENT_COLUMNS,
    HIERARCHY_LEVELS,
    PROBLEM_COLUMN,
    QUARANTINE_COLUMNS,
    TIMESTAMP,
)

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
    **dict(
        zip(
            AGENT_ATTRIBUTES,
            [
                (*_CONFIGURATION, "Username"),
                (*_CONFIGURATION, "FirstName"),
                (*_CONFIGURATION, "LastName"),
                (*_CONFIGURATION, "RoutingProfile", "Name"),
                *(
                    (*_CONFIGURATION, "AgentHierarchyGroups", f"Level{level}", "Name")
                    for level in HIERARCHY_LEVELS
                ),
            ],
            strict=True,
        )
    ),
}
FIELD_PATHS = {**CORE_PATHS, **ATTRIBUTE_PATHS}
TIMESTAMP_PATH = ("EventTimestamp",)
REQUIRED_FIELDS = {"event_id": "EventId", "event_type": "EventType", "agent_arn": "AgentARN"}

# Event types known to carry no session boundary: the only records a lookback-only read skips.
ACTIVITY_ONLY_EVENT_TYPES = ("HEART_BEAT", "STATE_CHANGE")
# A reader that reads several files at once names each record's file in this column.
SOURCE_FILE_COLUMN = "__source_file__"


def canonical_schema() -> dict[str, pl.DataType]:
    """The nested raw schema reduced to the fields the report uses, with canonical names."""
    return {name: tree_dtype(child) for name, child in canonical_tree().items()}


def canonical_tree(paths=None) -> dict:
    """Field paths (by default every field the report uses) as a tree of canonical names; a
    leaf is None."""
    tree: dict = {}
    for path in paths or [*FIELD_PATHS.values(), TIMESTAMP_PATH]:
        node = tree
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = None
    return tree


def struct_fields(dtype: pl.Struct) -> dict[str, pl.DataType]:
    """A struct's fields by name. Polars makes every field's type an instance (`Field` parses
    it), though `Field.dtype` is annotated to allow a class too."""
    return {field.name: cast(pl.DataType, field.dtype) for field in dtype.fields}


def tree_dtype(node: dict | None) -> pl.DataType:
    if node is None:
        return pl.String()
    return pl.Struct({name: tree_dtype(child) for name, child in node.items()})


_ISO_WITH_OFFSET = "%Y-%m-%dT%H:%M:%S%.f%#z"
_ISO_NAIVE = "%Y-%m-%dT%H:%M:%S%.f"


def _find_fields(fields: dict[str, pl.DataType], name: str) -> list[str]:
    """The actual names matching `name` case-insensitively (Firehose/Glue lower-case them;
    a JSON file may spell a name both ways)."""
    wanted = name.lower()
    return [actual for actual in fields if actual.lower() == wanted]


def reduced_schema(schema: pl.Schema) -> dict[str, pl.DataType]:
    """The part of a raw schema the report reads, under the file's own names and types.

    Reading a Parquet file with this schema lets the reader skip every other nested field; the
    nested Configuration is by far the costliest thing to decode. A field stored as JSON text
    (a Glue `string` column) is kept whole: the attributes are decoded from it later.
    """

    def reduce(fields: dict[str, pl.DataType], tree: dict) -> dict[str, pl.DataType]:
        kept: dict[str, pl.DataType] = {}
        for name, child in tree.items():
            for actual in _find_fields(fields, name):
                dtype = fields[actual]
                if child is not None and isinstance(dtype, pl.Struct):
                    inner = reduce(struct_fields(dtype), child)
                    kept[actual] = pl.Struct(inner) if inner else dtype
                else:
                    kept[actual] = dtype
        return kept

    return reduce(dict(schema), canonical_tree())


# -- JSON text inside records ------------------------------------------------------------------
#
# Real landings keep parts of a record as JSON text: Glue tables typed `string` turn the whole
# CurrentAgentSnapshot (or just AgentHierarchyGroups) into text, with CamelCase or lower-case
# keys. Only LOGIN/LOGOUT records need their snapshot, so the text is decoded record by record,
# leniently: a value of an unexpected type (the string "null" where an object belongs, a number
# for a name) makes that field null, never the batch fail.


def canonical_values(value, node: dict | None):
    """A parsed JSON value in the shape of the canonical tree `node`: canonical names matched
    in any case, JSON text decoded, leaves as text; None where the shape does not fit."""
    if node is None:
        if value is None or isinstance(value, dict | list):
            return None
        return value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, str):
        value = _json_or_none(value)
    if not isinstance(value, dict):
        return None
    by_name: dict[str, list] = {}
    for key, child in value.items():
        by_name.setdefault(str(key).lower(), []).append(child)
    shaped = {}
    for name, child in node.items():
        found = (canonical_values(v, child) for v in by_name.get(name.lower(), []))
        shaped[name] = next((v for v in found if v is not None), None)
    return shaped


def _json_or_none(text: str):
    try:
        return json.loads(text, strict=False)  # strict=False: raw control characters in strings
    except ValueError:
        return None


# -- a snapshot that is not the documented object ------------------------------------------------
#
# A LOGIN/LOGOUT's names, routing profile and hierarchy come from its CurrentAgentSnapshot: an
# object, or JSON text of one (Glue `string` columns). Stored as anything else (a list, a Parquet
# map, text that is not JSON), it cannot be read, and the record is quarantined with the reason
# rather than giving a row with blank attributes.

_SNAPSHOT_NAME = _CONFIGURATION[0]


def snapshot_problem(value) -> str | None:
    """Why a parsed snapshot value cannot be read as the documented object, or None (an
    object, JSON text of one, or nothing: null, empty text, the text "null")."""
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        parsed = _json_or_none(value)
        if isinstance(parsed, dict) or (parsed is None and value.strip() == "null"):
            return None
        what = "text that is not JSON" if parsed is None else f"JSON text of {_kind(parsed)}"
    else:
        what = _kind(value)
    return _snapshot_message(what)


def _kind(value) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def record_snapshot_problem(record: dict) -> str | None:
    """`snapshot_problem` of a parsed LOGIN/LOGOUT record's snapshot (None for other types)."""
    by_name = {str(key).lower(): value for key, value in record.items()}
    event_type = by_name.get("eventtype")
    if not (isinstance(event_type, str) and event_type.strip().upper() in SESSION_EVENT_TYPES):
        return None
    return snapshot_problem(by_name.get(_SNAPSHOT_NAME.lower()))


def _snapshot_message(what: str) -> str:
    return (
        f"{_SNAPSHOT_NAME} is {what}, not an object, so this LOGIN/LOGOUT's names, routing "
        "profile and hierarchy cannot be read"
    )


def _snapshot_problem_expr(schema: pl.Schema) -> pl.Expr | None:
    """The snapshot problem of each LOGIN/LOGOUT row of a frame as its schema stores the
    snapshot; None when the schema stores it as an object (or not at all)."""
    problems = []
    is_session = _raw_event_type(schema).is_in(SESSION_EVENT_TYPES).fill_null(False)
    for name in _find_fields(dict(schema), _SNAPSHOT_NAME):
        dtype = schema[name]
        if isinstance(dtype, pl.Struct | pl.Null):
            continue
        if dtype == pl.String:
            # Native string tests, not a parse, so a lookback read still decodes the text only
            # for the rows its filter keeps: JSON text of an object starts with "{" (text that
            # starts so but does not parse gives blank attributes, as it always did).
            text = pl.col(name).str.strip_chars()
            unreadable = ~(text.str.starts_with("{") | text.is_in(["", "null"]) | text.is_null())
            problems.append(
                pl.when(is_session & unreadable).then(
                    pl.when(text.str.starts_with("["))
                    .then(pl.lit(_snapshot_message("JSON text of a list")))
                    .otherwise(pl.lit(_snapshot_message("text that is not JSON")))
                )
            )
            continue
        if isinstance(dtype, pl.Map):
            what = "a map"
        elif isinstance(dtype, pl.List | pl.Array):
            what = "a list"
        else:
            what = f"stored as {dtype}"
        problems.append(
            pl.when(is_session & pl.col(name).is_not_null()).then(pl.lit(_snapshot_message(what)))
        )
    return pl.coalesce(problems) if problems else None


def json_text_as(texts: pl.Series, node: dict) -> pl.Series:
    """JSON texts → the canonical struct `node` describes (see `canonical_values`)."""
    return pl.Series(
        texts.name,
        [None if text is None else canonical_values(text, node) for text in texts],
        dtype=tree_dtype(node),
    )


def _canonical(candidates: list[tuple[pl.Expr, pl.DataType]], node: dict | None) -> pl.Expr:
    """A field in the shape of the canonical tree `node` (canonical names, JSON text decoded,
    leaves as text), from every spelling of it the data holds: each leaf is the first non-null
    one. Absent fields, and leaves where objects belong, are null."""
    if node is None:
        texts = [_as_text(expr, dtype) for expr, dtype in candidates]
        return pl.coalesce(texts) if texts else pl.lit(None, pl.String())
    structs: list[tuple[pl.Expr, dict[str, pl.DataType]]] = []
    for expr, dtype in candidates:
        if dtype == pl.String:
            dtype = tree_dtype(node)
            expr = expr.map_batches(partial(json_text_as, node=node), return_dtype=dtype)
        if isinstance(dtype, pl.Struct):
            structs.append((expr, struct_fields(dtype)))
    children = [
        _canonical(
            [
                (expr.struct.field(actual), fields[actual])
                for expr, fields in structs
                for actual in _find_fields(fields, name)
            ],
            child,
        ).alias(name)
        for name, child in node.items()
    ]
    return pl.struct(children)


def _field(schema: pl.Schema, name: str, node: dict | None = None) -> pl.Expr:
    """A top-level field in canonical shape, whichever spelling (or spellings) the file uses."""
    fields = dict(schema)
    return _canonical(
        [(pl.col(actual), fields[actual]) for actual in _find_fields(fields, name)], node
    )


def _as_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Null | pl.Struct | pl.List | pl.Array):
        # A nested value where text was expected: treated as missing.
        return pl.lit(None, pl.String())
    if dtype == pl.String:
        return expr
    return expr.cast(pl.String, strict=False)


def _text(schema: pl.Schema, name: str) -> pl.Expr:
    return _field(schema, name).str.strip_chars()


def _timestamp_exprs(schema: pl.Schema) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(parsed UTC timestamp, raw text, problem) for EventTimestamp, by its stored type.

    The problem expression reads the `event_ts` and `event_timestamp` output columns.
    """
    matches = _find_fields(dict(schema), TIMESTAMP_PATH[0])
    null_ts, null_text = pl.lit(None, TIMESTAMP), pl.lit(None, pl.String())
    typed = [(pl.col(name), schema[name]) for name in matches if schema[name] != pl.Null]
    if not typed:
        return null_ts, null_text, null_text
    if all(dtype == pl.String for _, dtype in typed):
        text = pl.coalesce([expr for expr, _ in typed]).str.strip_chars()
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
    expr, dtype = typed[0]
    if isinstance(dtype, pl.Datetime):
        # A Parquet timestamp without a zone is UTC by the Parquet convention.
        aware = expr.dt.replace_time_zone("UTC") if dtype.time_zone is None else expr
        parsed = aware.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        return parsed, parsed.cast(pl.String), null_text
    problem = pl.lit(
        f"EventTimestamp is stored as {dtype}, not as an ISO-8601 string or a timestamp"
    )
    return null_ts, expr.cast(pl.String, strict=False), problem


def flatten(frame: pl.LazyFrame, source_file: str | None = None) -> pl.LazyFrame:
    """Raw records → one flat row of core fields per record, ready for `with_reasons`.

    `frame` must carry a 1-based `source_row` column (the record's row or number in its file),
    and either come from the one file `source_file` or name each record's file in
    `SOURCE_FILE_COLUMN` (records of several files read at once).
    """
    columns, problem = _flat_columns(tuple(frame.collect_schema().items()))
    return frame.select(
        *columns[:-1], _source_file(source_file).alias("source_file"), columns[-1]
    ).with_columns(problem.alias("timestamp_problem"))


def _source_file(source_file: str | None) -> pl.Expr:
    if source_file is None:
        return pl.col(SOURCE_FILE_COLUMN).cast(pl.String)
    return pl.lit(source_file, pl.String())


@lru_cache(maxsize=64)
def _flat_columns(fields: tuple) -> tuple[tuple[pl.Expr, ...], pl.Expr]:
    """`flatten`'s expressions for one raw schema (the files of a day usually share one)."""
    schema = pl.Schema(fields)
    text_columns = [_text(schema, path[0]).alias(flat) for flat, path in CORE_PATHS.items()]
    parsed, raw_text, problem = _timestamp_exprs(schema)
    record_problem = (
        pl.col(PROBLEM_COLUMN) if PROBLEM_COLUMN in schema else pl.lit(None, pl.String())
    )
    if (snapshot := _snapshot_problem_expr(schema)) is not None:
        record_problem = pl.coalesce(record_problem, snapshot)
    columns = (
        *text_columns,
        parsed.alias("event_ts"),
        raw_text.alias("event_timestamp"),
        record_problem.alias("record_problem"),
        pl.col("source_row").cast(pl.Int64),
    )
    return columns, problem


def _raw_event_type(schema: pl.Schema) -> pl.Expr:
    return _text(schema, CORE_PATHS["event_type"][0]).str.to_uppercase()


def may_bound_a_session(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Only the records that could be a LOGIN or LOGOUT: all but known activity-only types.

    Records with a missing or unknown type stay, so they are checked and counted, never skipped.
    The filter reads only EventType, so the reader can skip decoding the other columns.
    """
    event_type = _raw_event_type(frame.collect_schema())
    return frame.filter(~event_type.is_in(ACTIVITY_ONLY_EVENT_TYPES).fill_null(False))


def session_attributes(frame: pl.LazyFrame, source_file: str | None = None) -> pl.LazyFrame:
    """The attributes of the LOGIN/LOGOUT records only, keyed by source file and row.

    Attributes come from CurrentAgentSnapshot only: PreviousAgentSnapshot may be missing or
    differ (after a routing-profile change) and never feeds the report. The filter touches only
    EventType, so a Parquet reader decodes the snapshot (or its JSON text) just for the rows that
    pass it, and the snapshot is put in canonical shape once for all its attributes.
    """
    is_session, snapshot, attributes = _attribute_exprs(tuple(frame.collect_schema().items()))
    return (
        frame.filter(is_session)
        .with_columns(snapshot)
        .select(
            _source_file(source_file).alias("source_file"),
            pl.col("source_row").cast(pl.Int64),
            *attributes,
        )
    )


@lru_cache(maxsize=64)
def _attribute_exprs(fields: tuple) -> tuple[pl.Expr, pl.Expr, tuple[pl.Expr, ...]]:
    """`session_attributes`' expressions for one raw schema."""
    schema = pl.Schema(fields)
    snapshot_name = _CONFIGURATION[0]
    snapshot = _field(schema, snapshot_name, canonical_tree()[snapshot_name])

    def attribute(path: tuple[str, ...]) -> pl.Expr:
        if len(path) == 1:
            return _text(schema, path[0])
        expr = pl.col(_SNAPSHOT)
        for name in path[1:]:
            expr = expr.struct.field(name)
        return expr.str.strip_chars()

    attributes = tuple(attribute(path).alias(flat) for flat, path in ATTRIBUTE_PATHS.items())
    is_session = _raw_event_type(schema).is_in(SESSION_EVENT_TYPES)
    return is_session, snapshot.alias(_SNAPSHOT), attributes


_SNAPSHOT = "__current_snapshot__"


def with_reasons(flat: pl.LazyFrame, partition_day: date, neighbour_days: int = 1) -> pl.LazyFrame:
    """Add `reason`: why a record cannot be used, or null. Also upper-cases `event_type`.

    An event farther from its partition's UTC date than the neighbouring partitions reports read
    (one day on each side where partitions follow arrival time, none where they follow event
    time) is quarantined: no report would ever see it.
    """
    return flat.with_columns(
        pl.col("event_type").str.to_uppercase(),
        _reason(partition_day, neighbour_days).alias("reason"),
    ).drop("timestamp_problem", "record_problem")


# A day's files share these expressions: built once, not once per file (a day is 96-288 files).
@lru_cache(maxsize=64)
def _reason(partition_day: date, neighbour_days: int) -> pl.Expr:
    earliest = datetime.combine(partition_day - timedelta(days=neighbour_days), time(0))
    latest = datetime.combine(partition_day + timedelta(days=1 + neighbour_days), time(0))
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
    return (
        pl.when(pl.col("record_problem").is_not_null())
        .then(pl.col("record_problem"))
        .when(missing_list != "")
        .then(pl.lit("missing required field(s): ") + missing_list)
        .when(pl.col("timestamp_problem").is_not_null())
        .then(pl.col("timestamp_problem"))
        .when((naive_ts < earliest) | (naive_ts >= latest))
        .then(
            pl.lit(_outside_partition(partition_day, neighbour_days))
            + pl.lit(", so no report would read it: ")
            + pl.col("event_timestamp")
        )
    )


def _outside_partition(partition_day: date, neighbour_days: int) -> str:
    if neighbour_days:
        return f"EventTimestamp is more than a day away from its partition date {partition_day}"
    return f"EventTimestamp is not on its event-time partition date {partition_day}"


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
