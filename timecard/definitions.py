"""Saved report definitions: one YAML file per report, `<reports_dir>/<slug>.yaml`.

The slug is the file name without `.yaml`, so it is unique by construction. A file holds:

    name: Weekly Sales Inbound logins (Seoul)   # required, one line of text
    timezone: Asia/Seoul                        # IANA name; default UTC
    filters:                                    # optional; each list optional
      agents: [jdoe, asmith]                    #   usernames
      routing_profiles: ["Sales Inbound"]       #   routing profile names
      hierarchies: ["Americas/Sales"]           #   level names joined by '/', at most 5 levels
    time_range:                                 # optional default range for ad hoc runs:
      preset: yesterday                         #   today | last-24-hours | yesterday |
                                                #   last-2-days | last-3-days
      # start: "2026-11-02T00:00:00"            #   ... or start and end instead of a preset;
      # end: "2026-11-03T00:00:00"              #   naive values are read in `timezone`
    schedule:                                   # none (default) | daily | weekly on weekdays:
      weekly: [monday, thu]                     #   names or 3-letter abbreviations, any case
    window_days: 7                              # 1-7, default 1: days of data per scheduled run
    prefix: weekly/seoul                        # optional delivery prefix, '/'-separated segments
    published: true                             # default false
    max_rows: 10000                             # at least 1; default 10000
    lookback_days: 31                           # 0-366; default 31
    formats: [csv, parquet]                     # published files; default both
    notify:                                     # optional email on these outcomes
      email: [ops@example.com]                  #   recipients
      on: [published, failed, row_limit]        #   default all three
    layout: "clientname=acme/rowdate={date}"    # optional raw partition layout (timecard.landing);
                                                #   default TIMECARD_EVENTS_LAYOUT, else auto
    partition_time: arrival                     # arrival | event; default TIMECARD_PARTITION_TIME
    completeness:                               # optional; how long a scheduled run waits for
      settle_minutes: 15                        #   events stamped this long after the window end
      max_wait_minutes: 60                      #   ... but no longer than this after it
                                                #   (defaults TIMECARD_SETTLE_MINUTES and
                                                #   TIMECARD_MAX_WAIT_MINUTES; fractions allowed)

Decisions:
- A scheduled report is always published, as in Amazon Connect (a report must be published to
  be scheduled): `published` defaults to true when a schedule is set, and `published: false`
  together with a schedule is refused. Unscheduling leaves `published` as it is.
- `window_days` only means something for a scheduled report, so a value other than 1 without a
  schedule is refused rather than silently ignored.
- Unknown keys are refused with a "did you mean" hint, because a typo (`scheduel: daily`) would
  otherwise silently change what the report does.
- The slug and the prefix become parts of storage paths, so both are restricted to plain ASCII
  names that cannot climb out of the output root (no `..`, no absolute paths, no backslashes).
  Slugs are lowercase so that two files cannot collide on a case-insensitive file system.
- Output namespaces cannot collide. A report's files are named after its slug
  (`{slug}-{date}.csv` in `date={date}/`), so reports may share a delivery folder (every report
  without a prefix shares `Reports/`) or nest one below another's: no file of one can overwrite,
  or be listed as, a file of another. What a prefix must not do is route into a folder that
  someone other than a saved report owns: `Reports/adhoc/` is the ad hoc DAG's namespace (its
  outputs are authorized through `timecard_adhoc`, and its file names are run ids that a slug
  could equal), so a prefix whose first segment is `adhoc` in any case, with or without trailing
  dots (which some file systems drop), is refused. A segment cannot hold `=`, so a prefix cannot
  fake a `date=` partition inside another report's folder either.
- Files are read with `yaml.safe_load` only, and at most 64 KiB of them.
- Saving writes the canonical form (`to_yaml`): comments in a hand-written file are not kept.

This module imports neither Polars nor Airflow: DAG files parse these definitions at Airflow
parse time, which must stay fast.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from timecard.errors import UsageError
from timecard.landing import PARTITION_TIMES, parse_layout
from timecard.limits import (
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_MAX_ROWS,
    DEFAULT_WINDOW_DAYS,
    FORMATS,
    MAX_LOOKBACK_DAYS,
    MAX_WINDOW_DAYS,
    MIN_LOOKBACK_DAYS,
    MIN_MAX_ROWS,
    MIN_WINDOW_DAYS,
)
from timecard.limits import RANGE_PRESETS as PRESETS
from timecard.timerange import TimeRange, custom_range, preset_range, zone

if TYPE_CHECKING:
    import yaml

    from transforms.filters import Filters

SUFFIX = ".yaml"
SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
PREFIX_SEGMENT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_PREFIX_LENGTH = 256
# The ad hoc DAG's folder below Reports/ (`timecard.pipeline.ADHOC_PREFIX`): no saved report's.
ADHOC_PREFIX = "adhoc"
MAX_NAME_LENGTH = 200
MAX_FILE_BYTES = 64 * 1024
MAX_HIERARCHY_LEVELS = 5

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_NUMBERS = {
    **{name: number for number, name in enumerate(WEEKDAY_NAMES)},
    **{name[:3]: number for number, name in enumerate(WEEKDAY_NAMES)},
}

TOP_LEVEL_KEYS = (
    "name",
    "timezone",
    "filters",
    "time_range",
    "schedule",
    "window_days",
    "prefix",
    "published",
    "max_rows",
    "lookback_days",
    "formats",
    "notify",
    "layout",
    "partition_time",
    "completeness",
)
COMPLETENESS_KEYS = ("settle_minutes", "max_wait_minutes")
NOTIFY_KEYS = ("email", "on")
NOTIFY_EVENTS = ("published", "failed", "row_limit")
# Deliberately simple: one address, no display name, nothing that could add a mail header.
EMAIL_PATTERN = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")
FILTER_KEYS = ("agents", "routing_profiles", "hierarchies")
TIME_RANGE_KEYS = ("preset", "start", "end")


class DefinitionError(UsageError):
    """A definition that cannot be used. The message names the source and every problem."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = tuple(problems)
        # One paragraph, whatever the parts contain (YAML errors span several lines).
        text = re.sub(r"\s*\n\s*", " ", " ".join(problems))
        super().__init__(f"Report definition {source} is invalid: {text}")


