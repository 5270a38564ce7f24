"""Where raw agent events land: the partition layout below the events root, and its clock.

A layout is a template of folder segments below the events root, such as `rowdate={date}`,
`dt={date}`, `year={yyyy}/month={MM}/day={dd}` or `{yyyy}/{MM}/{dd}/{HH}`. Fixed segments
(`clientname=acme`) may sit in the template or in the root. A UTC day's files are everything
below the folder its day placeholders render to: hour folders are listed, never guessed.

Partitions follow either the **arrival** time of the records (Firehose's `!{timestamp}` prefixes:
an event can land in the partition of the next day, so one neighbouring day is read on each side),
or the **event** time (dynamic partitioning on `EventTimestamp`: no neighbour is needed).

This module is pure: listing the storage belongs to `timecard.storage` and its callers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from timecard.errors import UsageError

# The layouts timecard recognises by itself when none is set, name -> template.
from timecard.limits import LAYOUT_PRESETS as PRESETS

PartitionTime = Literal["arrival", "event"]
PARTITION_TIMES: tuple[PartitionTime, ...] = ("arrival", "event")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DAY_FIELDS = ("date", "yyyy", "MM", "dd")
_FIELDS = (*_DAY_FIELDS, "HH")
_FORMATS = {"date": "%Y-%m-%d", "yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H"}


@dataclass(frozen=True)
class Layout:
    """One partition layout, as a validated template (see the module docstring)."""

    template: str

    @property
    def segments(self) -> list[str]:
        return self.template.split("/")

    def _day_depth(self) -> int:
        """How many leading segments name the day; the rest lie below a day's folder."""
        with_day = [
            index
            for index, segment in enumerate(self.segments)
            if set(_PLACEHOLDER.findall(segment)) & set(_DAY_FIELDS)
        ]
        return with_day[-1] + 1

    def day_folder(self, day: date) -> str:
        """The folder (relative to the events root) holding every file of one UTC day."""
        moment = datetime(day.year, day.month, day.day)
        return "/".join(_render(segment, moment) for segment in self.segments[: self._day_depth()])

    def folder_for(self, moment: datetime) -> str:
        """The whole folder of a record filed at `moment` (UTC): what a writer creates."""
        return "/".join(_render(segment, moment) for segment in self.segments)

    def describe(self) -> str:
        names = {template: name for name, template in PRESETS.items()}
        return names.get(self.template, self.template)


def _render(segment: str, moment: datetime) -> str:
    return _PLACEHOLDER.sub(lambda match: moment.strftime(_FORMATS[match.group(1)]), segment)


def parse_layout(text: str) -> Layout:
    """A layout from a preset name (`date`, `ymd`, `firehose`) or a template; UsageError if bad."""
    raw = (text or "").strip()
    template = PRESETS.get(raw, raw).strip("/")

    def refuse(why: str) -> UsageError:
        return UsageError(
            f"The layout {raw!r} {why}. A layout is a preset ({', '.join(PRESETS)}) or a template "
            "of folders below the events root with {date} or {yyyy}, {MM} and {dd}, and "
            "optionally {HH} in a later folder, such as 'rowdate={date}', "
            "'clientname=acme/dt={date}' or '{yyyy}/{MM}/{dd}/{HH}'."
        )

    if not template:
        raise refuse("is empty")
    segments = template.split("/")
    if any(segment in ("", ".", "..") or "\\" in segment for segment in segments):
        raise refuse("has an empty, '.' or '..' folder, or a backslash")
    names = _PLACEHOLDER.findall(template)
    unknown = sorted(set(names) - set(_FIELDS))
    if unknown or template.count("{") != len(names) or template.count("}") != len(names):
        raise refuse(f"has unknown or unbalanced placeholders ({', '.join(unknown) or 'braces'})")
    if "date" not in names and not {"yyyy", "MM", "dd"} <= set(names):
        raise refuse("does not name the day")
    depth = Layout(template)._day_depth()
    if any("HH" in _PLACEHOLDER.findall(segment) for segment in segments[:depth]):
        raise refuse("puts {HH} in or before a folder that names the day")
    return Layout(template)


