"""The data contracts of schemas/, as the engine runs them: a broken contract is a refusal.

schemas/ imports nothing of timecard, so `schemas.contract.enforce` raises a plain
`ContractViolation`. The engine validates through `enforce` here instead, which raises it again as
a `BrokenContractError`: the same one paragraph and failed checks, and a `TimecardError`, so the
CLI (exit code 1), the UI and the Airflow tasks (a refusal fails its task at once, without
retries: `dag_tasks.refusals_fail_at_once`) show it as a refusal, never as a traceback.
"""

from __future__ import annotations

import polars as pl

from schemas import contract
from schemas.contract import ContractViolation
from schemas.pandera_polars import pa
from timecard.errors import TimecardError


class BrokenContractError(TimecardError, ContractViolation):
    """A frame broke its data contract; `checks` names every failed check. Still a
    `ContractViolation`, for code that catches the schemas' own error."""


def enforce(schema: pa.DataFrameSchema, frame: pl.DataFrame, stage: str) -> pl.DataFrame:
    """`schemas.contract.enforce`, refusing a broken contract as a `BrokenContractError`."""
    try:
        return contract.enforce(schema, frame, stage)
    except ContractViolation as violation:
        raise BrokenContractError(str(violation), violation.checks) from None
