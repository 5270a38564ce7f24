"""schemas/contract.py: a broken contract is one readable paragraph that names every check."""

from __future__ import annotations

import polars as pl
import pytest

from schemas.contract import ContractViolation, enforce
from schemas.pandera_polars import pa
from timecard.errors import TimecardError

SCHEMA = pa.DataFrameSchema(
    {
        "name": pa.Column(pl.String, checks=pa.Check.str_length(min_value=1)),
        "count": pa.Column(pl.Int64, checks=pa.Check.ge(0)),
    },
    strict=True,
    name="sample",
)


def test_a_frame_that_keeps_its_contract_is_returned():
    frame = pl.DataFrame({"name": ["a"], "count": [1]})
    assert enforce(SCHEMA, frame, "sample table").equals(frame)


def test_every_failed_check_is_named_in_one_paragraph():
    frame = pl.DataFrame({"name": ["", "b"], "count": [1, -1]})
    with pytest.raises(ContractViolation) as refusal:
        enforce(SCHEMA, frame, "sample table")
    error = refusal.value
    # A plain exception since issue 20 (schemas/ imports nothing of timecard): the engine's
    # `timecard.contracts.enforce` makes it a TimecardError, a refusal shown as one paragraph
    # (tests/timecard/test_contracts.py). Before, this asserted isinstance(error, TimecardError).
    assert not isinstance(error, TimecardError)
    assert error.checks == ["greater_than_or_equal_to", "str_length"]
    message = str(error)
    assert message.startswith("The sample table broke its data contract (2 failed check(s)): ")
    assert message.endswith(".")
    assert "\n" not in message


def test_a_wrong_schema_is_a_violation_too():
    frame = pl.DataFrame({"name": ["a"], "count": ["one"], "extra": [1]})
    with pytest.raises(ContractViolation) as refusal:
        enforce(SCHEMA, frame, "sample table")
    assert "sample table broke its data contract" in str(refusal.value)
    assert refusal.value.checks  # the failed schema checks are named, not an empty list


def test_at_most_ten_failures_are_spelled_out():
    many = pa.DataFrameSchema(
        {f"c{n}": pa.Column(pl.Int64, checks=pa.Check.ge(0)) for n in range(12)}
    )
    frame = pl.DataFrame({f"c{n}": [-1] for n in range(12)})
    with pytest.raises(ContractViolation) as refusal:
        enforce(many, frame, "wide table")
    message = str(refusal.value)
    assert "(12 failed check(s))" in message
    assert message.count("; ") == 9  # ten details
