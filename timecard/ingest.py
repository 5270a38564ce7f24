"""Finding and reading raw agent-event files: partitions, readers, bad input.

Raw data sits under an events root, partitioned by UTC day in a layout `timecard.landing`
describes (by default any of `date=YYYY-MM-DD/`, `year=YYYY/month=MM/day=DD/` or Firehose's
`YYYY/MM/DD/HH/`). A report lists only the partitions of the days it needs, never the whole root.
Each file is read by the reader its content calls for (`timecard.readers`).
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import NamedTuple

import polars as pl

from timecard import readers, storage
from timecard.landing import Landing
from timecard.readers.base import unreadable
from transforms import normalize


def as_landing(source: str | Landing) -> Landing:
    return source if isinstance(source, Landing) else Landing(storage.normalize(source))


def partition_prefixes(source: str | Landing, day: date) -> list[str]:
    """Where the raw files of one UTC day can be, in each layout the landing allows."""
    landing = as_landing(source)
    return [storage.join(landing.root, *folder.split("/")) for folder in landing.day_folders(day)]


def _is_data_file(url: str, prefix: str) -> bool:
    # Hidden and marker files (.crc, _SUCCESS, our own temporary files) are not data, and
    # neither is anything in a hidden or marker folder below the partition (Spark's
    # `_temporary/`, Hive's `.hive-staging/`): those hold files still being written.
    below_partition = url[len(prefix) :].strip("/").split("/")
    return not any(name.startswith((".", "_")) for name in below_partition)


def partition_files(source: str | Landing, day: date) -> list[storage.FileInfo]:
    files: set[storage.FileInfo] = set()
    for prefix in partition_prefixes(source, day):
        files.update(f for f in storage.list_files(prefix) if _is_data_file(f.url, prefix))
    return sorted(files)


def fingerprint(source: str | Landing, files: list[storage.FileInfo]) -> str:
    """Identifies a partition's content: its files with their sizes and versions (ETag/mtime).

    A late-arriving or rewritten file changes it, which makes a cached condensation stale.
    """
    root = storage.normalize(as_landing(source).root)
    digest = hashlib.sha256()
    for file in files:
        relative = file.url[len(root) :].lstrip("/")
        digest.update(f"{relative}\t{file.size}\t{file.version}\n".encode())
    return digest.hexdigest()[:32]


class RawFile(NamedTuple):
    """One raw file, as two lazy reads: every record's core fields with its `reason` (null when
    usable), and the attributes of its LOGIN/LOGOUT records; and what its reader understood."""

    checked: pl.LazyFrame
    session_attributes: pl.LazyFrame
    format: str
    shape: str


def read_file(
    file: storage.FileInfo,
    partition_day: date,
    session_candidates_only: bool = False,
    neighbour_days: int = 1,
) -> RawFile:
    """Lazy reads of one raw file; with `session_candidates_only`, `checked` skips the records
    known to be HEART_BEAT or STATE_CHANGE.

    Raises UnreadableInputError, naming the file, when the file cannot be read at all.
    """
    raw = readers.read_records(file, session_candidates_only)
    records = normalize.may_bound_a_session(raw.frame) if session_candidates_only else raw.frame
    return RawFile(
        normalize.with_reasons(normalize.flatten(records, file.url), partition_day, neighbour_days),
        normalize.session_attributes(
            raw.frame if raw.attribute_records is None else raw.attribute_records, file.url
        ),
        raw.format,
        raw.shape,
    )


__all__ = ["RawFile", "fingerprint", "partition_files", "read_file", "unreadable"]
