"""The report contract, including the 10,000-row limit at exactly the boundary."""

import polars as pl
import pytest

from schemas.contract import ContractViolation, enforce
from schemas.report import MAX_ROWS_CHECK, report_schema
from tests.builders import report_rows
from timecard.limits import DEFAULT_MAX_ROWS


def test_exactly_10000_rows_pass():
    assert enforce(report_schema(DEFAULT_MAX_ROWS), report_rows(10_000), "report").height == 10_000


def test_10001_rows_fail_on_the_row_limit_only():
    with pytest.raises(ContractViolation) as raised:
        enforce(report_schema(DEFAULT_MAX_ROWS), report_rows(10_001), "report")
    assert raised.value.checks == [MAX_ROWS_CHECK]
    assert "at most 10000 rows" in str(raised.value)


def test_row_limit_is_configurable():
    enforce(report_schema(max_rows=3), report_rows(3), "report")
    with pytest.raises(ContractViolation):
        enforce(report_schema(max_rows=3), report_rows(4), "report")


def test_empty_report_is_valid():
    assert enforce(report_schema(DEFAULT_MAX_ROWS), report_rows(0), "report").is_empty()


@pytest.mark.parametrize(
    ("column", "bad_value"),
    [
        ("Login time", "2026-11-02 17:15:00"),
        ("Session duration", "1:0:0"),
        ("Username", "=HYPERLINK()"),
    ],
)
def test_badly_formatted_values_break_the_contract(column, bad_value):
    frame = report_rows(2).with_columns(pl.lit(bad_value).alias(column))
    with pytest.raises(ContractViolation) as raised:
        enforce(report_schema(DEFAULT_MAX_ROWS), frame, "report")
    assert MAX_ROWS_CHECK not in raised.value.checks


def test_missing_column_breaks_the_contract():
    with pytest.raises(ContractViolation):
        enforce(report_schema(DEFAULT_MAX_ROWS), report_rows(1).drop("Last activity"), "report")
