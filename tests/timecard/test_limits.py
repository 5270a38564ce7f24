"""timecard.limits: every default and bound in one place, read by argparse, the YAML
validation, the engine and the generator, and cheap to import."""

import subprocess
import sys

import pytest

from timecard import limits
from timecard.cli import _parser
from timecard.definitions import DefinitionError, parse_definition
from timecard.engine import ReportRequest
from timecard.errors import UsageError
from timecard.timerange import custom_range


def test_importing_the_limits_loads_neither_polars_nor_airflow():
    heavy = "('polars', 'airflow', 'pyarrow')"
    probe = (
        "import sys, timecard.limits; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_the_report_command_defaults_come_from_the_limits():
    args = _parser().parse_args(["report", "--events", "e", "--preset", "today", "--out", "o.csv"])
    assert (args.lookback_days, args.max_rows) == (31, 10_000)
    assert (args.lookback_days, args.max_rows) == (
        limits.DEFAULT_LOOKBACK_DAYS,
        limits.DEFAULT_MAX_ROWS,
    )


def test_the_generator_shapes_are_the_command_line_choices():
    from timecard.generate import SHAPES

    assert tuple(SHAPES) == limits.SHAPES
    assert limits.DEFAULT_SHAPE in limits.SHAPES
    with pytest.raises(SystemExit):
        _parser().parse_args(
            [
                "generate-events",
                "--out",
                "o",
                "--agents",
                "1",
                "--start",
                "2026-11-01",
                "--days",
                "1",
                "--shape",
                "no-such-shape",
            ]
        )


@pytest.mark.parametrize(
    "lookback", [limits.MIN_LOOKBACK_DAYS, limits.DEFAULT_LOOKBACK_DAYS, limits.MAX_LOOKBACK_DAYS]
)
def test_a_saved_report_and_a_request_accept_the_same_lookbacks(lookback):
    definition = parse_definition("r", {"name": "R", "lookback_days": lookback}, "r.yaml")
    assert definition.lookback_days == lookback
    window = custom_range("2026-11-02T00:00:00", "2026-11-03T00:00:00", "UTC")
    assert ReportRequest("events", window, lookback_days=lookback).lookback_days == lookback


@pytest.mark.parametrize("lookback", [limits.MIN_LOOKBACK_DAYS - 1, limits.MAX_LOOKBACK_DAYS + 1])
def test_a_saved_report_and_a_request_refuse_the_same_lookbacks(lookback):
    with pytest.raises(DefinitionError):
        parse_definition("r", {"name": "R", "lookback_days": lookback}, "r.yaml")
    window = custom_range("2026-11-02T00:00:00", "2026-11-03T00:00:00", "UTC")
    with pytest.raises(UsageError):
        ReportRequest("events", window, lookback_days=lookback)


@pytest.mark.parametrize(
    ("days", "accepted"),
    [
        (limits.MIN_WINDOW_DAYS - 1, False),
        (limits.MIN_WINDOW_DAYS, True),
        (limits.MAX_WINDOW_DAYS, True),
        (limits.MAX_WINDOW_DAYS + 1, False),
    ],
)
def test_window_days_bounds(days, accepted):
    data = {"name": "R", "schedule": "daily", "window_days": days}
    if accepted:
        assert parse_definition("r", data, "r.yaml").window_days == days
    else:
        with pytest.raises(DefinitionError):
            parse_definition("r", data, "r.yaml")


def test_a_range_of_the_maximum_length_is_accepted_and_one_second_more_refused():
    assert limits.MAX_RANGE.days == limits.MAX_RANGE_DAYS == 7
    custom_range("2026-11-01T00:00:00", "2026-11-08T00:00:00", "UTC")
    with pytest.raises(UsageError):
        custom_range("2026-11-01T00:00:00", "2026-11-08T00:00:01", "UTC")


def test_saved_reports_default_to_every_format():
    assert parse_definition("r", {"name": "R"}, "r.yaml").formats == limits.FORMATS