def known_layouts() -> list[Layout]:
    """What is read when no layout is set: each preset."""
    return [Layout(template) for template in PRESETS.values()]


def parse_partition_time(value: str) -> PartitionTime:
    """`value` as a partition time (a setting, a saved report, the CLI), or a UsageError."""
    for known in PARTITION_TIMES:
        if value == known:
            return known
    raise UsageError(
        f"The partition time must be 'arrival' (Firehose's own !{{timestamp}} prefixes) "
        f"or 'event' (dynamic partitioning on EventTimestamp), not {value!r}."
    )


@dataclass(frozen=True)
class Landing:
    """An events root with how its partitions are laid out and which clock they follow."""

    root: str
    layout: Layout | None = None  # None: any of the presets
    partition_time: PartitionTime = "arrival"

    def __post_init__(self):
        parse_partition_time(self.partition_time)

    @property
    def layouts(self) -> list[Layout]:
        return [self.layout] if self.layout else known_layouts()

    @property
    def neighbour_days(self) -> int:
        """Partitions read on each side of a span: an arriving record can be filed a day late."""
        return 1 if self.partition_time == "arrival" else 0

    def day_folders(self, day: date) -> list[str]:
        """The folders (relative to the root) that hold a UTC day's files."""
        return [layout.day_folder(day) for layout in self.layouts]

    def describe(self) -> str:
        layout = self.layout.describe() if self.layout else "auto (date, ymd or firehose)"
        return f"{self.root} (layout {layout}, partitions by {self.partition_time} time)"


# -- guessing a layout from what sits below a root ------------------------------------------------

_DATE = r"\d{4}-\d{2}-\d{2}"
_KEY = r"[A-Za-z_][A-Za-z0-9_.-]*"


def suggest_layout(list_folders: Callable[[str], list[str]], max_depth: int = 6) -> str | None:
    """A layout template that would match what lies below a root, when one is obvious.

    `list_folders(relative)` names the sub-folders of a folder below the root ("" is the root).
    The walk follows the first folder at each level; it stops at the first day it recognises.
    """
    segments: list[str] = []
    pending: list[str] = []  # keys of year= / month= folders met so far
    relative = ""
    for _ in range(max_depth):
        names = sorted(list_folders(relative))
        if not names:
            return None
        name = names[0]
        if match := re.fullmatch(rf"({_KEY})=({_DATE})", name):
            return "/".join([*segments, f"{match.group(1)}={{date}}"])
        if re.fullmatch(_DATE, name):
            return "/".join([*segments, "{date}"])
        if match := re.fullmatch(rf"({_KEY})=(\d{{1,4}})", name):
            pending.append(match.group(1))
            if len(pending) == 3:
                fields = zip(pending, ("{yyyy}", "{MM}", "{dd}"), strict=True)
                return "/".join([*segments, *(f"{key}={value}" for key, value in fields)])
        elif re.fullmatch(r"\d{4}", name) and not pending:
            return _suggest_numeric(list_folders, relative, name, segments)
        elif not pending:
            segments.append(name)
        else:
            return None
        relative = f"{relative}/{name}".strip("/")
    return None


def _suggest_numeric(list_folders, relative, year, segments) -> str | None:
    """Below a `YYYY` folder: `MM/dd` folders, then perhaps `HH` folders."""
    path = f"{relative}/{year}".strip("/")
    months = sorted(name for name in list_folders(path) if re.fullmatch(r"\d{2}", name))
    if not months:
        return None
    path = f"{path}/{months[0]}"
    days = sorted(name for name in list_folders(path) if re.fullmatch(r"\d{2}", name))
    if not days:
        return None
    hours = [name for name in list_folders(f"{path}/{days[0]}") if re.fullmatch(r"\d{2}", name)]
    tail = ["{yyyy}", "{MM}", "{dd}", "{HH}"] if hours else ["{yyyy}", "{MM}", "{dd}"]
    return "/".join([*segments, *tail])
