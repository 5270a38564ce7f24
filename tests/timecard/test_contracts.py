"""timecard/contracts.py: the engine's contract checks refuse a broken contract as a
TimecardError (one paragraph, exit code 1, final in Airflow), while schemas/ raises its own plain
ContractViolation and imports nothing of timecard."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from schemas import contract
from schemas.contract import ContractViolation
from schemas.report import MAX_ROWS_CHECK, report_schema
from tests.builders import report_rows
from timecard.contracts import BrokenContractError, enforce
from timecard.dag_tasks import refusals_fail_at_once
from timecard.engine import validate_report
from timecard.errors import RowLimitExceeded, TimecardError


def test_a_frame_that_keeps_its_contract_is_returned():
    frame = report_rows(2)
    assert enforce(report_schema(10), frame, "report").equals(frame)


def test_a_broken_contract_is_a_refusal_with_the_schemas_own_paragraph_and_checks():
    frame = report_rows(2, username="=HYPERLINK()")
    with pytest.raises(ContractViolation) as plain:
        contract.enforce(report_schema(10), frame, "report")
    with pytest.raises(BrokenContractError) as refusal:
        enforce(report_schema(10), frame, "report")
    error = refusal.value
    assert isinstance(error, TimecardError)  # shown as a refusal, never a traceback
    assert isinstance(error, ContractViolation)  # still the schemas' error for whoever catches it
    assert not isinstance(plain.value, TimecardError)
    assert str(error) == str(plain.value)
    assert str(error).startswith("The report broke its data contract (")
    assert "\n" not in str(error)
    assert error.checks == plain.value.checks == ["formula guard"]
    assert error.exit_code == 1
    assert error.__suppress_context__  # the paragraph alone, no chained traceback


def test_the_report_check_refuses_a_broken_report_and_tells_the_row_limit_apart():
    with pytest.raises(BrokenContractError) as broken:
        validate_report(report_rows(2, username="=HYPERLINK()"), max_rows=10)
    assert MAX_ROWS_CHECK not in broken.value.checks
    with pytest.raises(RowLimitExceeded, match="11 rows, over its limit of 10"):
        validate_report(report_rows(11), max_rows=10)
    validate_report(report_rows(10), max_rows=10)  # at the limit: kept


def test_a_broken_contract_fails_its_airflow_task_at_once():
    with pytest.raises(AirflowFailException) as failure, refusals_fail_at_once():
        enforce(report_schema(10), report_rows(1, username="=cmd"), "report")
    assert isinstance(failure.value.__cause__, BrokenContractError)
    assert str(failure.value).startswith("The report broke its data contract (")
