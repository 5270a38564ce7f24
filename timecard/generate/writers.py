"""Output: where each file goes, and the files themselves, written as their records come.

A file is one (folder, span of arrival time): a few per daily partition, or one per Firehose
buffer where the layout has hour folders. Its records come in filing order and are written in
batches, so memory holds a batch, never a file or a day. A JSON file rolls over to another file
of its span before it would pass the size a reader accepts decompressed (and a Polars Parquet
file at `POLARS_FILE_ROWS` records, as Polars writes a file in one call).
"""

from __future__ import annotations

import random
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

import polars as pl

from timecard import storage
from timecard.generate.draws import Draws
from timecard.generate.model import (
    DAY_FILE_SPAN_MS,
    DAY_MS,
    EVENT_TYPES,
    FIREHOSE_STREAM,
    HOUR_FILE_SPAN_MS,
    HOUR_MS,
)
from timecard.generate.records import records
from timecard.generate.roster import Roster
from timecard.generate.shapes import JSON_SHAPES, FileEncoder, json_piece
from timecard.landing import Layout, PartitionTime
from timecard.limits import Shape
from timecard.settings import get_settings

# Records made and encoded at a time: whole pyarrow row groups (10,000).
BATCH_ROWS = 20_000
POLARS_FILE_ROWS = 100_000
# Firehose buffers at most 128 MiB per object; a reader refuses more than
# TIMECARD_MAX_DECOMPRESSED_MB (256 by default).
MAX_FILE_BYTES = 128 * 2**20


@dataclass
class GenerateSummary:
    events: int = 0  # records written, duplicates included
    duplicates: int = 0  # second deliveries of an event already written
    files: int = 0
    bytes: int = 0
    event_types: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVENT_TYPES, 0))

    def __str__(self) -> str:
        types = ", ".join(f"{name} {count:,}" for name, count in self.event_types.items())
        return (
            f"{self.events:,} events ({types}; {self.duplicates:,} delivered twice) "
            f"in {self.files:,} files, {self.bytes:,} bytes"
        )

    def count(self, events: pl.DataFrame) -> None:
        self.events += events.height
        self.duplicates += int(events["is_copy"].sum())
        for name, count in events["event_type"].value_counts().iter_rows():
            self.event_types[name] += count


