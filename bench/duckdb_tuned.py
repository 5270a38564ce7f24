"""The benchmark's yardstick: the daily report as a tuned DuckDB query over the raw files.

`tests/reference/duckdb_reference.py` is written for exact, independent semantics (every record
validated and deduplicated, every text trimmed) and is slow on purpose. This is the query a data
engineer who knows the stream would write for speed, with the same result on the event stream:

- each input kind is read natively: `read_json` with explicit column types (NDJSON, or
  concatenated records as `unstructured`, gzip or not) and `read_parquet` (nested structs, or
  snapshots kept as JSON text, names in any letter case);
- filters come first: on lookback days only records whose EventType is not HEART_BEAT or
  STATE_CHANGE are kept, and the snapshot is taken only from those;
- only LOGIN/LOGOUT rows are trimmed, validated and deduplicated (copies of an EventId are
  Kinesis redeliveries of one record: the first by partition day and file is kept); the
  activity of the window's other records is taken as written (no edge white space to trim);
- Last activity is an as-of join of the window's activity, for open sessions only.

Where it is narrower than timecard (it is a yardstick, not a second implementation): local
folders in the `date=`, `year=/month=/day=` or `YYYY/MM/DD/HH` layouts, partitions by arrival
time; JSON keys spelled as Connect spells them; invalid records skipped, nothing counted. The
benchmark asserts that its CSV equals timecard's byte for byte on every run.
"""

from __future__ import annotations

import json
import os
import zlib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import duckdb

HEADER = (
    "Username",
    "First name",
    "Last name",
    "Routing profile",
    *(f"Hierarchy level {level}" for level in range(1, 6)),
    "Login time",
    "Logout time",
    "Session duration",
    "Session duration (seconds)",
    "Last activity",
    "Agent ARN",
)
_CONFIGURATION = ("CurrentAgentSnapshot", "Configuration")
ATTRIBUTE_PATHS = {
    "username": (*_CONFIGURATION, "Username"),
    "first_name": (*_CONFIGURATION, "FirstName"),
    "last_name": (*_CONFIGURATION, "LastName"),
    "routing_profile": (*_CONFIGURATION, "RoutingProfile", "Name"),
    **{
        f"level{n}": (*_CONFIGURATION, "AgentHierarchyGroups", f"Level{n}", "Name")
        for n in range(1, 6)
    },
}
CORE_FIELDS = {
    "event_id": "EventId",
    "event_type": "EventType",
    "event_timestamp": "EventTimestamp",
    "agent_arn": "AgentARN",
}
# Unicode's White_Space: what timecard trims from the edges of a text field.
WHITE_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
WHITE_SPACE += "\u2028\u2029\u202f\u205f\u3000"
# An instant needs an offset: a timestamp without one is not one.
_HAS_OFFSET = r"(Z|z|[+-]\d{2}(:?\d{2})?)$"

_MACROS = r"""
CREATE TEMP MACRO clean(text) AS nullif(trim(text, $white_space), '');
CREATE TEMP MACRO formula_guard(text) AS
    CASE WHEN left(text, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || text
         ELSE coalesce(text, '') END;
CREATE TEMP MACRO offset_text(seconds) AS
    CASE WHEN seconds < 0 THEN '-' ELSE '+' END
    || lpad((abs(seconds) // 3600)::VARCHAR, 2, '0') || ':'
    || lpad((abs(seconds) % 3600 // 60)::VARCHAR, 2, '0');
CREATE TEMP MACRO local_iso(instant, zone) AS coalesce(
    strftime(timezone(zone, instant), '%Y-%m-%dT%H:%M:%S')
    || offset_text((epoch_us(timezone(zone, instant)) - epoch_us(instant)) // 1000000),
    '');
"""

