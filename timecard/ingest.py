"""Finding and reading raw agent-event files: partitions, readers, bad input.

Raw data sits under an events root, partitioned by UTC day in a layout `timecard.landing`
describes (by default any of `date=YYYY-MM-DD/`, `year=YYYY/month=MM/day=DD/` or Firehose's
`YYYY/MM/DD/HH/`). A report lists only the partitions of the days it needs, never the whole root.
Each file is read by the reader its content calls for (`timecard.readers`).
"""

from __future__ import annotations

import hashlib
import os
from datetime import date
from typing import NamedTuple

import polars as pl

from timecard import readers, storage
from timecard.errors import UnreadableInputError
from timecard.landing import Landing
from timecard.readers.base import decompressed_cap, too_large, unreadable
from timecard.readers.parquet import PARQUET_MAGIC
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
    """A UTC day's raw files. A file that cannot be read safely is refused here, by name,
    before anything opens it (see `refuse_unsafe`)."""
    landing = as_landing(source)
    files: set[storage.FileInfo] = set()
    for prefix in partition_prefixes(landing, day):
        files.update(f for f in storage.list_files(prefix) if _is_data_file(f.url, prefix))
    cap = decompressed_cap()
    for file in files:
        refuse_unsafe(landing, file, cap)
    return sorted(files)


_KINDS = {
    "fifo": "is a named pipe (FIFO), not a regular file: reading it could wait for ever",
    "device": "is a device, not a regular file: reading it could never end",
    "socket": "is a socket, not a regular file",
    "folder": "is a symbolic link to a folder, not a regular file",
    "dangling": "is a symbolic link to nothing (its target does not exist)",
}


def refuse_unsafe(landing: Landing, file: storage.FileInfo, cap: int) -> None:
    """Only regular files are read, within the events root and the decompressed-size cap:
    anything else raises UnreadableInputError naming it (from the listing, before any read)."""
    link = f" (a symbolic link to {file.target})" if file.target else ""
    if file.kind in _KINDS:
        raise _refusal(file.url, f"{_KINDS[file.kind]}{link}")
    if file.target and not _inside(file.target, landing.root):
        raise _refusal(
            file.url,
            f"is a symbolic link to {file.target}, outside the events root {landing.root}: "
            "timecard reads only files that lie within the events root",
        )
    if file.size > cap and not _is_parquet(file.url):
        raise too_large(file.url, f"is {file.size / 2**20:,.1f} MiB as stored", cap)


def _is_parquet(url: str) -> bool:
    """Whether a raw file is Parquet, by its first bytes: Parquet is read by columns and row
    groups, never whole, so a large one (a day compacted into one file) is not refused by its
    stored size. Only files over the cap are opened for this."""
    return storage.read_head(url, len(PARQUET_MAGIC)) == PARQUET_MAGIC


def _inside(path: str, root: str) -> bool:
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, path]) == real_root


def _refusal(url: str, what: str) -> UnreadableInputError:
    return UnreadableInputError(
        f"The raw event path {url} {what}. It was not opened and no report was written. "
        "Replace it with a regular file holding the events (a copy, not a link out of the "
        "events root), or move it out of the events root, and run the report again."
    )


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
