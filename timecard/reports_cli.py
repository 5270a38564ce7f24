"""`timecard reports ...`: manage saved report definitions from the command line.

Every change goes through `timecard.definitions.parse_definition`, the validation that loading
uses, so the CLI can never write a file that Airflow would refuse.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from timecard.errors import UsageError
from timecard.limits import (
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_MAX_ROWS,
    MAX_LOOKBACK_DAYS,
    MAX_WINDOW_DAYS,
    MIN_LOOKBACK_DAYS,
    MIN_WINDOW_DAYS,
    RANGE_PRESETS,
)
from timecard.settings import get_settings


def add_reports_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `reports` and its subcommands; each sets `func(args) -> exit code`."""
    reports = subparsers.add_parser(
        "reports",
        help="manage saved report definitions",
        description="Manage saved report definitions (one YAML file per report).",
    )
    commands = reports.add_subparsers(dest="reports_command", metavar="COMMAND", required=True)

    _command(commands, "list", "list saved reports, flagging broken files", list_reports)

    validate = _command(
        commands, "validate", "check that saved reports load, as Airflow will", validate_reports
    )
    validate.add_argument("slug", nargs="?", help="only this report (default: every one)")

    show = _command(commands, "show", "print a saved report's YAML", show_report)
    show.add_argument("slug")

    create = _command(commands, "create", "create a saved report", create_report)
    create.add_argument("slug", help="file name without .yaml: a-z, 0-9, '-', '_'")
    _add_definition_options(create, editing=False)

    edit = _command(commands, "edit", "change the given settings of a saved report", edit_report)
    edit.add_argument("slug")
    _add_definition_options(edit, editing=True)

    save_as = _command(commands, "save-as", "copy a saved report under a new slug", save_as_report)
    save_as.add_argument("slug")
    save_as.add_argument("new_slug")
    save_as.add_argument("--name", help="name of the copy (default: '<name> (copy)')")

    delete = _command(
        commands, "delete", "delete a definition (published files stay)", delete_report
    )
    delete.add_argument("slug")

    schedule = _command(
        commands, "schedule", "run a report daily or weekly at 00:00 local time", schedule_report
    )
    schedule.add_argument("slug")
    when = schedule.add_mutually_exclusive_group(required=True)
    when.add_argument("--daily", action="store_true", help="run every day")
    when.add_argument(
        "--weekly", metavar="DAYS", help="run on these weekdays, e.g. mon,wed or monday"
    )
    schedule.add_argument("--tz", metavar="ZONE", help="IANA time zone of the report")
    schedule.add_argument("--prefix", help="delivery prefix, e.g. weekly/seoul")
    schedule.add_argument(
        "--window-days",
        type=int,
        metavar="N",
        help=f"days of data per run, {MIN_WINDOW_DAYS}-{MAX_WINDOW_DAYS}",
    )

    unschedule = _command(commands, "unschedule", "stop a report's schedule", unschedule_report)
    unschedule.add_argument("slug")
    return reports


def list_reports(args: argparse.Namespace) -> int:
    """Exit code 1 when some files are broken, so scripts notice them."""
    from timecard import definitions as saved  # only `timecard reports` needs it

    folder = _folder(args)
    definitions, errors = saved.load_all(folder)
    if not definitions and not errors:
        print(f"No saved reports in {folder}.")
        return 0
    if definitions:
        header = ("SLUG", "NAME", "SCHEDULE", "TIMEZONE", "PUBLISHED", "FILTERS")
        rows = [
            (
                d.slug,
                d.name,
                d.describe_schedule(),
                d.timezone,
                "yes" if d.published else "no",
                d.describe_filters(),
            )
            for d in definitions
        ]
        print(_table(header, rows))
    if errors:
        print(f"\nBroken definitions ({len(errors)}), not loaded and not scheduled:")
        for error in errors:
            print(f"- {error}")
        return 1
    return 0


def validate_reports(args: argparse.Namespace) -> int:
    """Exit code 1, with one paragraph per broken file, when any definition would not load
    (the checks Airflow's `timecard_definition_check` makes); 0 when all load."""
    from timecard import definitions as saved  # only `timecard reports` needs it

    folder = _folder(args)
    if args.slug:
        definitions, errors = [], []
        try:
            definitions.append(saved.load_definition(_existing_path(args, args.slug)))
        except saved.DefinitionError as error:
            errors.append(error)
    else:
        definitions, errors = saved.load_all(folder)
    for broken in errors:
        print(f"- {broken}")
    print(f"{len(definitions)} valid, {len(errors)} broken saved report(s) in {folder}.")
    return 1 if errors else 0


