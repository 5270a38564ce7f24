"""Server-rendered SVG charts of one output: who was logged in when.

- `logged_in_chart`: the number of agents logged in over the window, from every row of the
  report, with a second line that stops counting possibly abandoned sessions at their Last
  activity (how many agents were really there).
- `agent_sessions_chart`: one lane per agent, one bar per session, for the rows of a table page.

A session is drawn from its login (the window start when the login is unknown) to its logout,
or, with no logout, to the agent's next login or the window end: the same bound the abandoned
flag uses (`timecard.ui.table`). Every text is escaped; nothing but SVG markup is produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from markupsafe import Markup, escape

from timecard.ui.table import USERNAME

WIDTH = 960
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 12, 40
LANE_HEIGHT, LABEL_WIDTH = 22, 150
# Half the width of an axis label ('Mon 02', '23:00') at the chart's font size, and more.
_EDGE_LABEL = 24
_TICK_HOURS = (1, 2, 3, 6, 12, 24)
_MAX_TICKS = 12


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    timezone: str

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(ZoneInfo(self.timezone))


@dataclass(frozen=True)
class Session:
    username: str
    start: datetime
    end: datetime
    login_known: bool
    logout_known: bool
    last_activity: datetime | None
    abandoned: bool

    @property
    def active_end(self) -> datetime:
        """Where the agent was last seen: the Last activity of a possibly abandoned session."""
        if self.abandoned and self.last_activity is not None:
            return max(self.start, min(self.last_activity, self.end))
        return self.end


def sessions(report: pl.DataFrame, window: Window) -> list[Session]:
    """The rows of `report` (from `table.load_report`) as sessions clipped to the window."""
    found = []
    for row in report.select(
        USERNAME, "_login", "_logout", "_bound", "_last", "_abandoned"
    ).iter_rows(named=True):
        start = max(row["_login"] or window.start, window.start)
        end = min(row["_logout"] or row["_bound"] or window.end, window.end)
        found.append(
            Session(
                username=row[USERNAME] or "(unknown)",
                start=start,
                end=max(start, end),
                login_known=row["_login"] is not None,
                logout_known=row["_logout"] is not None,
                last_activity=row["_last"],
                abandoned=row["_abandoned"],
            )
        )
    return found


def logged_in_counts(
    found: list[Session], window: Window, *, active_only: bool = False
) -> list[tuple[datetime, int]]:
    """The step function of how many sessions are open: (instant, count from that instant on)."""
    changes: dict[datetime, int] = {window.start: 0}
    for session in found:
        end = session.active_end if active_only else session.end
        if end > session.start:
            changes[session.start] = changes.get(session.start, 0) + 1
            changes[end] = changes.get(end, 0) - 1
    steps, count = [], 0
    for instant in sorted(changes):
        count += changes[instant]
        if instant < window.end:
            steps.append((instant, count))
    return steps


def peak(steps: list[tuple[datetime, int]]) -> tuple[datetime, int]:
    """The first instant with the most sessions open, and that number."""
    return max(steps, key=lambda step: (step[1], -step[0].timestamp()))


def logged_in_chart(found: list[Session], window: Window) -> Markup:
    height = 240
    plot_height = height - TOP - BOTTOM
    logged_in = logged_in_counts(found, window)
    active = logged_in_counts(found, window, active_only=True)
    top_count = max(1, peak(logged_in)[1])
    y_step = _nice_step(top_count)
    y_max = -(-top_count // y_step) * y_step
    axis = _TimeAxis(window, LEFT, WIDTH - RIGHT)

    def y(count: int) -> float:
        return TOP + plot_height - count / y_max * plot_height

    parts = [_svg_open(height, "Number of agents logged in over the report window")]
    for count in range(0, y_max + 1, y_step):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(count):.1f}" '
            f'y2="{y(count):.1f}"/><text class="axis" x="{LEFT - 8}" y="{y(count) + 4:.1f}" '
            f'text-anchor="end">{count}</text>'
        )
    parts.append(axis.render(TOP, TOP + plot_height))
    line = _step_path(logged_in, axis, y)
    baseline = f"{y(0):.1f}"
    parts.append(
        f'<path class="area" d="{line} V {baseline} H {axis.x(window.start):.1f} Z">'
        f"<title>Agents logged in</title></path>"
    )
    parts.append(f'<path class="line" d="{line}"/>')
    parts.append(f'<path class="line-active" d="{_step_path(active, axis, y)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and fixed markup only


def agent_sessions_chart(found: list[Session], window: Window) -> Markup:
    """One lane per agent, in the order agents first appear on the page."""
    lanes: dict[str, list[Session]] = {}
    for session in found:
        lanes.setdefault(session.username, []).append(session)
    # The time labels go above the lanes: a page can hold many agents.
    top_margin = TOP + 20
    height = top_margin + max(1, len(lanes)) * LANE_HEIGHT + TOP
    axis = _TimeAxis(window, LABEL_WIDTH, WIDTH - RIGHT)
    parts = [
        _svg_open(height, "Sessions of the agents on this page"),
        '<defs><pattern id="tc-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/>'
        '<line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/></pattern></defs>',
        axis.render(top_margin, height - TOP, labels_above=True),
    ]
    for lane, (username, lane_sessions) in enumerate(lanes.items()):
        top = top_margin + lane * LANE_HEIGHT
        parts.append(
            f"<g><title>{escape(username)}</title>"
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{top + 15}" text-anchor="end">'
            f"{escape(_shorten(username, 20))}</text></g>"
        )
        for session in lane_sessions:
            parts.append(_session_bars(session, axis, top + 4, LANE_HEIGHT - 8, window))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def _session_bars(session: Session, axis: _TimeAxis, top: int, height: int, window: Window):
    def bar(css: str, start: datetime, end: datetime, title: str) -> str:
        x, width = axis.x(start), max(1.5, axis.x(end) - axis.x(start))
        return (
            f'<rect class="{css}" x="{x:.1f}" y="{top}" width="{width:.1f}" height="{height}">'
            f"<title>{escape(title)}</title></rect>"
        )

    shown = _session_title(session, window)
    if session.logout_known:
        bars = [bar("session", session.start, session.end, shown)]
    elif session.abandoned:
        bars = [
            bar("session-open", session.start, session.active_end, shown),
            bar(
                "session-abandoned",
                session.active_end,
                session.end,
                f"{shown}: possibly abandoned (CCP closed without logout)",
            ),
        ]
    else:
        bars = [bar("session-open", session.start, session.end, shown)]
    if not session.login_known:
        x = axis.x(session.start)
        bars.append(
            f'<path class="unknown-login" d="M {x:.1f} {top + height / 2:.1f} l 6 -5 v 10 Z">'
            "<title>Login before the lookback: unknown</title></path>"
        )
    return "".join(bars)


def _session_title(session: Session, window: Window) -> str:
    def when(instant: datetime) -> str:
        return window.local(instant).strftime("%m-%d %H:%M")

    login = when(session.start) if session.login_known else "login unknown"
    if session.logout_known:
        return f"{session.username}: {login} to {when(session.end)}"
    last = f", last activity {when(session.last_activity)}" if session.last_activity else ""
    return f"{session.username}: {login}, no logout{last}"


class _TimeAxis:
    """x positions over the window, with ticks on round local hours (local midnight for days)."""

    def __init__(self, window: Window, left: float, right: float):
        self.window, self.left, self.right = window, left, right

    def x(self, instant: datetime) -> float:
        span = (self.window.end - self.window.start).total_seconds()
        part = (instant - self.window.start).total_seconds() / span
        return self.left + min(1.0, max(0.0, part)) * (self.right - self.left)

    def ticks(self) -> list[datetime]:
        hours = (self.window.end - self.window.start).total_seconds() / 3600
        step = next((h for h in _TICK_HOURS if hours / h <= _MAX_TICKS), 24)
        # Candidates every 15 minutes find round local hours in every zone (Lord Howe's
        # half-hour offset, DST days of 23 or 25 hours).
        instant, found = self.window.start, []
        while instant <= self.window.end:
            local = self.window.local(instant)
            if local.minute == 0 and local.hour % step == 0:
                found.append(instant)
            instant += timedelta(minutes=15)
        return found

    def render(self, top: float, bottom: float, labels_above: bool = False) -> str:
        """Grid lines from `top` to `bottom`, labelled below the axis line (or above `top`)."""
        label_y = top - 6 if labels_above else bottom + 16
        parts = []
        previous_day = None
        for instant in self.ticks():
            x = self.x(instant)
            local = self.window.local(instant)
            day = local.date()
            label = local.strftime("%H:%M") if day == previous_day else local.strftime("%a %d")
            previous_day = day
            # A label at an edge of the axis keeps inside the chart: centred on the last tick,
            # half of it would fall past the right margin and be clipped.
            # (The left margins, 56 and 150 px, hold half a label.)
            anchor = "end" if x > self.right - _EDGE_LABEL else "middle"
            parts.append(
                f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}"/>'
                f'<text class="axis" x="{x:.1f}" y="{label_y}" text-anchor="{anchor}">'
                f"{label}</text>"
            )
        axis_y = top if labels_above else bottom
        parts.append(
            f'<line class="axis-line" x1="{self.left}" x2="{self.right}" y1="{axis_y}" '
            f'y2="{axis_y}"/>'
        )
        return "".join(parts)


def _step_path(steps: list[tuple[datetime, int]], axis: _TimeAxis, y) -> str:
    commands = [f"M {axis.x(steps[0][0]):.1f} {y(steps[0][1]):.1f}"]
    for instant, count in steps[1:]:
        commands.append(f"H {axis.x(instant):.1f} V {y(count):.1f}")
    commands.append(f"H {axis.x(axis.window.end):.1f}")
    return " ".join(commands)


def _nice_step(top: int) -> int:
    """A round tick step (1, 2, 5, 10, 20, ...) giving at most 6 ticks up to `top`."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if top / (factor * magnitude) <= 6:
                return factor * magnitude
        magnitude *= 10


def _svg_open(height: int, title: str) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
