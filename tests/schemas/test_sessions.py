from datetime import UTC, datetime

import polars as pl
import pytest

from schemas.columns import SESSION_COLUMNS
from schemas.contract import ContractViolation, enforce
from schemas.sessions import SESSIONS

T1, T2 = datetime(2026, 11, 2, 9, tzinfo=UTC), datetime(2026, 11, 2, 17, tzinfo=UTC)


def sessions(**values) -> pl.DataFrame:
    row = {name: None for name in SESSION_COLUMNS} | {"agent_arn": "arn:a"} | values
    return pl.DataFrame([row], schema=SESSION_COLUMNS)


def test_a_closed_session_passes():
    assert enforce(SESSIONS, sessions(login_ts=T1, logout_ts=T2), "sessions").height == 1


@pytest.mark.parametrize(
    "values",
    [
        {},  # neither login nor logout known
        {"login_ts": T2, "logout_ts": T1},  # logout before login
        {"login_ts": T1, "logout_ts": T2, "last_activity_ts": T1},  # activity on a closed session
    ],
)
def test_impossible_sessions_break_the_contract(values):
    with pytest.raises(ContractViolation):
        enforce(SESSIONS, sessions(**values), "sessions")