_REPORT_SQL = """
WITH firsts AS (
    -- Records more than a day from their arrival partition's date are not used (timecard
    -- quarantines them); of the rest, one copy of each EventId.
    SELECT * EXCLUDE (day, path) FROM (
        SELECT s.*, f.day FROM session_rows AS s JOIN files AS f USING (path)
        WHERE s.event_ts >= f.day - INTERVAL 1 DAY AND s.event_ts < f.day + INTERVAL 2 DAY
    )
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY day, path) = 1
),
walk AS (
    SELECT *,
        lag(event_type) OVER agent_order AS previous_type,
        lead(event_type) OVER agent_order AS next_type,
        lead(event_ts) OVER agent_order AS next_ts,
        row_number() OVER agent_order AS walk_no
    FROM firsts
    WHERE event_ts >= $lookback_start::TIMESTAMPTZ AND event_ts < $window_end::TIMESTAMPTZ
    WINDOW agent_order AS (PARTITION BY agent_arn ORDER BY event_ts, event_type = 'LOGOUT',
                           event_id)
),
sessions AS (
    SELECT agent_arn, walk_no, snapshot, event_ts AS login,
        CASE WHEN next_type = 'LOGOUT' THEN next_ts END AS logout,
        CASE WHEN next_type = 'LOGIN' THEN next_ts
             WHEN next_type IS NULL THEN $window_end::TIMESTAMPTZ END AS bound
    FROM walk WHERE event_type = 'LOGIN'
    UNION ALL
    SELECT agent_arn, walk_no, snapshot, NULL, event_ts, NULL
    FROM walk WHERE event_type = 'LOGOUT' AND coalesce(previous_type, 'LOGOUT') = 'LOGOUT'
),
report_sessions AS (
    SELECT * FROM sessions
    WHERE (login >= $window_start::TIMESTAMPTZ AND login < $window_end::TIMESTAMPTZ)
       OR (logout >= $window_start::TIMESTAMPTZ AND logout < $window_end::TIMESTAMPTZ)
),
open_sessions AS (
    SELECT agent_arn, walk_no, login, bound FROM report_sessions WHERE logout IS NULL
),
last_activity AS (
    SELECT o.agent_arn, o.walk_no,
        CASE WHEN a.event_ts >= o.login THEN a.event_ts END AS last_activity
    FROM open_sessions AS o ASOF LEFT JOIN activity AS a
      ON o.agent_arn = a.agent_arn AND o.bound > a.event_ts
),
report_rows AS (
    SELECT s.*,
        date_trunc('second', s.login) AS login_second,
        date_trunc('second', s.logout) AS logout_second,
        (epoch_us(logout_second) - epoch_us(login_second)) // 1000000 AS duration_seconds,
        date_trunc('second', a.last_activity) AS last_activity_second
    FROM report_sessions AS s LEFT JOIN last_activity AS a USING (agent_arn, walk_no)
)
SELECT
    formula_guard(snapshot.username), formula_guard(snapshot.first_name),
    formula_guard(snapshot.last_name), formula_guard(snapshot.routing_profile),
    formula_guard(snapshot.level1), formula_guard(snapshot.level2),
    formula_guard(snapshot.level3), formula_guard(snapshot.level4),
    formula_guard(snapshot.level5),
    local_iso(login_second, $tz), local_iso(logout_second, $tz),
    coalesce((duration_seconds // 3600)::VARCHAR || ':'
             || lpad((duration_seconds % 3600 // 60)::VARCHAR, 2, '0') || ':'
             || lpad((duration_seconds % 60)::VARCHAR, 2, '0'), ''),
    coalesce(duration_seconds::VARCHAR, ''),
    local_iso(last_activity_second, $tz),
    formula_guard(agent_arn)
FROM report_rows
ORDER BY snapshot.username NULLS LAST, login_second NULLS FIRST, logout_second NULLS LAST,
    agent_arn, last_activity_second NULLS FIRST,
    snapshot.first_name NULLS FIRST, snapshot.last_name NULLS FIRST,
    snapshot.routing_profile NULLS FIRST, snapshot.level1 NULLS FIRST,
    snapshot.level2 NULLS FIRST, snapshot.level3 NULLS FIRST, snapshot.level4 NULLS FIRST,
    snapshot.level5 NULLS FIRST
"""


