"""Raw event file readers: one small reader per file shape, all behind one interface.

A reader turns the bytes of one raw file into a lazy frame of raw records (fields under the
names and types the file uses, plus a 1-based `source_row`), and says what it understood: the
file's format and shape, counted in every run summary and manifest. `transforms.normalize` takes
it from there, whatever the shape was.

Readers are chosen by content, never by file name: Firehose names its objects with no extension.
"""

from __future__ import annotations

from timecard import storage
from timecard.readers.base import RawRecords, Reader
from timecard.readers.json_records import JsonReader
from timecard.readers.parquet import ParquetReader

# Tried in order; the JSON reader takes whatever the others do not recognise, so a file that is
# neither Parquet nor JSON is reported by it with its position.
READERS: tuple[Reader, ...] = (ParquetReader(), JsonReader())
SNIFF_BYTES = 4


def reader_for(head: bytes) -> Reader:
    return next(reader for reader in READERS if reader.recognises(head))


def read_records(file: storage.FileInfo, session_candidates_only: bool = False) -> RawRecords:
    """The raw records of one file; with `session_candidates_only`, a reader may leave out
    records it can tell are HEART_BEAT or STATE_CHANGE without decoding them."""
    head = storage.read_head(file.url, SNIFF_BYTES)
    return reader_for(head).read(file.url, session_candidates_only)


__all__ = ["READERS", "RawRecords", "Reader", "read_records", "reader_for"]
