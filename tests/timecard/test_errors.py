"""timecard/errors.py: the refusals a user can act on, and the exit code each one gives."""

from __future__ import annotations

import pytest

from tests.builders import WINDOW, assert_one_paragraph_refusal, run
from timecard import errors


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.TimecardError, 1),
        (errors.UnreadableInputError, 1),
        (errors.UsageError, 2),
        (errors.RowLimitExceeded, 3),
        (errors.NoRawEventsError, 4),
    ],
)
def test_each_refusal_is_a_timecard_error_with_its_exit_code(error, code):
    assert issubclass(error, errors.TimecardError)
    assert error.exit_code == code


def test_the_command_line_exits_with_the_refusals_code_and_one_paragraph(tmp_path, capsys):
    # No raw event file in the window: NoRawEventsError, exit 4, no traceback.
    (tmp_path / "events").mkdir()
    code = run(
        "report", "--events", str(tmp_path / "events"), *WINDOW, "--out", str(tmp_path / "r.csv")
    )
    assert code == errors.NoRawEventsError.exit_code
    assert_one_paragraph_refusal(capsys.readouterr().err)
    # A window that ends before it starts: UsageError, exit 2.
    code = run(
        "report", "--events", str(tmp_path / "events"), "--start", "2026-11-03T00:00:00",
        "--end", "2026-11-02T00:00:00", "--out", str(tmp_path / "r.csv"),
    )  # fmt: skip
    assert code == errors.UsageError.exit_code
    assert_one_paragraph_refusal(capsys.readouterr().err)
