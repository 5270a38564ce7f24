"""The ad hoc report form: its parameters (the `timecard_adhoc` DAG's trigger form, or the UI's
Generate page, which makes the same check before it triggers a run) as a ReportSpec and window.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from timecard import timerange
from timecard.errors import UsageError
from timecard.limits import DEFAULT_LOOKBACK_DAYS, DEFAULT_MAX_ROWS
from timecard.publishing import ADHOC_PREFIX, adhoc_output_id
from timecard.spec import ReportSpec
from timecard.timerange import TimeRange

DEFAULT_NAME = "Ad hoc report"


def from_form(
    params: Mapping[str, object],
    now: datetime,
    run_id: str = "",
    requested_by: str | None = None,
) -> tuple[ReportSpec, TimeRange]:
    """An ad hoc report's spec and window from the trigger form's parameters, for the run
    `run_id` that `requested_by` triggered at `now` (a UsageError names a bad parameter)."""
    tz = _text(params.get("timezone")) or "UTC"
    preset = params.get("preset", "custom")
    if preset == "custom":
        start, end = _text(params.get("start")), _text(params.get("end"))
        if not (start and end):
            raise UsageError("A custom range needs both a start and an end.")
        window = timerange.custom_range(start, end, tz)
    else:
        window = timerange.preset_range(str(preset), tz, now)
    spec = ReportSpec(
        slug=adhoc_output_id(run_id),
        name=_text(params.get("name")).strip() or DEFAULT_NAME,
        timezone=tz,
        agents=_texts(params.get("agents")),
        routing_profiles=_texts(params.get("routing_profiles")),
        hierarchies=_texts(params.get("hierarchies")),
        prefix=ADHOC_PREFIX,
        max_rows=_number(params.get("max_rows")) or DEFAULT_MAX_ROWS,
        lookback_days=_number(params.get("lookback_days")) or DEFAULT_LOOKBACK_DAYS,
        requested_by=requested_by,
        requested_at=now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    )
    return spec, window


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: object) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise UsageError(f"A filter must be a list of values, not {value!r}.")
    return tuple(str(item) for item in value)


def _number(value: object) -> int:
    if value is None or value == "":
        return 0
    try:
        if isinstance(value, int | float | str):
            return int(value)
    except ValueError:
        pass
    raise UsageError(f"{value!r} is not a whole number.")