@dataclass(frozen=True)
class ReportDefinition:
    slug: str
    name: str
    timezone: str = "UTC"
    agents: tuple[str, ...] = ()
    routing_profiles: tuple[str, ...] = ()
    hierarchies: tuple[str, ...] = ()
    # The optional default time range for ad hoc runs: a preset, or a start and an end.
    range_preset: str | None = None
    range_start: str | None = None
    range_end: str | None = None
    schedule: str = "none"  # "none", "daily" or "weekly"
    schedule_weekdays: tuple[int, ...] = ()  # weekly only: sorted, 0 = Monday
    window_days: int = DEFAULT_WINDOW_DAYS
    prefix: str | None = None
    published: bool = False
    max_rows: int = DEFAULT_MAX_ROWS
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    formats: tuple[str, ...] = FORMATS
    notify_email: tuple[str, ...] = ()  # no recipients: no email
    notify_on: tuple[str, ...] = NOTIFY_EVENTS
    # How the raw events land; None: the environment's default (TIMECARD_EVENTS_LAYOUT, ...).
    layout: str | None = None
    partition_time: str | None = None
    # The completeness gate of scheduled runs; None: the environment's default.
    settle_minutes: float | None = None
    max_wait_minutes: float | None = None

    @property
    def filters(self) -> Filters:
        # Imported here: transforms.filters imports Polars, which DAG parsing must not load.
        from transforms.filters import Filters

        return Filters(self.agents, self.routing_profiles, self.hierarchies)

    @property
    def is_scheduled(self) -> bool:
        return self.schedule != "none"

    @property
    def weekdays(self) -> tuple[int, ...] | None:
        """The local weekdays the report runs on (0 = Monday): all seven for a daily report,
        None for an unscheduled one."""
        if self.schedule == "daily":
            return tuple(range(7))
        if self.schedule == "weekly":
            return self.schedule_weekdays
        return None

    def describe_schedule(self) -> str:
        if self.schedule == "weekly":
            text = "weekly " + ",".join(WEEKDAY_NAMES[day][:3] for day in self.schedule_weekdays)
        else:
            text = self.schedule
        if self.is_scheduled and self.window_days > 1:
            text += f" ({self.window_days}-day window)"
        return text

    def describe_filters(self) -> str:
        parts = [
            f"{label}: {', '.join(values)}"
            for label, values in (
                ("agent", self.agents),
                ("routing profile", self.routing_profiles),
                ("hierarchy", self.hierarchies),
            )
            if values
        ]
        return "; ".join(parts) or "none"

    def default_time_range(self, now: datetime) -> TimeRange | None:
        """The saved default range for an ad hoc run at `now`, or None if there is none."""
        if self.range_preset:
            return preset_range(self.range_preset, self.timezone, now)
        if self.range_start and self.range_end:
            return custom_range(self.range_start, self.range_end, self.timezone)
        return None

    def to_dict(self) -> dict:
        """The file's content as plain values, in the documented key order."""
        data: dict = {"name": self.name, "timezone": self.timezone}
        filters = {
            key: list(values)
            for key, values in zip(
                FILTER_KEYS, (self.agents, self.routing_profiles, self.hierarchies), strict=True
            )
            if values
        }
        if filters:
            data["filters"] = filters
        if self.range_preset:
            data["time_range"] = {"preset": self.range_preset}
        elif self.range_start:
            data["time_range"] = {"start": self.range_start, "end": self.range_end}
        if self.schedule == "weekly":
            data["schedule"] = {"weekly": [WEEKDAY_NAMES[day] for day in self.schedule_weekdays]}
        else:
            data["schedule"] = self.schedule
        if self.is_scheduled:
            data["window_days"] = self.window_days
        if self.prefix:
            data["prefix"] = self.prefix
        data["published"] = self.published
        data["max_rows"] = self.max_rows
        data["lookback_days"] = self.lookback_days
        if self.formats != FORMATS:
            data["formats"] = list(self.formats)
        if self.notify_email:
            data["notify"] = {"email": list(self.notify_email), "on": list(self.notify_on)}
        if self.layout:
            data["layout"] = self.layout
        if self.partition_time:
            data["partition_time"] = self.partition_time
        completeness = {
            key: value
            for key, value in zip(
                COMPLETENESS_KEYS, (self.settle_minutes, self.max_wait_minutes), strict=True
            )
            if value is not None
        }
        if completeness:
            data["completeness"] = completeness
        return data

    def to_yaml(self) -> str:
        import yaml

        header = f"# timecard saved report '{self.slug}'. Format: timecard/definitions.py\n"
        return header + yaml.safe_dump(
            self.to_dict(), sort_keys=False, allow_unicode=True, default_flow_style=False
        )


