"""The condense as it was before it ran in shards (main at fb78ad0): one read of a whole raw day,
every record held, each part built from it. Kept only as the yardstick the sharded condense is
compared against, byte for byte (`tests/timecard/test_condensed.py`); nothing else imports it.

It reads through `RawReads` over all of a day's files, as that code did; only the builders
(what is done with the records once read) are kept here as they were.
"""

from __future__ import annotations

import json

import polars as pl

from schemas.columns import SOURCE_KEY
from schemas.contract import enforce
from schemas.events import NORMALIZED_EVENTS, SESSION_EVENT_ATTRIBUTES
from timecard import storage
from timecard.condensed import RawReads
from transforms import normalize, sessions


def _counted(reads: RawReads, session_candidates_only: bool):
    checked = reads.checked(session_candidates_only)
    if checked.is_empty():
        return normalize.empty_events().lazy(), normalize.empty_quarantine(), _zero_counts()
    records = checked.lazy()
    as_text = pl.col("source_file", "agent_arn").cast(pl.String)
    quarantine = normalize.quarantined(records).with_columns(as_text).collect()
    counts = sessions.partition_counts(normalize.usable_events(records)).collect()
    usable = normalize.usable_events(records).with_columns(pl.col("source_file").cast(pl.String))
    row = counts.row(0, named=True)
    return (
        usable,
        quarantine.sort(SOURCE_KEY),
        {
            "events": int(row["events"]),
            "duplicates": int(row["duplicates"]),
            "unknown_event_types": int(row["unknown_event_types"]),
            "quarantined": quarantine.height,
            **_records_by_kind(checked, reads.kinds),
        },
    )


def _records_by_kind(checked: pl.DataFrame, kinds: dict[str, tuple[str, str]]) -> dict:
    formats: dict[str, int] = {}
    shapes: dict[str, int] = {}
    for url, records in checked.group_by("source_file").len().iter_rows():
        fmt, shape = kinds[url]
        formats[fmt] = formats.get(fmt, 0) + records
        shapes[shape] = shapes.get(shape, 0) + records
    return {"formats": dict(sorted(formats.items())), "shapes": dict(sorted(shapes.items()))}


def _zero_counts() -> dict:
    return {
        "events": 0,
        "duplicates": 0,
        "unknown_event_types": 0,
        "quarantined": 0,
        "formats": {},
        "shapes": {},
    }


def build_sessions(reads: RawReads):
    usable, quarantine, counts = _counted(reads, session_candidates_only=True)
    events = sessions.session_events(usable).with_columns(
        pl.col("agent_arn").cast(pl.String), partition_day=pl.lit(reads.day)
    )
    events = sessions.deduplicate(events.collect())[0].drop("partition_day")
    events = enforce(
        NORMALIZED_EVENTS,
        events.sort("agent_arn", "event_ts", "event_id"),
        "condensed LOGIN/LOGOUT events",
    )
    counts |= {"files": len(reads.files), "session_events": events.height}
    return {"sessions": events, "sessions-quarantine": quarantine}, counts


def build_activity(reads: RawReads):
    usable, quarantine, counts = _counted(reads, session_candidates_only=False)
    activity = sessions.activity(usable).with_columns(pl.col("agent_arn").cast(pl.Categorical))
    activity = activity.collect()
    counts |= {"files": len(reads.files), "activity": activity.height}
    return {"activity": activity, "activity-quarantine": quarantine}, counts


def build_attributes(reads: RawReads):
    attributes = enforce(
        SESSION_EVENT_ATTRIBUTES,
        reads.attributes().sort(SOURCE_KEY),
        "condensed LOGIN/LOGOUT attributes",
    )
    return {"attributes": attributes}, {"files": len(reads.files), "attributes": attributes.height}


BUILDERS = {"sessions": build_sessions, "activity": build_activity, "attributes": build_attributes}


def reference_parts(files, day, names, folder: str, neighbour_days: int = 1) -> dict[str, dict]:
    """Write the parts `names` of one raw day into `folder` as the one-read condense did; return
    each part's counts. The files are named as the condensed cache names them."""
    reads = RawReads(files, day, names, neighbour_days)
    counts = {}
    for name in names:
        frames, counts[name] = BUILDERS[name](reads)
        for stem, frame in frames.items():
            storage.write_parquet(storage.join(folder, f"{stem}.parquet"), frame)
        storage.write_bytes(
            storage.join(folder, f"{name}.json"), json.dumps(counts[name], sort_keys=True).encode()
        )
    return counts
