"""The "possibly abandoned" rule, one definition for the UI's table and the typed sessions file.

A session with no logout is possibly abandoned (the CCP window was closed without logging out)
when its Last activity, or its login when there is none, lies more than a threshold before the
point where its activity stopped counting: the agent's next login, which ended the session, or
else the window end. Comparing with the window end alone would flag every agent who simply
logged in again after a dropped connection.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl


def no_logout(login: str, logout: str) -> pl.Expr:
    return pl.col(login).is_not_null() & pl.col(logout).is_null()


def activity_bound(
    login: str, logout: str, agent: str, window_start: datetime, window_end: datetime
) -> pl.Expr:
    """For a session with no logout: the agent's next login among the frame's rows, else the
    window end. Sessions of one agent never overlap, so that next login ended this session.
    The columns hold UTC instants."""
    window_start, window_end = window_start.astimezone(UTC), window_end.astimezone(UTC)
    next_login = (
        pl.col(login)
        .shift(-1)
        .over(agent, order_by=pl.col(login).fill_null(window_start - timedelta(days=1)))
    )
    return pl.when(no_logout(login, logout)).then(next_login.fill_null(window_end))


def possibly_abandoned(
    login: str, logout: str, last_activity: str, bound: str, threshold: timedelta
) -> pl.Expr:
    silence = pl.col(bound) - pl.coalesce(last_activity, login)
    return no_logout(login, logout) & (silence > threshold).fill_null(False)
