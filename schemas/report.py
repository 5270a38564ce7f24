"""Contract for the Login/Logout report, including its row limit."""

import polars as pl

from schemas.columns import FORMULA_TRIGGERS, REPORT_HEADER, TEXT_COLUMNS
from schemas.pandera_polars import pa

MAX_ROWS_CHECK = "row limit"
_ISO_SECONDS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"
_TEXT = [*TEXT_COLUMNS.values(), "Agent ARN"]


def _no_formula_trigger(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        ~pl.any_horizontal(
            [pl.col(data.key).str.starts_with(c) for c in FORMULA_TRIGGERS]
        ).fill_null(False)
    )


def report_schema(max_rows: int) -> pa.DataFrameSchema:
    """The report's contract; `max_rows` is the report's row limit (its default lives in
    `timecard.limits`, which this package may not import)."""

    def within_row_limit(data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.len() <= max_rows)

    columns: dict[str, pa.Column] = {}
    for name in REPORT_HEADER:
        if name in _TEXT:
            column = pa.Column(
                pl.String,
                nullable=name != "Agent ARN",
                checks=pa.Check(_no_formula_trigger, name="formula guard"),
            )
        elif name in ("Login time", "Logout time", "Last activity"):
            column = pa.Column(pl.String, nullable=True, checks=pa.Check.str_matches(_ISO_SECONDS))
        elif name == "Session duration":
            column = pa.Column(
                pl.String, nullable=True, checks=pa.Check.str_matches(r"^\d+:\d{2}:\d{2}$")
            )
        else:
            column = pa.Column(pl.Int64, nullable=True, checks=pa.Check.ge(0))
        columns[name] = column
    return pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(
                within_row_limit,
                name=MAX_ROWS_CHECK,
                error=f"the report holds at most {max_rows} rows",
            )
        ],
        strict=True,
        ordered=True,
        name="Login/Logout report",
    )
