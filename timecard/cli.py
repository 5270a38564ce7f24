"""The `timecard` command line. Its options are a public contract: change them with care."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta

from timecard.ddl import DIALECTS
from timecard.errors import TimecardError, UsageError
from timecard.limits import (
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_MAX_ROWS,
    DEFAULT_SHAPE,
    LAYOUT_PRESET_NAMES,
    RANGE_PRESETS,
    SHAPES,
    Shape,
)
from timecard.reports_cli import add_reports_parser
from timecard.settings import get_settings

# The older `generate-events --format` spellings, as shapes.
FORMAT_SHAPES: dict[str, Shape] = {"parquet": "parquet", "ndjson": "ndjson-gz"}
_LAYOUT_NAMES = ", ".join(LAYOUT_PRESET_NAMES)


def _add_filter_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (one kind ORed, different kinds ANDed)")
    group.add_argument("--agent", action="append", default=[], metavar="USERNAME")
    group.add_argument("--routing-profile", action="append", default=[], metavar="NAME")
    group.add_argument(
        "--hierarchy",
        action="append",
        default=[],
        metavar="L1/L2/...",
        help="a path prefix of hierarchy level names",
    )


def _calendar_date(text: str, wanted: str, example: str, whole: str) -> date:
    """A YYYY-MM-DD option; anything else is refused in one paragraph with the accepted form."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        meant = datetime.fromisoformat(text).date()
    except ValueError:
        readings = _day_month_readings(text)
        hint = f" ({text!r} could mean {' or '.join(readings)})" if readings else ""
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date{hint}; give {wanted} as YYYY-MM-DD, like {example}."
        ) from None
    raise argparse.ArgumentTypeError(
        f"{text!r} is a time, but {whole}: give a date such as {meant}."
    )


def _day_month_readings(text: str) -> list[str]:
    """The ISO dates a DD-MM-YYYY or MM-DD-YYYY value (any of - / . between) could mean."""
    parts = text.replace("/", "-").replace(".", "-").split("-")
    if len(parts) != 3 or not all(part.isdigit() for part in parts) or len(parts[2]) != 4:
        return []
    readings = []
    for day, month in ((parts[0], parts[1]), (parts[1], parts[0])):
        with suppress(ValueError):
            readings.append(date(int(parts[2]), int(month), int(day)).isoformat())
    return list(dict.fromkeys(readings))


def _window_date(text: str) -> date:
    """A backfill bound: a local date. A time is refused with the date it probably meant."""
    whole = "backfill selects whole windows by their local start date"
    return _calendar_date(text, "the local start date of a window", "2026-11-25", whole)


def _since_date(text: str) -> date:
    """`republish --since`: the local start date of the first window to check."""
    whole = "republish checks whole windows by their local start date"
    return _calendar_date(text, "the local start date of a window", "2026-11-25", whole)


def _first_day(text: str) -> date:
    """`generate-events --start`: the first UTC day of the generated events."""
    whole = "the events are generated for whole UTC days"
    return _calendar_date(text, "the first UTC day of the events", "2026-11-01", whole)


def _add_landing_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("how raw events land (README: Connecting your instance)")
    group.add_argument(
        "--layout",
        metavar="TEMPLATE",
        help=f"partition layout below the events root: {_LAYOUT_NAMES}, or a template such "
        "as 'rowdate={date}' or '{yyyy}/{MM}/{dd}/{HH}' (default: TIMECARD_EVENTS_LAYOUT, "
        "else any of the three known layouts)",
    )
    group.add_argument(
        "--partition-time",
        choices=("arrival", "event"),
        help="partitions follow arrival time (Firehose's own prefixes: one neighbouring day "
        "is read on each side) or event time (dynamic partitioning on EventTimestamp) "
        "(default: TIMECARD_PARTITION_TIME, else arrival)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="timecard",
        description="The Amazon Connect Login/Logout report, rebuilt from the agent event stream.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    report = commands.add_parser("report", help="build one Login/Logout report as CSV")
    report.add_argument("--events", required=True, metavar="ROOT", help="raw events root")
    when = report.add_mutually_exclusive_group(required=True)
    when.add_argument("--preset", choices=RANGE_PRESETS)
    when.add_argument("--start", metavar="T", help="ISO-8601; naive values are read in --tz")
    report.add_argument("--end", metavar="T")
    report.add_argument("--tz", default="UTC", help="IANA time zone (default UTC)")
    _add_filter_options(report)
    report.add_argument("--lookback-days", type=int, default=DEFAULT_LOOKBACK_DAYS, metavar="N")
    report.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, metavar="N")
    report.add_argument("--out", required=True, metavar="FILE_OR_URL")
    report.add_argument(
        "--cache", metavar="ROOT", help="condensed event cache (default: TIMECARD_CACHE_ROOT)"
    )
    _add_landing_options(report)
    report.set_defaults(func=_run_report)

    generate = commands.add_parser("generate-events", help="write a synthetic agent event stream")
    generate.add_argument("--out", required=True, metavar="ROOT")
    generate.add_argument("--agents", required=True, type=int, metavar="N")
    generate.add_argument("--start", required=True, type=_first_day, metavar="YYYY-MM-DD")
    generate.add_argument("--days", required=True, type=int, metavar="D")
    generate.add_argument("--seed", type=int, default=0, metavar="S")
    shape = generate.add_mutually_exclusive_group()
    shape.add_argument(
        "--shape",
        choices=SHAPES,
        help=f"how files hold the records (default {DEFAULT_SHAPE}; see README)",
    )
    shape.add_argument(
        "--format",
        choices=tuple(FORMAT_SHAPES),
        help="older spelling: parquet is --shape parquet, ndjson is --shape ndjson-gz",
    )
    generate.add_argument(
        "--layout",
        default="date",
        metavar="LAYOUT",
        help=f"{_LAYOUT_NAMES}, or a template such as 'clientname=acme/rowdate={{date}}'",
    )
    generate.add_argument(
        "--partition-time",
        choices=("arrival", "event"),
        default="arrival",
        help="file records under their arrival time (Firehose prefixes) or EventTimestamp",
    )
    generate.set_defaults(func=_run_generate)

    backfill = commands.add_parser(
        "backfill", help="run a saved report's scheduled windows in-process (no scheduler needed)"
    )
    backfill.add_argument("slug", metavar="SLUG")
    backfill.add_argument(
        "--from",
        dest="first",
        required=True,
        type=_window_date,
        metavar="DATE",
        help="first window's local start date (YYYY-MM-DD)",
    )
    backfill.add_argument(
        "--to",
        dest="last",
        required=True,
        type=_window_date,
        metavar="DATE",
        help="last window's local start date (YYYY-MM-DD)",
    )
    backfill.set_defaults(func=_run_backfill)

    republish = commands.add_parser(
        "republish",
        help="check a saved report's published windows for late raw data and republish those "
        "that changed",
    )
    republish.add_argument("slug", metavar="SLUG")
    republish.add_argument(
        "--since",
        required=True,
        type=_since_date,
        metavar="DATE",
        help="first window's local start date (YYYY-MM-DD) to check",
    )
    republish.set_defaults(func=_run_republish)
    ddl = commands.add_parser(
        "ddl", help="print a table definition of a saved report's published Parquet files"
    )
    ddl.add_argument("slug", metavar="SLUG")
    ddl.add_argument("--dialect", required=True, choices=DIALECTS)
    ddl.set_defaults(func=_run_ddl)

    add_reports_parser(commands)
    return parser


