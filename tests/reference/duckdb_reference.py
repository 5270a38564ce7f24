"""Independent reference for the Login/Logout report, written in DuckDB SQL.

It is the correctness oracle of the differential test and the yardstick of the benchmark: the
query a data engineer would run over the raw agent event stream instead of timecard. It shares
no code with `timecard/` or `transforms/`, so a bug in either shows up as a disagreement.

Python only finds the partition files, sniffs their format and lines up their column names;
validity, de-duplication, sessions, window, filters, Last activity, row order and formatting
are all SQL.

What it reads: partitions in a layout template (`date={date}`, `year={yyyy}/month={MM}/day={dd}`,
`{yyyy}/{MM}/{dd}/{HH}`, or any other with `{date}` or `{yyyy}`, `{MM}`, `{dd}`; every file
below a day's folder belongs to the day), filed by arrival time (one neighbour day is read on
each side) or by event time (none). JSON files hold records one per line, back to back, pretty
or mixed, gzip'd or not (told by content). Parquet has nested structs or JSON-text snapshots.
Parquet names are matched case-insensitively; JSON keys as the event stream spells them or all
lower-case. A text column met on the way down a record path (a snapshot, AgentHierarchyGroups
stored as `string`) holds JSON text, in which the rest of the path is looked up.

Like timecard, it trims edge white space (Unicode's White_Space characters) from every text field
of a record, and a blank required field counts as missing.

Simplifications, on purpose: local folders only; a Parquet timestamp column without a time zone
is read as UTC; invalid records are skipped rather than quarantined, and nothing is counted.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

HEADER = (
    "Username",
    "First name",
    "Last name",
    "Routing profile",
    "Hierarchy level 1",
    "Hierarchy level 2",
    "Hierarchy level 3",
    "Hierarchy level 4",
    "Hierarchy level 5",
    "Login time",
    "Logout time",
    "Session duration",
    "Session duration (seconds)",
    "Last activity",
    "Agent ARN",
)

_CONFIGURATION = ("CurrentAgentSnapshot", "Configuration")
_HIERARCHY = (*_CONFIGURATION, "AgentHierarchyGroups")

# Column of the `raw_events` view -> its path in an agent event record.
_RECORD_PATHS = {
    "event_id": ("EventId",),
    "event_type": ("EventType",),
    "event_timestamp": ("EventTimestamp",),
    "agent_arn": ("AgentARN",),
    "username": (*_CONFIGURATION, "Username"),
    "first_name": (*_CONFIGURATION, "FirstName"),
    "last_name": (*_CONFIGURATION, "LastName"),
    "routing_profile": (*_CONFIGURATION, "RoutingProfile", "Name"),
    **{f"level{n}": (*_HIERARCHY, f"Level{n}", "Name") for n in range(1, 6)},
}

# The layouts read when none is given, and the names that stand for them.
_PRESET_LAYOUTS = {
    "date": "date={date}",
    "ymd": "year={yyyy}/month={MM}/day={dd}",
    "firehose": "{yyyy}/{MM}/{dd}/{HH}",
}
_DAY_PLACEHOLDERS = ("{date}", "{yyyy}", "{MM}", "{dd}")

_NAIVE_TIMESTAMP_TYPES = {"timestamp", "timestamp_ns", "timestamp_ms", "timestamp_s"}
_COMPOUND_TYPES = {"struct", "list", "array", "map", "union", "null"}
# Unicode's White_Space property: what timecard trims from the edges of every text field.
_WHITE_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
_WHITE_SPACE += "\u2028\u2029\u202f\u205f\u3000"
# ISO-8601 with a mandatory offset: a timestamp without one is not an instant.
_ISO_INSTANT = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}(:?\d{2})?)"

_MACROS = r"""
-- A leaf as text; objects and arrays are not text.
CREATE TEMP MACRO json_text(value) AS
    CASE WHEN json_type(value) NOT IN ('OBJECT', 'ARRAY') THEN value ->> '$' END;
