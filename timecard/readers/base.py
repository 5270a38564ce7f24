"""The interface every raw file reader implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from timecard.errors import UnreadableInputError

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class RawRecords:
    """The records of one raw file, as read, and what the reader understood of the file."""

    frame: pl.LazyFrame  # raw fields under the file's own names, plus a 1-based `source_row`
    format: str  # parquet | json | json-gzip
    shape: str  # nested | json-text (Parquet); ndjson | concatenated | multi-line (JSON)
    # The records attributes are taken from, when the reader has a cheaper read for them than
    # `frame` (same names, a subset of the records); read only if attributes are needed.
    attribute_records: pl.LazyFrame | None = None


class Reader(Protocol):
    def recognises(self, head: bytes) -> bool:
        """Whether a file starting with these bytes is this reader's."""
        ...

    def read(self, url: str, session_candidates_only: bool) -> RawRecords:
        """The file's records. Raises UnreadableInputError, naming the file, when it cannot be
        read at all."""
        ...

    def read_batch(self, urls: list[str], session_candidates_only: bool) -> RawRecords | None:
        """The records of several files at once, each naming its file in
        `transforms.normalize.SOURCE_FILE_COLUMN`; or None, and they are read one by one.
        Reading a day's many small files in one plan is what makes a day cheap; a batch that
        fails while its plan runs is read again file by file, which names the file at fault."""
        ...


def unreadable(url: str, what: str, error: Exception | None = None) -> UnreadableInputError:
    detail = ""
    if error is not None:
        text = str(error).strip()
        detail = f" ({text.splitlines()[0][:200] if text else type(error).__name__})"
    return UnreadableInputError(
        f"The raw event file {url} {what}{detail}. No report was written. Move the file out of "
        "the events root, or replace it with a good copy, and run the report again."
    )


def decompressed_cap() -> int:
    """The most one raw file may hold once decompressed, in bytes (TIMECARD_MAX_DECOMPRESSED_MB)."""
    from timecard.settings import get_settings

    return get_settings().max_decompressed_mb * 2**20


def too_large(url: str, how: str, cap: int) -> UnreadableInputError:
    """The refusal of a raw file past the decompressed-size cap, naming it."""
    return UnreadableInputError(
        f"The raw event file {url} {how}: one raw file may hold at most {cap / 2**20:,.0f} MiB "
        "once decompressed (TIMECARD_MAX_DECOMPRESSED_MB), so it was not read further and no "
        "report was written. A Kinesis Firehose object holds at most 128 MiB: check that the "
        "file is what it seems (not a compression bomb or a misplaced dump) and move it out of "
        "the events root; if it is a genuine file, split it, or raise "
        "TIMECARD_MAX_DECOMPRESSED_MB."
    )
