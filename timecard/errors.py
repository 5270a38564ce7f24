"""User-facing errors: each carries a one-paragraph message and is never shown as a traceback."""


class TimecardError(Exception):
    """A refusal the user can act on (bad parameters, bad input, a limit reached)."""

    exit_code = 1


class UsageError(TimecardError):
    """The command was called with parameters that cannot work."""

    exit_code = 2


class UnreadableInputError(TimecardError):
    """A raw event file could not be read at all (corrupt Parquet, truncated gzip, ...)."""


class RowLimitExceeded(TimecardError):
    """The report has more rows than its limit, so nothing was written."""

    exit_code = 3


class NoRawEventsError(TimecardError):
    """No raw event file exists for the window: refusing beats publishing an empty report."""

    exit_code = 4