def show_report(args: argparse.Namespace) -> int:
    from timecard import definitions as saved  # only `timecard reports` needs it

    path = _existing_path(args, args.slug)
    # The file as written (with its comments); a broken file is shown, then its problems.
    print(path.read_text(encoding="utf-8", errors="replace"), end="")
    saved.load_definition(path)
    return 0


def create_report(args: argparse.Namespace) -> int:
    from timecard import definitions as saved  # only `timecard reports` needs it

    saved.definition_path(_folder(args), args.slug)  # a hostile slug is refused first
    data: dict = {}
    _apply_definition_options(data, args)
    definition, path = saved.create_definition(_folder(args), args.slug, data)
    print(f"Created saved report {definition.slug!r}: {path}")
    return 0


def edit_report(args: argparse.Namespace) -> int:
    from timecard import definitions as saved  # only `timecard reports` needs it

    path = _existing_path(args, args.slug)
    current = saved.load_definition(path)
    data = current.to_dict()
    _apply_definition_options(data, args)
    changed = saved.parse_definition(current.slug, data, str(path))
    if changed == current:
        print(f"Nothing changed in {current.slug!r}.")
        return 0
    saved.edit_definition(path, current, changed)
    print(f"Updated saved report {changed.slug!r}: {path}")
    return 0


def save_as_report(args: argparse.Namespace) -> int:
    from timecard import definitions as saved  # only `timecard reports` needs it

    source = saved.load_definition(_existing_path(args, args.slug))
    target = saved.definition_path(_folder(args), args.new_slug)
    if target.exists():
        raise UsageError(
            f"A saved report {args.new_slug!r} already exists ({target}). Choose another slug."
        )
    data = source.to_dict()
    data["name"] = args.name if args.name is not None else f"{source.name} (copy)"
    copy = saved.parse_definition(args.new_slug, data, str(target))
    saved.save_definition(copy, target.parent, overwrite=False)
    print(f"Saved {source.slug!r} as {copy.slug!r}: {target}")
    if copy.is_scheduled:
        print(f"The copy is scheduled too ({copy.describe_schedule()}): DAG timecard_{copy.slug}.")
    return 0


def delete_report(args: argparse.Namespace) -> int:
    path = _existing_path(args, args.slug)
    path.unlink()
    print(
        f"Deleted the definition {args.slug!r} ({path}). Reports it already published stay "
        "where they are, as in Amazon Connect; if it was scheduled, its DAG "
        f"timecard_{args.slug} disappears at Airflow's next parse."
    )
    return 0


def schedule_report(args: argparse.Namespace) -> int:
    definition = schedule_definition(
        _folder(args),
        args.slug,
        args.weekly.split(",") if args.weekly else None,
        args.window_days,
        tz=args.tz,
        prefix=args.prefix,
    )
    delivery = f"Reports/{definition.prefix}/" if definition.prefix else "Reports/"
    print(
        f"Scheduled {definition.slug!r}: {definition.describe_schedule()}, at 00:00 "
        f"{definition.timezone}, covering the previous {_days(definition.window_days)}; "
        f"published under {delivery}. Airflow runs it as DAG timecard_{definition.slug}."
    )
    return 0


def schedule_definition(
    folder: str | Path,
    slug: str,
    weekdays: list[str] | None,
    window_days: int | None,
    tz: str | None = None,
    prefix: str | None = None,
):
    """Schedule the saved report `slug` daily, or weekly on `weekdays`, keeping its file's
    comments: what `timecard reports schedule` does (the UI's Save runs it too)."""
    from timecard import definitions as saved  # only `timecard reports` needs it

    path = saved.existing_definition_path(folder, slug)
    current = saved.load_definition(path)
    data = current.to_dict()
    data["schedule"] = {"weekly": weekdays} if weekdays else "daily"
    data["published"] = True  # a scheduled report is published, as in Amazon Connect
    for key, value in (("timezone", tz), ("prefix", prefix), ("window_days", window_days)):
        if value is not None:
            data[key] = value
    definition = saved.parse_definition(slug, data, str(path))
    saved.edit_definition(path, current, definition)
    return definition


def unschedule_report(args: argparse.Namespace) -> int:
    from timecard import definitions as saved  # only `timecard reports` needs it

    path = _existing_path(args, args.slug)
    current = saved.load_definition(path)
    if not current.is_scheduled:
        print(f"{current.slug!r} is not scheduled.")
        return 0
    data = current.to_dict()
    data["schedule"] = "none"
    del data["window_days"]  # only meaningful with a schedule
    definition = saved.parse_definition(current.slug, data, str(path))
    saved.edit_definition(path, current, definition)
    print(
        f"Unscheduled {definition.slug!r}; the definition stays. Its DAG "
        f"timecard_{definition.slug} disappears at Airflow's next parse; reports it already "
        "published stay where they are."
    )
    return 0


