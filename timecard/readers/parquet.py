"""Parquet as Firehose record-format conversion (or any Arrow writer) lands it.

Nested structs that mirror the Connect JSON, or snapshots kept as JSON text where the Glue table
types them `string`; names in any letter case; EventTimestamp as ISO text or a Parquet timestamp.
The file is scanned with its schema reduced to the fields the report uses, so the reader skips
the rest of every snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timecard import storage
from timecard.readers.base import RawRecords, unreadable

if TYPE_CHECKING:
    import polars as pl

PARQUET_MAGIC = b"PAR1"


class ParquetReader:
    def recognises(self, head: bytes) -> bool:
        return head.startswith(PARQUET_MAGIC)

    def read(self, url: str, session_candidates_only: bool) -> RawRecords:
        import polars as pl

        from transforms import normalize

        try:
            reduced = normalize.reduced_schema(storage.read_parquet_schema(url))
            # With "prefiltered", columns other than the filter's are decoded only for the
            # rows that pass it: the snapshot of a LOGIN, not of every heartbeat.
            scan = storage.scan_parquet(
                url,
                schema=reduced,
                extra_columns="ignore",
                cast_options=pl.ScanCastOptions(extra_struct_fields="ignore"),
                parallel="prefiltered",
                row_index_name="source_row",
                row_index_offset=1,
            )
            scan.collect_schema()
        except Exception as error:  # Polars raises several types for a bad footer
            raise unreadable(url, "is not a readable Parquet file", error) from None
        return RawRecords(scan, "parquet", _shape(reduced))


def _shape(schema: dict[str, pl.DataType]) -> str:
    import polars as pl

    snapshot = next((d for n, d in schema.items() if n.lower() == "currentagentsnapshot"), None)
    return "json-text" if snapshot == pl.String else "nested"