@dataclass(frozen=True)
class Output:
    root: str
    shape: Shape
    layout: Layout
    partition_time: PartitionTime
    seed: int

    @property
    def has_hour_folders(self) -> bool:
        return "{HH}" in self.layout.template

    @property
    def file_span_ms(self) -> int:
        return HOUR_FILE_SPAN_MS if self.has_hour_folders else DAY_FILE_SPAN_MS

    @property
    def folder_span_ms(self) -> int:
        return HOUR_MS if self.has_hour_folders else DAY_MS

    @property
    def max_file_bytes(self) -> int:
        """The most a JSON file holds decompressed."""
        return min(MAX_FILE_BYTES, get_settings().max_decompressed_mb * 2**20)

    def url(self, folder_ms: int, file_start_ms: int, first_arrival_ms: int, part: int) -> str:
        """Where the records filed under `folder_ms` that arrived from `file_start_ms` go; `part`
        counts the files a span rolled over to (0 for the first)."""
        folder = self.layout.folder_for(_utc(folder_ms))
        is_json = self.shape in JSON_SHAPES
        if self.has_hour_folders:
            # Firehose's own naming: stream, version, time of the first record, a random id.
            id_seed = f"{self.seed}/{folder}/{file_start_ms}" + (f"/{part}" if part else "")
            object_id = uuid.UUID(int=random.Random(id_seed).getrandbits(128), version=4)
            name = f"{FIREHOSE_STREAM}-1-{_utc(first_arrival_ms):%Y-%m-%d-%H-%M-%S}-{object_id}"
            # Firehose gives JSON objects no extension, gzip'd or not; Parquet keeps its own.
            return storage.join(self.root, folder, name if is_json else name + ".parquet")
        # Numbered by arrival span from the folder's day: unique, as an event-time folder can
        # receive records on the next arrival day too.
        index = (file_start_ms - folder_ms // DAY_MS * DAY_MS) // self.file_span_ms
        suffix = ".json.gz" if self.shape.endswith("-gz") else ".json" if is_json else ".parquet"
        name = f"part-{index:05d}" + (f"-{part:03d}" if part else "")
        return storage.join(self.root, folder, name + suffix)


class _File:
    """One file being written: its URL, handle, encoder and how much it holds."""

    def __init__(self, url: str, shape: Shape) -> None:
        self.url, self.stack = url, ExitStack()
        with storage.failures_explained("write", url):
            self.handle: BinaryIO = self.stack.enter_context(storage.write_stream(url))
        self.encoder = FileEncoder.open(self.handle, shape)
        self.records = 0
        self.decompressed = 0

    def close(self) -> int:
        """Finish the file and put it in place; its size in bytes."""
        with storage.failures_explained("write", self.url):
            self.encoder.finish()
            size = self.handle.tell()
            self.stack.close()
        return size

    def abandon(self) -> None:
        """Leave nothing behind: the temporary file is removed, the upload aborted."""
        stopped = RuntimeError("generation stopped")
        self.stack.__exit__(RuntimeError, stopped, None)


class _Span:
    """The files of one (folder, span of arrival time): events come in filing order; a batch at
    a time becomes records in the file, which rolls over to the span's next file when full."""

    def __init__(self, output: Output, folder_ms: int, file_start_ms: int, files: Files) -> None:
        self.output, self.folder_ms, self.file_start_ms = output, folder_ms, file_start_ms
        self.files = files
        self.waiting: list[pl.DataFrame] = []
        self.waiting_rows = 0
        self.file: _File | None = None
        self.parts = 0  # files opened so far
        shape = output.shape
        self.batch_rows = POLARS_FILE_ROWS if shape == "parquet" else BATCH_ROWS

    def add(self, events: pl.DataFrame) -> None:
        self.waiting.append(events)
        self.waiting_rows += events.height
        if self.waiting_rows >= self.batch_rows:
            waiting = pl.concat(self.waiting)
            whole = waiting.height // self.batch_rows * self.batch_rows
            for offset in range(0, whole, self.batch_rows):
                self._write(waiting.slice(offset, self.batch_rows))
            self.waiting = [waiting.slice(whole)]
            self.waiting_rows = waiting.height - whole

    def close(self) -> None:
        if self.waiting_rows:
            self._write(pl.concat(self.waiting))
        self.waiting, self.waiting_rows = [], 0
        self._finish_file()

    def abandon(self) -> None:
        if self.file is not None:
            self.file.abandon()
            self.file = None

    def _write(self, events: pl.DataFrame) -> None:
        batch = records(events, self.files.roster, self.files.draws)
        if self.output.shape == "parquet":
            self._finish_file()  # a Polars file is written in one call
        if self.output.shape in JSON_SHAPES:
            self._write_json(events, batch)
        else:
            file = self._open(events)
            file.decompressed += file.encoder.add(batch, file.records)
            file.records += batch.height
        self.files.summary.count(events)

    def _write_json(self, events: pl.DataFrame, batch: pl.DataFrame) -> None:
        """The batch in this file, or the next if it would pass the size limit, or split in two
        where it is larger than the limit on its own."""
        limit, shape = self.output.max_file_bytes, self.output.shape
        position = self.file.records if self.file is not None else 0
        piece = json_piece(batch, shape, position)
        if self.file is not None and self.file.decompressed + len(piece.text) > limit:
            self._finish_file()
            piece = json_piece(batch, shape, 0)
        if len(piece.text) > limit and batch.height > 1:
            half = batch.height // 2
            self._write_json(events.slice(0, half), batch.slice(0, half))
            self._write_json(events.slice(half), batch.slice(half))
            return
        file = self._open(events)
        file.encoder.add_piece(piece)
        file.records += batch.height
        file.decompressed += len(piece.text)

    def _open(self, events: pl.DataFrame) -> _File:
        if self.file is None:
            first_arrival_ms = events["arrival_ms"].min()
            if not isinstance(first_arrival_ms, int):  # arrival_ms is an integer column
                raise TypeError(f"arrival_ms holds {type(first_arrival_ms).__name__}, not int")
            url = self.output.url(self.folder_ms, self.file_start_ms, first_arrival_ms, self.parts)
            self.file = _File(url, self.output.shape)
            self.parts += 1
            self.files.summary.files += 1
        return self.file

    def _finish_file(self) -> None:
        if self.file is not None:
            self.files.summary.bytes += self.file.close()
            self.file = None


class Files:
    """Every file being written. Deliveries come in filing order, with the arrival time before
    which all have come; a span's files are finished once its span has passed."""

    def __init__(self, output: Output, roster: Roster, draws: Draws) -> None:
        self.output, self.roster, self.draws = output, roster, draws
        self.summary = GenerateSummary()
        self.spans: dict[tuple[int, int], _Span] = {}

    def take(self, deliveries: pl.DataFrame, complete_until_ms: int) -> None:
        output = self.output
        file_span_ms, folder_span_ms = output.file_span_ms, output.folder_span_ms
        filing_ms = pl.col("arrival_ms" if output.partition_time == "arrival" else "event_ms")
        # Spans divide a day evenly, so whole multiples of a span since the epoch align with days.
        placed = deliveries.with_columns(
            folder_ms=filing_ms // folder_span_ms * folder_span_ms,
            file_start_ms=pl.col("arrival_ms") // file_span_ms * file_span_ms,
        )
        if placed.height:
            for (folder_ms, file_start_ms), events in placed.partition_by(
                "folder_ms", "file_start_ms", maintain_order=True, as_dict=True
            ).items():
                key = (folder_ms, file_start_ms)
                if key not in self.spans:
                    self.spans[key] = _Span(output, folder_ms, file_start_ms, self)
                self.spans[key].add(events)
        for key in [key for key in self.spans if key[1] + file_span_ms <= complete_until_ms]:
            self.spans.pop(key).close()

    def close(self) -> None:
        for key in list(self.spans):
            self.spans.pop(key).close()

    def abandon(self) -> None:
        for span in self.spans.values():
            span.abandon()
        self.spans.clear()


def _utc(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)
