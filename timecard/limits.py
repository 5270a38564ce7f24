"""Every default and bound of a report, and the fixed name sets, defined once.

argparse (`timecard report`, `timecard reports`), the ad hoc DAG's Params, the YAML validation of
saved reports, the engine, the UI and the generator read their numbers and choices from here.
Standard library only: `timecard --help` must stay fast, so no Polars or Airflow import, ever.

Not here: column names of the data contracts (schemas/ owns them, and may not import timecard).
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Literal

# -- the login lookback: how many days before the window a session's LOGIN may lie -----------
DEFAULT_LOOKBACK_DAYS = 31
# 0 (no lookback) is what `timecard report --lookback-days` and the ad hoc DAG's Param accepted
# before the bounds met here; saved reports used to refuse it, and now accept it too.
MIN_LOOKBACK_DAYS = 0
MAX_LOOKBACK_DAYS = 366

# -- the row limit: a report with more rows than this fails its contract ---------------------
DEFAULT_MAX_ROWS = 10_000
MIN_MAX_ROWS = 1

# -- a report's time range: at most this long (wall clock, in the report's zone) -------------
MAX_RANGE_DAYS = 7
MAX_RANGE = timedelta(days=MAX_RANGE_DAYS)
# Time-range presets, relative to now (timecard.timerange resolves them).
RANGE_PRESETS = ("today", "last-24-hours", "yesterday", "last-2-days", "last-3-days")

# -- a scheduled report's window: the local days of data each scheduled run covers -----------
DEFAULT_WINDOW_DAYS = 1
MIN_WINDOW_DAYS = 1
MAX_WINDOW_DAYS = 7

# -- output formats, in the order they are written and listed --------------------------------
FORMATS = ("csv", "parquet")

# -- raw event layouts timecard recognises by name (timecard.landing), name -> template ------
LAYOUT_PRESETS: Mapping[str, str] = MappingProxyType(
    {
        "date": "date={date}",
        "ymd": "year={yyyy}/month={MM}/day={dd}",
        "firehose": "{yyyy}/{MM}/{dd}/{HH}",
    }
)
LAYOUT_PRESET_NAMES = tuple(LAYOUT_PRESETS)

# -- the synthetic generator's file shapes (`timecard generate-events --shape`) --------------
Shape = Literal[
    "ndjson",
    "ndjson-gz",
    "concatenated",
    "concatenated-gz",
    "pretty",
    "mixed",
    "mixed-gz",
    "ndjson-lower",
    "parquet",
    "parquet-pyarrow",
    "parquet-glue-struct",
    "parquet-glue-string",
    "parquet-json-text-camel",
]
SHAPES: tuple[Shape, ...] = typing.get_args(Shape)
DEFAULT_SHAPE: Shape = "parquet"
