"""Running a contract: Pandera errors become one readable paragraph.

`ContractViolation` is a plain exception: schemas/ imports nothing of timecard. The engine runs
contracts through `timecard.contracts.enforce`, which turns it into a `TimecardError` (a refusal).
"""

from __future__ import annotations

import polars as pl

from schemas.pandera_polars import SchemaError, SchemaErrors, pa


class ContractViolation(Exception):
    """A frame broke its data contract; `checks` names every failed check."""

    def __init__(self, message: str, checks: list[str]):
        super().__init__(message)
        self.checks = checks


def enforce(schema: pa.DataFrameSchema, frame: pl.DataFrame, stage: str) -> pl.DataFrame:
    """Validate every row of `frame` (a DataFrame, so data checks run, not only the schema)."""
    try:
        return schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        failures = [_describe(error) for error in errors.schema_errors]
    except SchemaError as error:
        failures = [_describe(error)]
    checks = sorted({name for name, _ in failures})
    details = "; ".join(text for _, text in failures[:10])
    raise ContractViolation(
        f"The {stage} broke its data contract ({len(failures)} failed check(s)): {details}.",
        checks,
    )


def _describe(error: SchemaError) -> tuple[str, str]:
    check = getattr(error, "check", None)
    name = getattr(check, "name", None) or str(check or "schema")
    return name, str(error).splitlines()[0][:300]
