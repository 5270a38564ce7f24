"""Sessions → the Login/Logout report: filtered, formatted in the report's time zone, ordered."""

from __future__ import annotations

import io

import polars as pl

from schemas.columns import FORMULA_TRIGGERS, TEXT_COLUMNS, TIME_COLUMNS
from transforms.filters import Filters, filter_expression

ISO_SECONDS_WITH_OFFSET = "%Y-%m-%dT%H:%M:%S%:z"


def guard_formula(text: pl.Expr) -> pl.Expr:
    """Prefix `'` to a value a spreadsheet would run as a formula."""
    starts_with_trigger = pl.any_horizontal([text.str.starts_with(c) for c in FORMULA_TRIGGERS])
    return pl.when(starts_with_trigger).then(pl.lit("'") + text).otherwise(text)


def _local_time(column: str, tz: str) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(tz).dt.strftime(ISO_SECONDS_WITH_OFFSET)


def _hours_minutes_seconds(seconds: pl.Expr) -> pl.Expr:
    """27:03:09 style: hours are not wrapped at 24."""
    two_digits = lambda part: part.cast(pl.String).str.zfill(2)  # noqa: E731
    return pl.format(
        "{}:{}:{}",
        (seconds // 3600).cast(pl.String),
        two_digits((seconds % 3600) // 60),
        two_digits(seconds % 60),
    )


def ordered_sessions(sessions: pl.DataFrame, filters: Filters) -> pl.DataFrame:
    """The report's rows, still as typed session values: filtered, in the CSV's row order.

    Instants are truncated to whole seconds before they are shown and before the duration is
    computed, so the duration always equals logout minus login as displayed. The typed sessions
    file (transforms/typed.py) starts from the same rows, so both files list them alike.
    """
    shown = sessions.filter(filter_expression(filters)).with_columns(
        pl.col(list(TIME_COLUMNS)).dt.truncate("1s"),
        # An empty text is as unknown as a missing one: both are an empty field, and sort last.
        pl.col(list(TEXT_COLUMNS)).replace("", None),
    )
    duration = (pl.col("logout_ts") - pl.col("login_ts")).dt.total_seconds()
    # The contract's order, then the remaining columns (unknown first): sessions that tie on
    # the contract's keys still come out in one order on every run.
    tie_breakers = ["last_activity_ts", *(c for c in TEXT_COLUMNS if c != "username")]
    return shown.with_columns(duration.alias("duration_seconds")).sort(
        ["username", "login_ts", "logout_ts", "agent_arn", *tie_breakers],
        nulls_last=[True, False, True, True, *(False for _ in tie_breakers)],
    )


def build_report(sessions: pl.DataFrame, tz: str, filters: Filters) -> pl.DataFrame:
    """The report frame: exactly the CSV's columns, in the CSV's row order."""
    ordered = ordered_sessions(sessions, filters)
    return ordered.select(
        *(guard_formula(pl.col(src)).alias(dst) for src, dst in TEXT_COLUMNS.items()),
        _local_time("login_ts", tz).alias("Login time"),
        _local_time("logout_ts", tz).alias("Logout time"),
        _hours_minutes_seconds(pl.col("duration_seconds")).alias("Session duration"),
        pl.col("duration_seconds").cast(pl.Int64).alias("Session duration (seconds)"),
        _local_time("last_activity_ts", tz).alias("Last activity"),
        guard_formula(pl.col("agent_arn")).alias("Agent ARN"),
    )


def to_csv_bytes(report: pl.DataFrame) -> bytes:
    """UTF-8 CSV, quoting only where RFC 4180 needs it; unknown values are empty fields."""
    buffer = io.BytesIO()
    report.write_csv(buffer, quote_style="necessary", line_terminator="\n", null_value="")
    return buffer.getvalue()


def row_limit_breakdown(report: pl.DataFrame, top: int = 15) -> str:
    """Rows per routing profile and per hierarchy level 1, to show which filter would fit."""
    lines = []
    for column in ("Routing profile", "Hierarchy level 1"):
        counts = (
            report.group_by(pl.col(column).fill_null("(none)"))
            .len()
            .sort(["len", column], descending=[True, False])
        )
        shown = ", ".join(
            f"{row[column]}: {row['len']}" for row in counts.head(top).iter_rows(named=True)
        )
        more = f", and {counts.height - top} more" if counts.height > top else ""
        lines.append(f"rows per {column.lower()}: {shown}{more}")
    return "; ".join(lines)