def slug_problem(slug: object) -> str | None:
    if isinstance(slug, str) and SLUG_PATTERN.fullmatch(slug):
        return None
    return (
        f"The slug {_shown(slug)} is not allowed: a slug (the file name without {SUFFIX}) is 1 to "
        "64 characters of lowercase letters a-z, digits, '-' and '_', and starts with a letter "
        "or a digit."
    )


def prefix_problem(prefix: object) -> str | None:
    if not isinstance(prefix, str):
        return "prefix: must be text such as 'daily' or 'weekly/seoul'."
    if len(prefix) > MAX_PREFIX_LENGTH:
        return f"prefix: is {len(prefix)} characters long; at most {MAX_PREFIX_LENGTH} are allowed."
    shown = _shown(prefix)
    if "\\" in prefix:
        return f"prefix: {shown} contains a backslash; separate segments with '/'."
    if prefix.startswith("/"):
        return f"prefix: {shown} starts with '/'; it must be relative to the Reports/ folder."
    if ".." in prefix:
        return f"prefix: {shown} contains '..'."
    for segment in prefix.split("/"):
        if not segment:
            return f"prefix: {shown} has an empty segment (an empty value, '//' or a trailing '/')."
        if not PREFIX_SEGMENT_PATTERN.fullmatch(segment):
            return (
                f"prefix: the segment {_shown(segment)} is not allowed; each '/'-separated segment "
                "starts with a letter or a digit and holds only ASCII letters, digits, '.', '_' "
                "and '-'."
            )
    if routes_into_adhoc(prefix):
        return (
            f"prefix: {shown} would publish into Reports/{ADHOC_PREFIX}/, the folder of ad hoc "
            f"outputs: anyone who may read the timecard_{ADHOC_PREFIX} DAG could list them there. "
            f"Choose another prefix, such as 'reports/{prefix.split('/', 1)[0]}'; a prefix may "
            f"contain '{ADHOC_PREFIX}' below its first segment."
        )
    return None


