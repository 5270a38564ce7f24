"""The typed sessions contract accepts what publish writes and refuses inconsistent rows."""

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from schemas.columns import SESSION_COLUMNS
from schemas.contract import ContractViolation, enforce
from schemas.typed import TYPED_SESSIONS
from transforms.filters import Filters
from transforms.typed import typed_sessions

START = datetime(2026, 11, 1, 15, tzinfo=UTC)


def frame() -> pl.DataFrame:
    sessions = (
        pl.DataFrame(
            {
                "agent_arn": ["arn:a", "arn:b"],
                "username": ["a", "b"],
                "login_ts": [START + timedelta(hours=1), START + timedelta(hours=2)],
                "logout_ts": [START + timedelta(hours=3), None],
                "last_activity_ts": [None, START + timedelta(hours=4)],
            }
        )
        .with_columns(
            *(
                pl.lit(None, dtype).alias(n)
                for n, dtype in SESSION_COLUMNS.items()
                if n not in ("agent_arn", "username", "login_ts", "logout_ts", "last_activity_ts")
            )
        )
        .select(list(SESSION_COLUMNS))
        .cast(SESSION_COLUMNS)
    )
    return typed_sessions(
        sessions,
        tz="Asia/Seoul",
        filters=Filters(),
        slug="s",
        window_start=START,
        window_end=START + timedelta(days=1),
        abandoned_after=timedelta(hours=1),
    )


def test_the_typed_frame_meets_its_contract():
    typed = enforce(TYPED_SESSIONS, frame(), "typed sessions file")
    assert typed["possibly_abandoned"].to_list() == [False, True]
    assert typed["session_duration_seconds"].to_list() == [7200, None]


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (
            pl.col("login_time_local") + timedelta(hours=1),
            "local times are the UTC times in the zone",
        ),
        (pl.col("session_duration_seconds") + 1, "duration is logout minus login"),
    ],
)
def test_inconsistent_rows_are_refused(change, check):
    broken = frame().with_columns(change.alias(str(change.meta.output_name())))
    with pytest.raises(ContractViolation) as refusal:
        enforce(TYPED_SESSIONS, broken, "typed sessions file")
    assert check in refusal.value.checks


def test_abandoned_needs_a_missing_logout():
    broken = frame().with_columns(pl.lit(True).alias("possibly_abandoned"))
    with pytest.raises(ContractViolation) as refusal:
        enforce(TYPED_SESSIONS, broken, "typed sessions file")
    assert refusal.value.checks == ["abandoned only without logout"]
