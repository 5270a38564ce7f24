"""Issue 10's proof: one set of events gives the byte-identical report whichever shape, layout and
partition clock it was written in, and the independent DuckDB reference agrees.

`timecard generate-events` writes the same events (the same arguments) in each shape; the report
over the middle of the generated days is compared with the report of the same events in today's
`date=` nested Parquet, and with the reference's CSV over the same files.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.builders import readable_diff
from tests.reference.duckdb_reference import reference_report_csv
from timecard import storage
from timecard.cli import main
from timecard.generate import SHAPES, generate_events

AGENTS, START, DAYS, SEED = 8, date(2026, 11, 2), 4, 10
# The middle of the stream: every neighbouring partition either clock needs was generated.
WINDOW = (datetime(2026, 11, 4, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC))
LOOKBACK_DAYS = 1
LAYOUTS = [
    ("date", "arrival"),
    ("firehose", "arrival"),
    ("clientname=acme/rowdate={date}", "arrival"),
    ("year={yyyy}/month={MM}/day={dd}", "event"),
]


def timecard_csv(root: str, cache: str, layout: str, partition_time: str) -> str:
    out = f"{cache}.csv"
    arguments = ["report", "--events", root, "--cache", cache, "--out", out, "--tz", "UTC"]
    arguments += ["--start", WINDOW[0].isoformat(), "--end", WINDOW[1].isoformat()]
    arguments += ["--lookback-days", str(LOOKBACK_DAYS)]
    arguments += ["--layout", layout, "--partition-time", partition_time]
    assert main(arguments) == 0
    return storage.read_bytes(out).decode()


def generate(root: str, shape: str, layout: str, partition_time: str) -> None:
    generate_events(
        root,
        agents=AGENTS,
        start=START,
        days=DAYS,
        seed=SEED,
        shape=shape,
        layout=layout,
        partition_time=partition_time,
    )


@pytest.fixture(scope="module")
def expected_csv(tmp_path_factory) -> str:
    """The report of the events in `date=` nested Parquet, as timecard has always read them."""
    folder = tmp_path_factory.mktemp("baseline")
    generate(str(folder / "events"), "parquet", "date", "arrival")
    csv = timecard_csv(str(folder / "events"), str(folder / "cache"), "date", "arrival")
    assert csv.count("\n") > AGENTS // 2  # sessions of most agents, not a header-only report
    return csv


@pytest.mark.parametrize(("layout", "partition_time"), LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_the_report_is_the_same_whatever_the_shape(
    tmp_path, expected_csv, shape, layout, partition_time
):
    root = str(tmp_path / "events")
    generate(root, shape, layout, partition_time)

    actual = timecard_csv(root, str(tmp_path / "cache"), layout, partition_time)
    reference = reference_report_csv(
        root, *WINDOW, "UTC", LOOKBACK_DAYS, layout=layout, partition_time=partition_time
    )

    assert actual == expected_csv, "\n" + readable_diff(expected_csv, actual)
    assert reference == expected_csv, "\n" + readable_diff(expected_csv, reference)