def routes_into_adhoc(prefix: str) -> bool:
    """Whether a delivery prefix lands in the ad hoc namespace, `Reports/adhoc/` or below it, on
    any store: its first segment is `adhoc` in any case (case-insensitive file systems), with or
    without trailing dots (dropped by some)."""
    return prefix.split("/", 1)[0].rstrip(".").lower() == ADHOC_PREFIX


def check_slug(slug: str) -> str:
    """`slug` itself, or a refusal: for callers that build paths from a slug."""
    if problem := slug_problem(slug):
        raise UsageError(problem)
    return slug


def check_prefix(prefix: str) -> str:
    """`prefix` itself, or a refusal: for callers that build paths from a prefix."""
    if problem := prefix_problem(prefix):
        raise UsageError(problem)
    return prefix


def definition_path(folder: str | Path, slug: str) -> Path:
    return Path(folder) / f"{check_slug(slug)}{SUFFIX}"


def existing_definition_path(folder: str | Path, slug: str) -> Path:
    """The file of the saved report `slug`; every command names a missing one the same way."""
    path = definition_path(folder, slug)  # refuses hostile slugs before touching the disk
    if not path.is_file():
        raise UsageError(
            f"There is no saved report {slug!r} in {folder}. `timecard reports list` shows "
            "the saved reports."
        )
    return path


def parse_definition(slug: str, data: object, source: str) -> ReportDefinition:
    """Validate a definition's content; `source` names it in the error (usually its path)."""
    problems: list[str] = []
    if problem := slug_problem(slug):
        problems.append(problem)
    if not isinstance(data, dict):
        problems.append(
            f"It must hold a mapping of settings (name: ..., timezone: ...), not {_kind(data)}."
        )
        raise DefinitionError(source, problems)
    problems += _unknown_keys(data, TOP_LEVEL_KEYS, "")

    name = _name(data.get("name"), problems)
    timezone = _timezone(data.get("timezone"), problems)
    agents, routing_profiles, hierarchies = _filters(data.get("filters"), problems)
    # An invalid zone is reported once; the range is still checked for its own mistakes.
    range_preset, range_start, range_end = _time_range(
        data.get("time_range"), timezone or "UTC", problems
    )
    schedule, schedule_weekdays = _schedule(data.get("schedule"), problems)
    window_days = _bounded_int(
        data, "window_days", DEFAULT_WINDOW_DAYS, MIN_WINDOW_DAYS, MAX_WINDOW_DAYS, problems
    )
    if schedule == "none" and window_days not in (None, DEFAULT_WINDOW_DAYS):
        problems.append(
            "window_days: only applies to a scheduled report; remove it or set a schedule."
        )
    prefix = data.get("prefix")
    if prefix is not None and (problem := prefix_problem(prefix)):
        problems.append(problem)
    # An invalid schedule (None) is reported once; the checks that depend on it are skipped.
    published = _published(data.get("published"), schedule not in (None, "none"), problems)
    max_rows = _bounded_int(data, "max_rows", DEFAULT_MAX_ROWS, MIN_MAX_ROWS, None, problems)
    lookback_days = _bounded_int(
        data, "lookback_days", DEFAULT_LOOKBACK_DAYS, MIN_LOOKBACK_DAYS, MAX_LOOKBACK_DAYS, problems
    )
    formats = _formats(data.get("formats"), problems)
    notify_email, notify_on = _notify(data.get("notify"), problems)
    layout, partition_time = _landing(data.get("layout"), data.get("partition_time"), problems)
    settle_minutes, max_wait_minutes = _completeness(data.get("completeness"), problems)
    # A check returns None only after adding a problem: the None tests narrow the types.
    if (
        problems
        or name is None
        or timezone is None
        or schedule is None
        or window_days is None
        or max_rows is None
        or lookback_days is None
    ):
        raise DefinitionError(source, problems)
    return ReportDefinition(
        slug=slug,
        name=name,
        timezone=timezone,
        agents=agents,
        routing_profiles=routing_profiles,
        hierarchies=hierarchies,
        range_preset=range_preset,
        range_start=range_start,
        range_end=range_end,
        schedule=schedule,
        schedule_weekdays=schedule_weekdays,
        window_days=window_days,
        prefix=prefix,
        published=published,
        max_rows=max_rows,
        lookback_days=lookback_days,
        formats=formats,
        notify_email=notify_email,
        notify_on=notify_on,
        layout=layout,
        partition_time=partition_time,
        settle_minutes=settle_minutes,
        max_wait_minutes=max_wait_minutes,
    )