def tuned_report_csv(
    events_root: str,
    window_start: datetime,
    window_end: datetime,
    tz: str,
    lookback_days: int = 31,
) -> str:
    """The daily report's CSV: header and rows, RFC 4180 quoting, "\\n" line ends."""
    lookback_start = window_start - timedelta(days=lookback_days)
    window_days = set(_partition_days(window_start, window_end))
    files = [
        (day, path, day in window_days)
        for day in _partition_days(lookback_start, window_end)
        for path in _day_files(events_root, day)
    ]
    parameters = {
        "lookback_start": lookback_start.isoformat(),
        "window_start": window_start.isoformat(),
        "window_end": window_end.isoformat(),
        "tz": tz,
    }
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(_MACROS.replace("$white_space", _literal(WHITE_SPACE)))
        connection.execute(
            "CREATE TEMP TABLE files AS SELECT * FROM (VALUES "
            + ", ".join(
                f"({number}, {_literal(path)}, DATE '{day}', {in_window})"
                for number, (day, path, in_window) in enumerate(files)
            )
            + ") AS files(file_no, path, day, in_window)"
            if files
            else "CREATE TEMP TABLE files (file_no INT, path VARCHAR, day DATE, in_window BOOL)"
        )
        _load_events(connection, files, window_start, window_end)
        rows = connection.execute(_REPORT_SQL, parameters).fetchall()
    lines = [HEADER, *rows]
    return "".join(",".join(_csv_field(value) for value in row) + "\n" for row in lines)


# -- reading the raw files ------------------------------------------------------------------------


def _load_events(connection, files, window_start: datetime, window_end: datetime) -> None:
    """Two small tables from one read of each file: `session_rows` (the valid LOGIN/LOGOUT
    records, with their snapshot) and `activity` (agent and instant of every valid record of
    the window's partitions, inside the window)."""
    groups: dict[tuple, list[str]] = defaultdict(list)
    for _, path, in_window in files:
        groups[(_sniff(path), in_window)].append(path)
    session_selects, activity_selects = [], []
    for ((kind, option), in_window), paths in groups.items():
        for source, fields in _sources(connection, kind, option, paths):
            raw = {name: _raw_text(fields[name]) for name in CORE_FIELDS}
            is_candidate = f"{raw['event_type']} NOT IN ('HEART_BEAT', 'STATE_CHANGE')"
            columns = (
                f"source.filename AS path, {raw['event_id']} AS event_id, "
                f"{raw['event_type']} AS event_type, {raw['agent_arn']} AS agent_arn, "
                f"{raw['event_timestamp']} AS event_timestamp"
            )
            candidates = (
                f"(SELECT {columns}, {_snapshot(fields)} AS snapshot FROM {source} AS source "
                f"WHERE {is_candidate})"
            )
            valid_activity = "event_id <> '' AND event_type <> '' AND agent_arn <> ''"
            if in_window and kind == "json":
                # JSON is parsed whole whatever is selected: read the window's files once, with
                # the snapshot of the candidates only.
                table = f"window_{len(activity_selects)}"
                connection.execute(
                    f"CREATE TEMP TABLE {table} AS SELECT {columns}, "
                    f"CASE WHEN {is_candidate} THEN {_snapshot(fields)} END AS snapshot "
                    f"FROM {source} AS source"
                )
                candidates = table
                activity_selects.append(
                    f"SELECT agent_arn, {_instant('event_timestamp')} AS event_ts FROM {table} "
                    f"WHERE {valid_activity}"
                )
            elif in_window:
                # Parquet reads only the columns asked for: the core ones of every record here,
                # the snapshot of the candidates below.
                activity_selects.append(
                    f"SELECT agent_arn, {_instant('event_timestamp')} AS event_ts "
                    f"FROM (SELECT {columns} FROM {source} AS source) WHERE {valid_activity}"
                )
            session_selects.append(f"SELECT * FROM {candidates}")
    empty = "SELECT NULL AS path, NULL AS event_id, NULL AS event_type, NULL AS agent_arn, "
    empty += "NULL AS event_timestamp, "
    empty += f"{{{', '.join(f'{_literal(name)}: NULL::VARCHAR' for name in ATTRIBUTE_PATHS)}}} "
    # The cheap filter alone first: DuckDB would otherwise run the exact checks, which trim
    # Unicode white space, inside the scan on every record.
    connection.execute(
        "CREATE TEMP TABLE candidates AS "
        + " UNION ALL ".join(session_selects or [empty + "AS snapshot LIMIT 0"])
    )
    connection.execute("CREATE TEMP TABLE session_rows AS " + _session_select("candidates"))
    connection.execute(
        "CREATE TEMP TABLE activity AS SELECT * FROM ("
        + " UNION ALL ".join(
            activity_selects or ["SELECT NULL AS agent_arn, NULL::TIMESTAMPTZ AS event_ts LIMIT 0"]
        )
        + ") WHERE event_ts >= $start::TIMESTAMPTZ AND event_ts < $end::TIMESTAMPTZ",
        {"start": window_start.isoformat(), "end": window_end.isoformat()},
    )


