"""timecard/readers/base.py: the reader interface and the refusals every reader gives, each one
paragraph naming the file and what to do."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from timecard.errors import UnreadableInputError
from timecard.readers import READERS
from timecard.readers.base import RawRecords, decompressed_cap, too_large, unreadable

URL = "s3://landing/2026/11/02/13/firehose-1"


def test_every_reader_implements_the_interface():
    for reader in READERS:
        for method in ("recognises", "read", "read_batch"):
            assert callable(getattr(reader, method)), (type(reader).__name__, method)


def test_raw_records_are_a_frozen_value_with_optional_attribute_records():
    records = RawRecords(pl.LazyFrame({"source_row": [1]}), "json", "ndjson")
    assert records.attribute_records is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        records.format = "parquet"


def test_an_unreadable_file_is_named_with_the_first_line_of_its_error_and_what_to_do():
    error = unreadable(URL, "is not a readable Parquet file", ValueError("bad footer\nmore detail"))
    assert isinstance(error, UnreadableInputError)
    assert str(error) == (
        f"The raw event file {URL} is not a readable Parquet file (bad footer). No report was "
        "written. Move the file out of the events root, or replace it with a good copy, and run "
        "the report again."
    )
    assert "(OSError)" in str(unreadable(URL, "cannot be read", OSError()))
    long = str(unreadable(URL, "is broken", ValueError("x" * 500)))
    assert "x" * 200 + ")" in long and "x" * 201 not in long
    assert f"{URL} is truncated. No report" in str(unreadable(URL, "is truncated"))


def test_the_decompressed_size_cap_is_the_setting_in_mib(monkeypatch):
    monkeypatch.setenv("TIMECARD_MAX_DECOMPRESSED_MB", "3")
    assert decompressed_cap() == 3 * 2**20
    message = str(too_large(URL, "grows past the cap when decompressed", decompressed_cap()))
    assert message.startswith(f"The raw event file {URL} grows past the cap when decompressed: ")
    assert "at most 3 MiB once decompressed (TIMECARD_MAX_DECOMPRESSED_MB)" in message
    assert "\n" not in message