def _command(commands, name: str, help_text: str, handler) -> argparse.ArgumentParser:
    description = f"{help_text[:1].upper()}{help_text[1:]}."
    parser = commands.add_parser(name, help=help_text, description=description)
    parser.add_argument(
        "--dir",
        help="folder of the definitions (default: $TIMECARD_REPORTS_DIR or ./reports)",
    )
    parser.set_defaults(func=handler)
    return parser


def _add_definition_options(parser: argparse.ArgumentParser, *, editing: bool) -> None:
    parser.add_argument("--name", required=not editing, help="the report's display name")
    parser.add_argument("--tz", metavar="ZONE", help="IANA time zone (default UTC)")
    replaces = " (replaces the saved list)" if editing else ""
    parser.add_argument(
        "--agent",
        dest="agents",
        action="append",
        metavar="USERNAME",
        help=f"agent filter, repeatable{replaces}",
    )
    parser.add_argument(
        "--routing-profile",
        dest="routing_profiles",
        action="append",
        metavar="NAME",
        help=f"routing profile filter, repeatable{replaces}",
    )
    parser.add_argument(
        "--hierarchy",
        dest="hierarchies",
        action="append",
        metavar="PATH",
        help=f"hierarchy filter 'L1/L2/...', repeatable{replaces}",
    )
    parser.add_argument(
        "--preset", choices=RANGE_PRESETS, help="default time range for ad hoc runs"
    )
    parser.add_argument("--start", metavar="TIME", help="default custom range start (ISO-8601)")
    parser.add_argument("--end", metavar="TIME", help="default custom range end (ISO-8601)")
    parser.add_argument("--prefix", help="delivery prefix, e.g. daily or weekly/seoul")
    published = parser.add_mutually_exclusive_group()
    published.add_argument(
        "--published", action="store_true", default=None, help="mark the report published"
    )
    published.add_argument(
        "--unpublished", dest="published", action="store_false", help="mark it unpublished"
    )
    parser.add_argument(
        "--max-rows", type=int, metavar="N", help=f"row limit (default {DEFAULT_MAX_ROWS})"
    )
    parser.add_argument(
        "--lookback-days",
        type=int,
        metavar="N",
        help=f"login lookback, {MIN_LOOKBACK_DAYS}-{MAX_LOOKBACK_DAYS} "
        f"(default {DEFAULT_LOOKBACK_DAYS})",
    )
    if editing:
        parser.add_argument("--clear-filters", action="store_true", help="remove all filters")
        parser.add_argument(
            "--clear-time-range", action="store_true", help="remove the default time range"
        )
        parser.add_argument("--clear-prefix", action="store_true", help="remove the prefix")


def _apply_definition_options(data: dict, args: argparse.Namespace) -> None:
    """Change `data` (a definition's content) by the options given; the rest stays."""
    from timecard import definitions as saved  # only `timecard reports` needs it

    if getattr(args, "clear_prefix", False) and args.prefix is not None:
        raise UsageError("Give either --prefix or --clear-prefix, not both.")
    if args.preset is not None and (args.start is not None or args.end is not None):
        raise UsageError("Give either --preset or --start and --end, not both.")
    if (args.start is None) != (args.end is None):
        raise UsageError("A custom default time range needs both --start and --end.")

    for key, value in (
        ("name", args.name),
        ("timezone", args.tz),
        ("prefix", args.prefix),
        ("published", args.published),
        ("max_rows", args.max_rows),
        ("lookback_days", args.lookback_days),
    ):
        if value is not None:
            data[key] = value
    if getattr(args, "clear_prefix", False):
        data.pop("prefix", None)

    filters = {} if getattr(args, "clear_filters", False) else dict(data.get("filters") or {})
    for key in saved.FILTER_KEYS:  # the option dests are named like the keys
        if getattr(args, key) is not None:
            filters[key] = getattr(args, key)
    if filters:
        data["filters"] = filters
    else:
        data.pop("filters", None)

    if getattr(args, "clear_time_range", False):
        data.pop("time_range", None)
    if args.preset is not None:
        data["time_range"] = {"preset": args.preset}
    elif args.start is not None:
        data["time_range"] = {"start": args.start, "end": args.end}


def _folder(args: argparse.Namespace) -> Path:
    # Read at call time, not at parser construction, so the current environment applies.
    return Path(args.dir or get_settings().reports_dir)


def _existing_path(args: argparse.Namespace, slug: str) -> Path:
    from timecard import definitions as saved  # only `timecard reports` needs it

    return saved.existing_definition_path(_folder(args), slug)


def _days(count: int) -> str:
    return "local calendar day" if count == 1 else f"{count} local calendar days"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)