def _session_select(rows: str) -> str:
    """The valid LOGIN/LOGOUT records of `rows`, every text trimmed as timecard trims it."""
    cleaned = {name: f"clean({name})" for name in ("event_id", "event_type", "agent_arn")}
    valid = " AND ".join(f"{expression} IS NOT NULL" for expression in cleaned.values())
    timestamp = f"trim(event_timestamp, {_literal(WHITE_SPACE)})"
    return (
        f"SELECT path, {cleaned['event_id']} AS event_id, upper({cleaned['event_type']}) "
        f"AS event_type, {_instant(timestamp)} AS event_ts, {cleaned['agent_arn']} AS agent_arn, "
        f"snapshot FROM {rows} AS candidates "
        "WHERE event_type NOT IN ('HEART_BEAT', 'STATE_CHANGE') "
        f"AND upper({cleaned['event_type']}) IN ('LOGIN', 'LOGOUT') AND {valid}"
    )


def _sniff(path: str) -> tuple[str, str]:
    """(parquet, "") or (json format, compression) from the file's first bytes."""
    with open(path, "rb") as file:
        head = file.read(1 << 16)
    if head.startswith(b"PAR1"):
        return "parquet", ""
    compression = "none"
    if head.startswith(b"\x1f\x8b"):
        compression = "gzip"
        head = zlib.decompressobj(31).decompress(head, 1 << 16)
    first_line = head.lstrip().split(b"\n", 1)[0]
    # One record per line, or records back to back (Firehose's default) or pretty-printed.
    shape = "unstructured" if b"}{" in first_line or not first_line.endswith(b"}") else "nd"
    return ("json", f"{'newline_delimited' if shape == 'nd' else 'unstructured'}/{compression}")


def _sources(connection, kind: str, option: str, paths: list[str]):
    """(table function, {field: (SQL expression, DuckDB type)}) for a group of files."""
    if kind == "json":
        json_format, compression = option.split("/")
        source = (
            f"read_json({_sql_list(paths)}, columns={_json_columns()}, format='{json_format}', "
            f"compression='{compression}', filename=true, hive_partitioning=false)"
        )
        yield source, _resolve_all(connection, source)
        return
    # One read per distinct schema, so each read has one set of names and types.
    schemas = defaultdict(list)
    for path, name, duckdb_type in connection.execute(
        "SELECT file_name, name, duckdb_type FROM parquet_schema($paths)", {"paths": paths}
    ).fetchall():
        schemas[path].append((name, duckdb_type))
    same_schema = defaultdict(list)
    for path in paths:
        same_schema[tuple(schemas[path])].append(path)
    for group in same_schema.values():
        source = (
            f"read_parquet({_sql_list(group)}, filename=true, hive_partitioning=false, "
            "binary_as_string=true)"
        )
        yield source, _resolve_all(connection, source)


def _json_columns() -> str:
    tree: dict = {name: None for name in CORE_FIELDS.values()}
    for path in ATTRIBUTE_PATHS.values():
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = None

    def sql_type(node: dict | None) -> str:
        if node is None:
            return "VARCHAR"
        return "STRUCT(" + ", ".join(f'"{k}" {sql_type(v)}' for k, v in node.items()) + ")"

    return "{" + ", ".join(f"{_literal(k)}: {_literal(sql_type(v))}" for k, v in tree.items()) + "}"


def _resolve_all(connection, source: str) -> dict:
    """Each field the report uses as (SQL expression, type id), names in any letter case; a
    path into a snapshot kept as JSON text becomes a JSON path in the spelling the text uses."""
    bound = connection.sql(f"SELECT * FROM {source} LIMIT 0")
    top = list(zip(bound.columns, bound.types, strict=True))
    fields = {name: _resolve(top, (field,)) for name, field in CORE_FIELDS.items()}
    for name, path in ATTRIBUTE_PATHS.items():
        expression, type_id, rest = _resolve(top, path, partial=True)
        if rest and type_id == "varchar":
            spelled = _json_spelling(connection, source, expression, rest)
            json_path = "$." + ".".join(spelled)
            expression, type_id = f"json_extract_string({expression}, '{json_path}')", "varchar"
        elif rest:
            expression, type_id = None, None
        fields[name] = (expression, type_id)
    return fields


