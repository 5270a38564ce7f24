"""Pandera is imported without Hypothesis, which it needs only for data synthesis."""

from __future__ import annotations

import subprocess
import sys

from timecard.settings import REPO_ROOT

VALIDATE_A_REPORT = """
import sys
import polars as pl
from schemas.contract import enforce
from schemas.sessions import SESSIONS
try:
    enforce(SESSIONS, pl.DataFrame({"agent_arn": ["x"]}), "session table")
except Exception as error:
    print(type(error).__name__)
print("hypothesis" in sys.modules)
import hypothesis  # still importable, for whoever needs it
print("hypothesis" in sys.modules)
"""


def test_validating_a_frame_does_not_import_hypothesis():
    completed = subprocess.run(
        [sys.executable, "-c", VALIDATE_A_REPORT],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    assert completed.stdout.split() == ["ContractViolation", "False", "True"]