def _run_report(args: argparse.Namespace) -> int:
    from timecard import engine, timerange
    from transforms.filters import Filters

    if args.start is not None and args.end is None:
        raise UsageError("--start needs --end: give both, or use --preset.")
    if args.preset and args.end:
        raise UsageError("--end goes with --start, not with --preset.")
    if args.preset:
        window = timerange.preset_range(args.preset, args.tz, datetime.now(UTC))
    else:
        window = timerange.custom_range(args.start, args.end, args.tz)
    settings = get_settings()
    if warning := _recent_window_warning(window.end, settings.settle_minutes, datetime.now(UTC)):
        print(f"timecard: warning: {warning}", file=sys.stderr)
    request = engine.ReportRequest(
        events_root=args.events,
        time_range=window,
        filters=Filters(tuple(args.agent), tuple(args.routing_profile), tuple(args.hierarchy)),
        lookback_days=args.lookback_days,
        max_rows=args.max_rows,
        layout=args.layout or settings.events_layout,
        partition_time=args.partition_time or settings.partition_time,
    )
    result = engine.build_report(request, args.cache or settings.cache_root)
    for warning in result.summary.warnings():
        print(f"timecard: warning: {warning}", file=sys.stderr)
    quarantine_url = engine.write_outputs(result, args.out)
    print(f"timecard: report {window.describe()}: {result.summary.one_line()}", file=sys.stderr)
    print(f"timecard: wrote {args.out}", file=sys.stderr)
    if quarantine_url:
        print(
            f"timecard: {result.summary.quarantined:,} quarantined record(s) with their reasons "
            f"in {quarantine_url}",
            file=sys.stderr,
        )
    return 0


def _recent_window_warning(end: datetime, settle_minutes: float, now: datetime) -> str | None:
    """A report does not wait for late events (scheduled runs do): say when some may be missing."""
    if now >= end + timedelta(minutes=settle_minutes):
        return None
    return (
        f"the range ends at {end.isoformat()}, less than {settle_minutes:g} minutes "
        "(TIMECARD_SETTLE_MINUTES) before now: Kinesis Firehose delivers events up to 15 minutes "
        "late, so the last events of the range may be missing. Run the report again later for "
        "a complete one."
    )


def _run_generate(args: argparse.Namespace) -> int:
    from timecard.generate import generate_events

    summary = generate_events(
        args.out,
        agents=args.agents,
        start=args.start,
        days=args.days,
        seed=args.seed,
        shape=args.shape or FORMAT_SHAPES.get(args.format, DEFAULT_SHAPE),
        layout=args.layout,
        partition_time=args.partition_time,
    )
    print(f"timecard: generated {summary}", file=sys.stderr)
    return 0


def _run_backfill(args: argparse.Namespace) -> int:
    from timecard.backfill import exit_code, run_backfill

    return exit_code(run_backfill(args.slug, args.first, args.last))


def _run_republish(args: argparse.Namespace) -> int:
    from timecard.republish import exit_code, run_republish

    return exit_code(run_republish(args.slug, args.since))


def _run_ddl(args: argparse.Namespace) -> int:
    from timecard import ddl
    from timecard.definitions import existing_definition_path, load_definition
    from timecard.spec import ReportSpec

    definition = load_definition(existing_definition_path(get_settings().reports_dir, args.slug))
    print(ddl.render(ReportSpec.from_definition(definition), args.dialect), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except TimecardError as error:
        print(f"timecard: error: {error}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # a bug, not a user error: still one paragraph, trace on request
        if os.environ.get("TIMECARD_DEBUG"):
            traceback.print_exc()
        print(
            f"timecard: internal error: {type(error).__name__}: {error}. This is a bug in "
            "timecard; rerun with TIMECARD_DEBUG=1 to see the traceback, and report it.",
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