def _resolve(top: list, path: tuple[str, ...], partial: bool = False):
    expression, type_id, children = None, None, top
    for depth, part in enumerate(path):
        match = next(((n, t) for n, t in children if n.lower() == part.lower()), None)
        if match is None:
            return (None, None, ()) if partial else (None, None)
        name, field_type = match
        expression = (
            f'source."{name}"' if expression is None else f"struct_extract({expression}, '{name}')"
        )
        type_id = field_type.id
        if type_id != "struct":
            rest = path[depth + 1 :]
            return (expression, type_id, rest) if partial else (expression, type_id)
        children = field_type.children
    return (expression, type_id, ()) if partial else (expression, type_id)


def _json_spelling(connection, source: str, expression: str, rest: tuple[str, ...]) -> list[str]:
    """The key names of `rest` as the JSON text spells them, from one non-null value."""
    row = connection.execute(
        f"SELECT {expression} FROM {source} AS source WHERE {expression} IS NOT NULL LIMIT 1"
    ).fetchone()
    spelled, node, lower_case = [], json.loads(row[0]) if row else {}, False
    for part in rest:
        keys = node if isinstance(node, dict) else {}
        if keys:  # a null level in the sample: spell it like the level above
            lower_case = all(key == key.lower() for key in keys)
        default = part.lower() if lower_case else part
        actual = next((key for key in keys if key.lower() == part.lower()), default)
        spelled.append(actual)
        node = keys.get(actual)
    return spelled


def _text(field: tuple[str | None, str | None]) -> str:
    """A snapshot field as trimmed text, empty as unknown."""
    return f"clean({_raw_text(field)})"


def _raw_text(field: tuple[str | None, str | None]) -> str:
    """A field as text, as stored; a Parquet timestamp as ISO-8601 text in UTC."""
    expression, type_id = field
    if expression is None or type_id in ("struct", "list", "map", "null"):
        return "NULL::VARCHAR"
    if type_id == "timestamp with time zone":
        return f"strftime({expression}, '%Y-%m-%dT%H:%M:%S.%fZ')"
    if type_id.startswith("timestamp"):
        return f"strftime(CAST({expression} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%fZ')"
    return f"CAST({expression} AS VARCHAR)"


def _instant(text: str) -> str:
    """ISO-8601 text with an offset as an instant; null without an offset (not an instant)."""
    return (
        f"CASE WHEN regexp_matches({text}, {_literal(_HAS_OFFSET)}) "
        f"THEN TRY_CAST({text} AS TIMESTAMPTZ) END"
    )


def _snapshot(fields: dict) -> str:
    return (
        "{"
        + ", ".join(f"{_literal(name)}: {_text(fields[name])}" for name in ATTRIBUTE_PATHS)
        + "}"
    )


# -- files ---------------------------------------------------------------------------------------


def _partition_days(start: datetime, end: datetime) -> list[date]:
    """Arrival-time partitions that can hold events in [start, end): a neighbour each side."""
    first = start.astimezone(UTC).date() - timedelta(days=1)
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date() + timedelta(days=1)
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _day_files(events_root: str, day: date) -> list[str]:
    found = []
    for directory in (
        os.path.join(events_root, f"date={day:%Y-%m-%d}"),
        os.path.join(events_root, f"year={day:%Y}", f"month={day:%m}", f"day={day:%d}"),
        os.path.join(events_root, f"{day:%Y}", f"{day:%m}", f"{day:%d}"),
    ):
        for folder, subfolders, names in os.walk(directory):
            subfolders[:] = [name for name in subfolders if not name.startswith((".", "_"))]
            found += [os.path.join(folder, n) for n in names if not n.startswith((".", "_"))]
    return sorted(found)


def _csv_field(value: str) -> str:
    if any(special in value for special in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(texts: list[str]) -> str:
    return "[" + ", ".join(_literal(text) for text in texts) + "]"