def load_definition(path: str | Path) -> ReportDefinition:
    path = Path(path)
    source = str(path)
    if path.suffix != SUFFIX:
        raise DefinitionError(source, [f"A report definition file name must end in {SUFFIX}."])
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise DefinitionError(source, [f"It cannot be read: {error.strerror}."]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise DefinitionError(source, [f"It is larger than {MAX_FILE_BYTES} bytes."])
    import yaml  # here, not at the top: most commands never read a definition

    try:
        data = _safe_load(raw)
    except yaml.YAMLError as error:
        raise DefinitionError(source, [_yaml_problem(error)]) from None
    if data is None:
        raise DefinitionError(source, ["It is empty; it needs at least a name."])
    return parse_definition(path.stem, data, source)


def _safe_load(raw: bytes) -> object:
    """`yaml.safe_load`, parsed by libyaml where PyYAML has it: the same safe constructor and
    resolver, so the same values, in a third of the time (the dag-processor loads every
    definition on each parse). A file libyaml refuses is parsed again by the pure-Python loader,
    so the user's error message is the one it has always been."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.load(raw, Loader=loader)  # noqa: S506 - CSafeLoader is the safe loader
        except yaml.YAMLError:
            pass
    return yaml.safe_load(raw)


def load_all(folder: str | Path) -> tuple[list[ReportDefinition], list[DefinitionError]]:
    """Every definition in `folder`, sorted by slug, and one error per broken file.

    A missing folder holds no definitions. Hidden files (editor swap files, the temporary files
    of `save_definition`) are skipped; `.yml` files are reported so they are not silently ignored.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return [], []
    definitions, errors = [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix == ".yml":
            errors.append(DefinitionError(str(path), [f"Rename it to {path.stem}{SUFFIX}."]))
        elif path.suffix == SUFFIX:
            try:
                definitions.append(load_definition(path))
            except DefinitionError as error:
                errors.append(error)
    return definitions, errors


def save_definition(
    definition: ReportDefinition,
    folder: str | Path,
    *,
    overwrite: bool = True,
    text: str | None = None,
) -> Path:
    """Write `definition` to `folder/<slug>.yaml` atomically and return the path.

    Readers (the Airflow DAG processor) see the old file or the new one, never half of one.
    With `overwrite=False` an existing file is refused, also when it appears concurrently.
    `text` is the file to write when it is not `definition.to_yaml()` (an edit that keeps the
    file's comments); it must load as `definition`.
    """
    path = definition_path(folder, definition.slug)
    given = text is not None
    content = definition.to_yaml() if text is None else text
    # Never write a file that would not load again (a definition built in code skips checks).
    import yaml

    written = parse_definition(definition.slug, yaml.safe_load(content), str(path))
    if given and written != definition:
        raise ValueError(f"the edited text of {path} does not load as the edited definition")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{definition.slug}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; the DAG processor may be another user
        if overwrite:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)  # atomic create-if-absent
            except FileExistsError:
                raise UsageError(
                    f"A saved report {definition.slug!r} already exists ({path}). Choose another "
                    "slug, or change the existing one with `timecard reports edit`."
                ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return path


def create_definition(folder: str | Path, slug: str, data: dict) -> tuple[ReportDefinition, Path]:
    """Validate `data` as the new saved report `slug` and write its file; an existing one is
    refused. The one way a definition is created: `timecard reports create` and the UI's
    "Save as saved report" both come here, so they write the same file for the same content."""
    path = definition_path(folder, slug)
    if path.exists():
        raise UsageError(
            f"A saved report {slug!r} already exists ({path}). Change it with "
            "`timecard reports edit`, or choose another slug."
        )
    definition = parse_definition(slug, data, str(path))
    return definition, save_definition(definition, path.parent, overwrite=False)


def edit_definition(path: str | Path, current: ReportDefinition, changed: ReportDefinition) -> Path:
    """Write `changed` over the file of `current`, keeping the file's comments, key order and the
    text of every value that did not change (a round-trip YAML parser, ruamel.yaml, rewrites only
    the changed keys). The result is checked to load as `changed` before it replaces the file."""
    from ruamel.yaml import YAML

    # The round-trip loader builds mappings, sequences and scalars only, never Python objects;
    # the file was already loaded with yaml.safe_load as `current`, and the new text is again.
    document = YAML(typ="rt", pure=True)
    document.preserve_quotes = True
    document.width = 4096  # never fold a long name onto a second line
    tree = document.load(Path(path).read_text(encoding="utf-8"))
    wanted = changed.to_dict()
    _merge_changes(tree, current.to_dict(), wanted)
    text = _dumped(document, tree)
    # A value the file left to its default may now need writing (a default that depends on
    # another key, such as `published` on a report that is no longer scheduled).
    import yaml

    written = parse_definition(changed.slug, yaml.safe_load(text), str(path)).to_dict()
    for key in [key for key, value in wanted.items() if written.get(key) != value]:
        tree[key] = wanted[key]
    if written != wanted:
        text = _dumped(document, tree)
    return save_definition(changed, Path(path).parent, text=text)


def _dumped(document, tree) -> str:
    from io import StringIO

    buffer = StringIO()
    document.dump(tree, buffer)
    return buffer.getvalue()


def _merge_changes(tree: dict, old: dict, new: dict) -> None:
    """Set in `tree` (the file's own mapping) the keys whose value differs between `old` and
    `new`, remove those `new` dropped, and add new keys at the end; the rest keeps its text."""
    for key in [key for key in old if key not in new]:
        tree.pop(key, None)
    from ruamel.yaml.comments import CommentedSeq

    for key, value in new.items():
        if key in old and old[key] == value:
            continue
        here = tree.get(key)
        if isinstance(value, dict) and isinstance(old.get(key), dict) and isinstance(here, dict):
            _merge_changes(here, old[key], value)
        elif isinstance(value, list) and isinstance(here, CommentedSeq) and here.fa.flow_style():
            tree[key] = CommentedSeq(value)  # a list written [a, b] stays so
            tree[key].fa.set_flow_style()
        else:
            tree[key] = value


def parse_weekday(value: object) -> int | None:
    """0 for 'monday', 'Mon', 'MONDAY', ...; None if `value` is not a weekday name."""
    return _WEEKDAY_NUMBERS.get(value.strip().lower()) if isinstance(value, str) else None


def _name(value: object, problems: list[str]) -> str | None:
    if value is None:
        problems.append("name: is required.")
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append("name: must be non-empty text.")
        return None
    name = value.strip()
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        problems.append("name: must be a single line without control characters.")
    elif len(name) > MAX_NAME_LENGTH:
        problems.append(f"name: is {len(name)} characters long; at most {MAX_NAME_LENGTH}.")
    return name


def _timezone(value: object, problems: list[str]) -> str | None:
    if value is None:
        return "UTC"
    if not isinstance(value, str):
        problems.append("timezone: must be an IANA time zone name such as 'Asia/Seoul'.")
        return None
    try:
        zone(value)
    except UsageError as error:
        problems.append(f"timezone: {error}")
        return None
    return value


def _filters(
    value: object, problems: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    if value is None:
        return (), (), ()
    if not isinstance(value, dict):
        problems.append(
            "filters: must be a mapping with any of agents, routing_profiles, hierarchies."
        )
        return (), (), ()
    problems += _unknown_keys(value, FILTER_KEYS, "filters.")
    agents = _text_list(value.get("agents"), "filters.agents", problems)
    routing_profiles = _text_list(
        value.get("routing_profiles"), "filters.routing_profiles", problems
    )
    hierarchies = []
    for path in _text_list(value.get("hierarchies"), "filters.hierarchies", problems):
        levels = [level.strip() for level in path.split("/")]
        if not all(levels) or len(levels) > MAX_HIERARCHY_LEVELS:
            problems.append(
                f"filters.hierarchies: {_shown(path)} must be 1 to {MAX_HIERARCHY_LEVELS} "
                "non-empty level names joined by '/', such as 'Americas/Sales'."
            )
        hierarchies.append("/".join(levels))
    return agents, routing_profiles, tuple(hierarchies)


def _text_list(value: object, field: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(f'{field}: must be a list, such as ["first", "second"].')
        return ()
    texts = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            problems.append(
                f"{field}: {_shown(item)} is not a non-empty text value; put values in quotes."
            )
        else:
            texts.append(item.strip())
    return tuple(texts)


def _time_range(
    value: object, tz_name: str, problems: list[str]
) -> tuple[str | None, str | None, str | None]:
    if value is None:
        return None, None, None
    usage = (
        f"time_range: must be {{preset: NAME}} with NAME one of {', '.join(PRESETS)}, "
        "or {start: ISO-8601, end: ISO-8601}"
    )
    if not isinstance(value, dict):
        problems.append(f"{usage}.")
        return None, None, None
    problems += _unknown_keys(value, TIME_RANGE_KEYS, "time_range.")
    preset, start, end = (value.get(key) for key in TIME_RANGE_KEYS)
    if preset is not None and start is None and end is None:
        if preset not in PRESETS:
            problems.append(f"{usage}; {_shown(preset)} is not a preset.")
            return None, None, None
        return preset, None, None
    if preset is None and start is not None and end is not None:
        # Unquoted ISO values arrive from YAML as datetime or date objects.
        start, end = (v.isoformat() if isinstance(v, date) else v for v in (start, end))
        if not isinstance(start, str) or not isinstance(end, str):
            problems.append(f"{usage}.")
            return None, None, None
        try:
            custom_range(start, end, tz_name)
        except UsageError as error:
            problems.append(f"time_range: {error}")
        return None, start, end
    problems.append(f"{usage}, not both and not only one of start and end.")
    return None, None, None


def _formats(value: object, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return FORMATS
    usage = f"formats: must be a non-empty list of {' and '.join(FORMATS)}, such as [csv, parquet]"
    if not isinstance(value, list) or not value:
        problems.append(f"{usage}.")
        return FORMATS
    unknown = [item for item in value if item not in FORMATS]
    if unknown:
        problems.append(f"{usage}; not a format: {', '.join(_shown(item) for item in unknown)}.")
        return FORMATS
    return tuple(name for name in FORMATS if name in value)


def _notify(value: object, problems: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if value is None:
        return (), NOTIFY_EVENTS
    usage = (
        "notify: must be a mapping such as {email: [ops@example.com], on: [published, failed, "
        f"row_limit]}} (on: any of {', '.join(NOTIFY_EVENTS)}; default all)"
    )
    if not isinstance(value, dict):
        problems.append(f"{usage}.")
        return (), NOTIFY_EVENTS
    # YAML 1.1 reads a bare `on:` key as the boolean true.
    value = {("on" if key is True else key): item for key, item in value.items()}
    problems += _unknown_keys(value, NOTIFY_KEYS, "notify.")
    addresses = value.get("email")
    if not isinstance(addresses, list) or not addresses:
        problems.append(f"{usage}; notify.email must list at least one address.")
        addresses = []
    bad = [a for a in addresses if not (isinstance(a, str) and EMAIL_PATTERN.fullmatch(a))]
    if bad:
        problems.append(f"notify.email: not an email address: {', '.join(_shown(a) for a in bad)}.")
    events = value.get("on", list(NOTIFY_EVENTS))
    if not isinstance(events, list) or not events or any(e not in NOTIFY_EVENTS for e in events):
        problems.append(f"{usage}; got on: {_shown(events)}.")
        events = NOTIFY_EVENTS
    return tuple(dict.fromkeys(addresses)), tuple(e for e in NOTIFY_EVENTS if e in events)


def _schedule(value: object, problems: list[str]) -> tuple[str | None, tuple[int, ...]]:
    usage = (
        "schedule: must be none, daily, or a weekly mapping such as {weekly: [monday, thu]} "
        "(weekday names or 3-letter abbreviations)"
    )
    if value is None:
        return "none", ()
    if isinstance(value, str) and value.strip().lower() in ("none", "daily"):
        return value.strip().lower(), ()
    if not (isinstance(value, dict) and list(value) == ["weekly"]):
        problems.append(f"{usage}; got {_shown(value)}.")
        return None, ()
    days = value["weekly"]
    if not isinstance(days, list) or not days:
        problems.append(f"{usage}; the weekly list must name at least one weekday.")
        return None, ()
    numbers = [parse_weekday(day) for day in days]
    unknown = [day for day, number in zip(days, numbers, strict=True) if number is None]
    if unknown:
        problems.append(f"{usage}; not a weekday: {', '.join(_shown(day) for day in unknown)}.")
        return None, ()
    return "weekly", tuple(sorted({number for number in numbers if number is not None}))


def _published(value: object, scheduled: bool, problems: list[str]) -> bool:
    if value is None:
        return scheduled
    if not isinstance(value, bool):
        problems.append("published: must be true or false.")
        return scheduled
    if scheduled and not value:
        problems.append(
            "published: a scheduled report is always published (as in Amazon Connect); drop "
            "'published: false', or unschedule the report first (schedule: none)."
        )
    return value


def _landing(layout: object, partition_time: object, problems: list[str]):
    """The raw layout template and partition clock, each optional."""
    if layout is not None:
        if not isinstance(layout, str):
            problems.append(
                f"layout: must be text such as 'rowdate={{date}}', not {_kind(layout)}."
            )
            layout = None
        else:
            try:
                parse_layout(layout)
                layout = layout.strip()
            except UsageError as error:
                problems.append(f"layout: {error}")
                layout = None
    if partition_time is not None and partition_time not in PARTITION_TIMES:
        problems.append(
            f"partition_time: must be 'arrival' or 'event', not {_shown(partition_time)}."
        )
        partition_time = None
    return layout, partition_time


def _completeness(value: object, problems: list[str]) -> tuple[float | None, float | None]:
    """settle_minutes and max_wait_minutes, each optional: numbers of minutes, at least 0."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        problems.append(
            "completeness: must be a mapping such as {settle_minutes: 15, max_wait_minutes: 60}."
        )
        return None, None
    problems += _unknown_keys(value, COMPLETENESS_KEYS, "completeness.")
    minutes = []
    for key in COMPLETENESS_KEYS:
        number = value.get(key)
        if number is not None and (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not 0 <= number < float("inf")
        ):
            problems.append(f"completeness.{key}: must be a number of minutes, at least 0.")
            number = None
        minutes.append(number)
    settle, max_wait = minutes
    if settle is not None and max_wait is not None and max_wait < settle:
        problems.append(
            f"completeness: max_wait_minutes ({max_wait:g}) is shorter than settle_minutes "
            f"({settle:g}); a run would give up before the events it waits for could land."
        )
    return settle, max_wait


def _bounded_int(
    data: dict, key: str, default: int, low: int, high: int | None, problems: list[str]
) -> int | None:
    value = data.get(key)
    if value is None:
        return default
    allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"
    # bool is an int subclass in Python, but `max_rows: yes` is a mistake.
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (low <= value and (high is None or value <= high))
    ):
        problems.append(f"{key}: must be a whole number {allowed}; got {_shown(value)}.")
        return None
    return value


def _unknown_keys(data: dict, known: tuple[str, ...], where: str) -> list[str]:
    problems = []
    for key in data:
        if key in known:
            continue
        text = f"{where}{key}"
        if text == "slug":
            hint = f" The slug is the file name (<slug>{SUFFIX}), not a setting."
        elif matches := difflib.get_close_matches(str(key).lower(), known, n=1, cutoff=0.6):
            hint = f" Did you mean '{where}{matches[0]}'?"
        else:
            hint = f" Known settings here: {', '.join(known)}."
        problems.append(f"Unknown setting {_shown(text)}.{hint}")
    return problems


def _yaml_problem(error: yaml.YAMLError) -> str:
    import yaml

    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    detail = getattr(error, "problem", None) or str(error)
    if isinstance(error, yaml.constructor.ConstructorError) and "tag" in detail:
        return (
            f"It uses a YAML tag that is not allowed{where} ({detail}); a definition holds "
            "plain values only."
        )
    return f"It is not valid YAML{where}: {detail}."


def _shown(value: object, limit: int = 60) -> str:
    """A value as it may appear in a message: escaped (no control characters reach a log) and
    shortened (a hostile 10,000-character value must not flood it)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _kind(value: object) -> str:
    kinds: dict[type, str] = {list: "a list", str: "a single text value"}
    return kinds.get(type(value), f"a value of type {type(value).__name__}")
