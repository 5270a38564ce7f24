"""The report table as the pages show it: the published CSV, sorted, paged, with session flags.

The CSV is read back exactly as published (every value as text), so the page shows what the
download holds. Helper columns, prefixed with `_`, carry what sorting and flagging need:
instants parsed from the local ISO times (so times sort as instants across a DST change, not as
text), the duration in seconds, and the flags below.

- A session with no logout is marked.
- It is flagged "possibly abandoned (CCP closed without logout)" when its Last activity is more
  than the threshold before the point where its activity stopped counting: the agent's next
  login, which ended the session, or else the window end. Comparing with the window end alone
  would flag every agent who simply logged in again after a dropped connection. The threshold is
  `TIMECARD_ABANDONED_AFTER_MINUTES` (default 60).
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from schemas.columns import REPORT_HEADER, TIME_COLUMNS
from timecard.errors import TimecardError, UsageError
from timecard.settings import get_settings
from transforms.abandoned import activity_bound, possibly_abandoned
from transforms.report import ISO_SECONDS_WITH_OFFSET

ROWS_PER_PAGE_CHOICES = (25, 50, 100, 500, 1000)
DEFAULT_ROWS_PER_PAGE = 100

LOGIN, LOGOUT, LAST_ACTIVITY = TIME_COLUMN_NAMES = tuple(TIME_COLUMNS.values())
AGENT_ARN = "Agent ARN"
USERNAME = "Username"
_PARSED = {LOGIN: "_login", LOGOUT: "_logout", LAST_ACTIVITY: "_last"}
_DURATION_COLUMNS = ("Session duration", "Session duration (seconds)")
# Hidden until a person shows them (the choice is remembered per browser): with them, the table
# would not fit a 1,366 px screen. The CSV always has them.
HIDDEN_BY_DEFAULT = (AGENT_ARN, _DURATION_COLUMNS[1])


def abandoned_after() -> timedelta:
    """The abandoned-session threshold (`TIMECARD_ABANDONED_AFTER_MINUTES`, in the settings)."""
    return timedelta(minutes=get_settings().abandoned_after_minutes)


def column_key(name: str) -> str:
    """The URL form of a column name: 'Login time' → 'login-time'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


COLUMN_BY_KEY = {column_key(name): name for name in REPORT_HEADER}


def shown_columns(report: pl.DataFrame) -> list[str]:
    """The columns with at least one value. Shallow hierarchies would otherwise fill the screen
    with empty columns and push the times out of sight; the CSV keeps every column."""
    if report.height == 0:
        return list(REPORT_HEADER)
    return [name for name in REPORT_HEADER if report[name].null_count() < report.height]


def load_report(csv: bytes, window_start: datetime, window_end: datetime) -> pl.DataFrame:
    """The CSV's rows in file order, with the helper columns and the session flags."""
    frame = pl.read_csv(io.BytesIO(csv), infer_schema=False).with_row_index("_row")
    if frame.columns[1:] != list(REPORT_HEADER):
        raise TimecardError(
            "This output's CSV does not have the Login/Logout report columns; it was not "
            "published by this version of timecard."
        )
    threshold = abandoned_after()
    parsed = frame.with_columns(
        *(
            pl.col(column).str.to_datetime(ISO_SECONDS_WITH_OFFSET, time_zone="UTC").alias(alias)
            for column, alias in _PARSED.items()
        ),
        pl.col(_DURATION_COLUMNS[1]).cast(pl.Int64).alias("_seconds"),
        (pl.col(LOGIN).is_not_null() & pl.col(LOGOUT).is_null()).alias("_no_logout"),
    )
    bound = activity_bound("_login", "_logout", AGENT_ARN, window_start, window_end)
    return (
        parsed.with_columns(bound.alias("_bound"))
        .with_columns(
            possibly_abandoned("_login", "_logout", "_last", "_bound", threshold).alias(
                "_abandoned"
            )
        )
        .sort("_row")
    )


@dataclass(frozen=True)
class TablePage:
    rows: pl.DataFrame
    number: int
    count: int
    rows_per_page: int
    sort: str | None
    descending: bool
    total: int

    @property
    def first_row(self) -> int:
        return (self.number - 1) * self.rows_per_page + 1 if self.total else 0

    @property
    def last_row(self) -> int:
        return self.first_row + self.rows.height - 1 if self.total else 0


def table_page(
    report: pl.DataFrame, sort: str | None, order: str, number: int, rows_per_page: int
) -> TablePage:
    """One page of the table, sorted by the column `sort` (a column key) or in file order.

    A page number past the end shows the last page: changing rows per page can shorten the table.
    """
    if rows_per_page not in ROWS_PER_PAGE_CHOICES:
        raise UsageError(
            f"Rows per page must be one of {', '.join(map(str, ROWS_PER_PAGE_CHOICES))}; "
            f"got {rows_per_page}."
        )
    if number < 1:
        raise UsageError(f"Pages are numbered from 1; got page {number}.")
    if order not in ("asc", "desc"):
        raise UsageError(f"The sort order is 'asc' or 'desc'; got {order[:20]!r}.")
    descending = order == "desc"
    ordered = report
    if sort:
        if sort not in COLUMN_BY_KEY:
            raise UsageError(
                f"There is no column {sort[:40]!r} to sort by. Columns: {', '.join(COLUMN_BY_KEY)}."
            )
        # Unknown values last in both directions; ties keep the file order.
        ordered = report.sort(
            [_sort_expression(COLUMN_BY_KEY[sort]), "_row"],
            descending=[descending, False],
            nulls_last=True,
        )
    count = max(1, math.ceil(report.height / rows_per_page))
    number = min(number, count)
    rows = ordered.slice((number - 1) * rows_per_page, rows_per_page)
    return TablePage(rows, number, count, rows_per_page, sort, descending, report.height)


def _sort_expression(column: str) -> pl.Expr:
    if column in _PARSED:
        return pl.col(_PARSED[column])
    if column in _DURATION_COLUMNS:
        return pl.col("_seconds")
    return pl.col(column)