CREATE TEMP MACRO formula_guard(text) AS
    CASE WHEN left(text, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || text
         ELSE coalesce(text, '') END;
CREATE TEMP MACRO utc_offset(seconds) AS
    CASE WHEN seconds < 0 THEN '-' ELSE '+' END
    || lpad((abs(seconds) // 3600)::VARCHAR, 2, '0') || ':'
    || lpad((abs(seconds) % 3600 // 60)::VARCHAR, 2, '0');
CREATE TEMP MACRO local_iso(instant, zone) AS coalesce(
    strftime(timezone(zone, instant), '%Y-%m-%dT%H:%M:%S')
    || utc_offset((epoch_us(timezone(zone, instant)) - epoch_us(instant)) // 1000000),
    '');
CREATE TEMP MACRO hours_minutes_seconds(seconds) AS
    (seconds // 3600)::VARCHAR || ':' || lpad((seconds % 3600 // 60)::VARCHAR, 2, '0')
    || ':' || lpad((seconds % 60)::VARCHAR, 2, '0');
"""

_REPORT_SQL = """
-- The CTEs over raw records are NOT MATERIALIZED: re-reading the files is cheaper than holding
-- every record in memory, and each consumer reads only the columns it needs.
WITH valid AS NOT MATERIALIZED (
    SELECT * FROM raw_events
    WHERE coalesce(event_id, '') <> '' AND coalesce(event_type, '') <> ''
      AND coalesce(agent_arn, '') <> '' AND event_timestamp IS NOT NULL
),
later_copies AS (
    -- Every copy of an EventId but the first by (partition date, file path, row).
    SELECT file_no, row_no FROM valid
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY file_no, row_no) > 1
),
span_events AS NOT MATERIALIZED (
    SELECT
        event_id,
        upper(event_type) AS event_type,
        event_timestamp AS ts,
        agent_arn,
        {
            'username': username, 'first_name': first_name, 'last_name': last_name,
            'routing_profile': routing_profile, 'level1': level1, 'level2': level2,
            'level3': level3, 'level4': level4, 'level5': level5
        } AS snapshot
    FROM valid ANTI JOIN later_copies USING (file_no, row_no)
    WHERE event_timestamp >= $lookback_start::TIMESTAMPTZ
      AND event_timestamp < $window_end::TIMESTAMPTZ
),
walk AS (
    SELECT
        *,
        row_number() OVER agent_order AS walk_no,
        lag(event_type) OVER agent_order AS previous_type,
        lead(event_type) OVER agent_order AS next_type,
        lead(ts) OVER agent_order AS next_ts
    FROM span_events
    WHERE event_type IN ('LOGIN', 'LOGOUT')
    WINDOW agent_order AS (PARTITION BY agent_arn ORDER BY ts, event_type = 'LOGOUT', event_id)
),
sessions AS (
    -- A LOGIN opens a session; the agent's next LOGIN/LOGOUT event decides how it ends.
    SELECT
        agent_arn, walk_no, snapshot,
        ts AS login,
        CASE WHEN next_type = 'LOGOUT' THEN next_ts END AS logout,
        -- Last activity is sought in [login, activity_bound) for a session without logout.
        CASE WHEN next_type = 'LOGIN' THEN next_ts
             WHEN next_type IS NULL THEN $window_end::TIMESTAMPTZ END AS activity_bound
    FROM walk
    WHERE event_type = 'LOGIN'
    UNION ALL
    -- A LOGOUT with no session open: its LOGIN lies before the lookback.
    SELECT agent_arn, walk_no, snapshot, NULL, ts, NULL
    FROM walk
    WHERE event_type = 'LOGOUT' AND coalesce(previous_type, 'LOGOUT') = 'LOGOUT'
),
report_sessions AS (
    SELECT * FROM sessions
    WHERE (
        (login >= $window_start::TIMESTAMPTZ AND login < $window_end::TIMESTAMPTZ)
        OR (logout >= $window_start::TIMESTAMPTZ AND logout < $window_end::TIMESTAMPTZ)
    )
    AND (len($agents::VARCHAR[]) = 0
         OR list_contains($agents::VARCHAR[], snapshot.username))
    AND (len($routing_profiles::VARCHAR[]) = 0
         OR list_contains($routing_profiles::VARCHAR[], snapshot.routing_profile))
    AND (len($hierarchies::VARCHAR[][]) = 0
         OR list_bool_or(list_transform($hierarchies::VARCHAR[][], lambda path:
                path = [snapshot.level1, snapshot.level2, snapshot.level3, snapshot.level4,
                        snapshot.level5][1:len(path)])))
),
last_activity AS (
    SELECT s.agent_arn, s.walk_no, max(e.ts) AS last_activity
    FROM report_sessions AS s
    JOIN span_events AS e
      ON e.agent_arn = s.agent_arn AND e.ts >= s.login AND e.ts < s.activity_bound
    GROUP BY s.agent_arn, s.walk_no
),
report_rows AS (
    SELECT
        s.*,
        date_trunc('second', s.login) AS login_second,
        date_trunc('second', s.logout) AS logout_second,
        (epoch_us(logout_second) - epoch_us(login_second)) // 1000000 AS duration_seconds,
        date_trunc('second', a.last_activity) AS last_activity_second
    FROM report_sessions AS s
    LEFT JOIN last_activity AS a USING (agent_arn, walk_no)
)
SELECT
    formula_guard(snapshot.username),
    formula_guard(snapshot.first_name),
    formula_guard(snapshot.last_name),
    formula_guard(snapshot.routing_profile),
    formula_guard(snapshot.level1),
    formula_guard(snapshot.level2),
    formula_guard(snapshot.level3),
    formula_guard(snapshot.level4),
    formula_guard(snapshot.level5),
    local_iso(login_second, $tz),
    local_iso(logout_second, $tz),
    coalesce(hours_minutes_seconds(duration_seconds), ''),
    coalesce(duration_seconds::VARCHAR, ''),
    local_iso(last_activity_second, $tz),
    formula_guard(agent_arn)
FROM report_rows
ORDER BY
    -- An empty text shows as unknown, so it sorts as unknown.
    nullif(snapshot.username, '') NULLS LAST,
    login_second NULLS FIRST, logout_second NULLS LAST, agent_arn,
    -- Then the other columns, unknown first, so that ties come out in one order every time.
    last_activity_second NULLS FIRST,
    nullif(snapshot.first_name, '') NULLS FIRST, nullif(snapshot.last_name, '') NULLS FIRST,
    nullif(snapshot.routing_profile, '') NULLS FIRST,
    nullif(snapshot.level1, '') NULLS FIRST, nullif(snapshot.level2, '') NULLS FIRST,
    nullif(snapshot.level3, '') NULLS FIRST, nullif(snapshot.level4, '') NULLS FIRST,
    nullif(snapshot.level5, '') NULLS FIRST
"""


def reference_report(
    events_root: str,
    window_start: datetime,
    window_end: datetime,
    tz: str,
    lookback_days: int = 31,
    agents=(),
    routing_profiles=(),
    hierarchies=(),
    layout: str | None = None,
    partition_time: str = "arrival",
) -> list[dict[str, str]]:
    """The report rows in report order, each keyed by the CSV header, valued as the CSV holds it.

    `layout` is a preset name or template (None: any preset); `partition_time` is "arrival" or
    "event".
    """
    _check_parameters(events_root, window_start, window_end, tz, lookback_days)
    if partition_time not in ("arrival", "event"):
        raise ValueError(f"partition_time must be 'arrival' or 'event', got {partition_time!r}.")
    lookback_start = window_start - timedelta(days=lookback_days)
    templates = [_PRESET_LAYOUTS.get(layout, layout)] if layout else list(_PRESET_LAYOUTS.values())
    neighbours = 1 if partition_time == "arrival" else 0
    days = _partition_days(lookback_start, window_end, neighbours)
    files = _partition_files(events_root, days, templates)
    parameters = {
        "lookback_start": lookback_start.isoformat(),
        "window_start": window_start.isoformat(),
        "window_end": window_end.isoformat(),
        "tz": tz,
        "agents": list(agents),
        "routing_profiles": list(routing_profiles),
        "hierarchies": [
            [level.strip(_WHITE_SPACE) for level in path.strip("/").split("/")]
            for path in hierarchies
        ],
    }
    with duckdb.connect() as connection:
        # Instants are compared as TIMESTAMPTZ; only the final formatting looks at `tz`.
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(_MACROS)
        _create_raw_events_view(connection, files)
        rows = connection.execute(_REPORT_SQL, parameters).fetchall()
    return [dict(zip(HEADER, row, strict=True)) for row in rows]


def reference_report_csv(*args, **kwargs) -> str:
    """The report as CSV text: header and rows, RFC 4180 quoting, "\\n" line ends."""
    rows = [HEADER, *(tuple(row.values()) for row in reference_report(*args, **kwargs))]
    return "".join(",".join(_csv_field(value) for value in row) + "\n" for row in rows)


def _csv_field(value: str) -> str:
    if any(special in value for special in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _check_parameters(events_root, window_start, window_end, tz, lookback_days) -> None:
    if not os.path.isdir(events_root):
        raise ValueError(f"The events root {events_root!r} is not a local folder.")
    if window_start.utcoffset() is None or window_end.utcoffset() is None:
        raise ValueError("window_start and window_end must be time-zone aware datetimes.")
    if window_end <= window_start:
        raise ValueError(f"The window end {window_end} is not after its start {window_start}.")
    if lookback_days < 0:
        raise ValueError(f"lookback_days must not be negative, got {lookback_days}.")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"{tz!r} is not an IANA time zone name.") from error


def _partition_days(lookback_start: datetime, window_end: datetime, neighbours: int) -> list[date]:
    """UTC days of events in [lookback_start, window_end), plus `neighbours` days each side."""
    first = lookback_start.astimezone(UTC).date() - timedelta(days=neighbours)
    last = (window_end - timedelta(microseconds=1)).astimezone(UTC).date()
    last += timedelta(days=neighbours)
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _day_folder(template: str, day: date) -> str:
    """The folder of one day: the template up to its last folder that names the day, rendered."""
    segments = template.strip("/").split("/")
    depth = max(i for i, s in enumerate(segments) if any(p in s for p in _DAY_PLACEHOLDERS)) + 1
    values = {"{date}": f"{day:%Y-%m-%d}", "{yyyy}": f"{day:%Y}", "{MM}": f"{day:%m}"}
    values["{dd}"] = f"{day:%d}"
    rendered = []
    for segment in segments[:depth]:
        for placeholder, value in values.items():
            segment = segment.replace(placeholder, value)
        rendered.append(segment)
    return os.path.join(*rendered)


def _partition_files(events_root: str, days: list[date], templates: list[str]) -> list[str]:
    """Visible files below the days' folders in any of the layouts, ordered by (day, path)."""
    found = []
    for day in days:
        for template in templates:
            directory = os.path.join(events_root, _day_folder(template, day))
            for folder, subfolders, names in os.walk(directory):
                subfolders[:] = [name for name in subfolders if not _is_hidden(name)]
                found += [(day, os.path.join(folder, n)) for n in names if not _is_hidden(n)]
    return [path for _, path in sorted(found)]


def _is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _sniff_format(path: str) -> str:
    with open(path, "rb") as file:
        magic = file.read(4)
    if magic == b"PAR1":
        return "parquet"
    return "json_gzip" if magic.startswith(b"\x1f\x8b") else "json"


def _create_raw_events_view(connection: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    """`raw_events`: one row per record with file_no, row_no and the `_RECORD_PATHS` columns.

    file_no is the file's position in (day, path) order, so (file_no, row_no) is the order that
    decides which copy of a duplicated EventId is kept.
    """
    connection.execute(
        "CREATE TEMP TABLE files AS SELECT unnest(range(len($paths::VARCHAR[]))) AS file_no, "
        "unnest($paths::VARCHAR[]) AS path",
        {"paths": files},
    )
    by_format = defaultdict(list)
    for path in files:
        by_format[_sniff_format(path)].append(path)
    selects = [
        _select_json_records(by_format[json_format], compression)
        for json_format, compression in (("json", "none"), ("json_gzip", "gzip"))
        if by_format[json_format]
    ]
    selects += [
        _select_record_columns(connection, source)
        for source in _parquet_sources(connection, by_format["parquet"])
    ]
    if not selects:
        columns = ", ".join(f"{_column(name, None, None)} AS {name}" for name in _RECORD_PATHS)
        selects = [f"SELECT NULL::BIGINT AS file_no, NULL::BIGINT AS row_no, {columns} LIMIT 0"]
    connection.execute("CREATE TEMP VIEW raw_events AS " + "\nUNION ALL BY NAME\n".join(selects))


def _select_json_records(paths: list[str], compression: str) -> str:
    """Each JSON value of the files is a record, however they are laid out (lines, back to back,
    pretty-printed)."""
    source = (
        f"read_json_objects({_sql_list(paths)}, format='unstructured', "
        f"compression='{compression}', filename=true) WITH ORDINALITY"
    )
    columns = ", ".join(
        f"{_column(name, _json_path('source.json', path), 'json')} AS {name}"
        for name, path in _RECORD_PATHS.items()
    )
    return (
        f"SELECT files.file_no, source.ordinality AS row_no, {columns} "
        f"FROM {source} AS source JOIN files ON files.path = source.filename"
    )


def _json_path(expression: str, path: tuple[str, ...]) -> str:
    """The JSON value at `path` in the JSON `expression`, its keys spelled as the event stream
    spells them or all lower-case (as the OpenX JSON SerDe writes them)."""
    pointers = ("/" + "/".join(path), "/" + "/".join(path).lower())
    return f"coalesce({', '.join(f'json_extract({expression}, {_literal(p)})' for p in pointers)})"


def _parquet_sources(connection: duckdb.DuckDBPyConnection, paths: list[str]) -> list[str]:
    """One read_parquet per distinct file schema: each read then has one set of names and types."""
    if not paths:
        return []
    schema_rows = connection.execute(
        "SELECT file_name, name, duckdb_type FROM parquet_schema($paths)", {"paths": paths}
    ).fetchall()
    schemas = defaultdict(list)
    for path, name, duckdb_type in schema_rows:
        schemas[path].append((name, duckdb_type))
    groups = defaultdict(list)
    for path in paths:
        groups[tuple(schemas[path])].append(path)
    return [
        f"read_parquet({_sql_list(group)}, filename=true, file_row_number=true, "
        "hive_partitioning=false)"
        for group in groups.values()
    ]


def _select_record_columns(connection: duckdb.DuckDBPyConnection, source: str) -> str:
    bound = connection.sql(f"SELECT * FROM {source} LIMIT 0")
    top_level = list(zip(bound.columns, bound.types, strict=True))
    columns = ", ".join(
        f"{_column(name, *_resolve(top_level, path))} AS {name}"
        for name, path in _RECORD_PATHS.items()
    )
    return (
        f"SELECT files.file_no, source.file_row_number AS row_no, {columns} "
        f"FROM {source} AS source JOIN files ON files.path = source.filename"
    )


def _resolve(top_level: list, path: tuple[str, ...]) -> tuple[str | None, str | None]:
    """SQL expression and DuckDB type id of a record path, matching names case-insensitively.

    A text column met before the path ends holds JSON text: the rest of the path is looked up in it.
    """
    expression, type_id, children = None, None, top_level
    for depth, part in enumerate(path):
        if type_id == "varchar":
            return _json_path(f"try_cast({expression} AS JSON)", path[depth:]), "json"
        match = next(((n, t) for n, t in children if n.lower() == part.lower()), None)
        if match is None:
            return None, None
        name, field_type = match
        if expression is None:
            expression = f"source.{_identifier(name)}"
        else:
            expression = f"struct_extract({expression}, {_literal(name)})"
        type_id = field_type.id
        children = field_type.children if type_id == "struct" else []
    return expression, type_id


def _column(name: str, expression: str | None, type_id: str | None) -> str:
    """A record field as a `raw_events` column: EventTimestamp as TIMESTAMPTZ, the rest as text."""
    if type_id == "json":
        expression, type_id = f"json_text({expression})", "varchar"
    if name == "event_timestamp":
        return _timestamp_expression(expression, type_id)
    if expression is None or type_id in _COMPOUND_TYPES:
        return "NULL::VARCHAR"
    return _trimmed(f"CAST({expression} AS VARCHAR)")


def _trimmed(text_expression: str) -> str:
    return f"trim({text_expression}, {_literal(_WHITE_SPACE)})"


def _timestamp_expression(expression: str | None, type_id: str | None) -> str:
    if expression is None:
        return "NULL::TIMESTAMPTZ"
    if type_id == "varchar":
        text = _trimmed(expression)
        return (
            f"CASE WHEN regexp_full_match({text}, {_literal(_ISO_INSTANT)}) "
            f"THEN TRY_CAST({text} AS TIMESTAMPTZ) END"
        )
    if type_id == "timestamp with time zone":
        return expression
    if type_id in _NAIVE_TIMESTAMP_TYPES:
        return f"timezone('UTC', CAST({expression} AS TIMESTAMP))"
    return "NULL::TIMESTAMPTZ"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(texts: list[str]) -> str:
    return "[" + ", ".join(_literal(text) for text in texts) + "]"
