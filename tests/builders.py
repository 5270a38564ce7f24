"""Hand-built agent events for small, readable test cases."""

from __future__ import annotations

import gzip
import io
import json
import os
from datetime import UTC, date, datetime
from itertools import count

import polars as pl

_ids = count(1)
INSTANCE = "arn:aws:connect:us-east-1:123456789012:instance/inst-1"


def arn(agent: str) -> str:
    return f"{INSTANCE}/agent/{agent}"


def event(
    event_type: str,
    timestamp: str,
    agent: str = "a1",
    *,
    username: str | None = None,
    first_name: str = "Min-jun",
    last_name: str = "Kim",
    routing_profile: str | None = "Sales Inbound",
    hierarchy: tuple[str, ...] | None = ("Americas", "Sales"),
    event_id: str | None = None,
) -> dict:
    """One agent event record, shaped like the Connect agent event stream JSON."""
    groups = None
    if hierarchy is not None:
        groups = {
            f"Level{i}": ({"ARN": f"arn:h{i}", "Name": name} if name is not None else None)
            for i, name in enumerate(hierarchy, start=1)
        }
    return {
        "AWSAccountId": "123456789012",
        "AgentARN": arn(agent),
        "EventId": event_id or f"e{next(_ids):06d}",
        "EventTimestamp": timestamp,
        "EventType": event_type,
        "InstanceARN": INSTANCE,
        "Version": "2019-05-25",
        "CurrentAgentSnapshot": {
            "AgentStatus": {"Name": "Available", "Type": "ROUTABLE"},
            "Configuration": {
                "Username": username or agent,
                "FirstName": first_name,
                "LastName": last_name,
                "RoutingProfile": (
                    {"ARN": "arn:rp", "Name": routing_profile} if routing_profile else None
                ),
                "AgentHierarchyGroups": groups,
            },
        },
    }


def partition_dir(root: str, day: str, layout: str = "date") -> str:
    y, m, d = day.split("-")
    folder = {
        "date": f"date={day}",
        "ymd": f"year={y}/month={m}/day={d}",
        "firehose": f"{y}/{m}/{d}/13",
    }[layout]
    path = os.path.join(root, folder)
    os.makedirs(path, exist_ok=True)
    return path


def write_ndjson(root, day, records, name="part-0.json", layout="date", compress=False) -> str:
    path = os.path.join(partition_dir(str(root), day, layout), name)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    with open(path, "wb") as handle:
        handle.write(gzip.compress(data, mtime=0) if compress else data)
    return path


def write_parquet(root, day, records, name="part-0.parquet", layout="date") -> str:
    path = os.path.join(partition_dir(str(root), day, layout), name)
    buffer = io.BytesIO()
    pl.DataFrame(records).write_parquet(buffer)
    with open(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return path


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def lowercase_keys(value):
    """A record as a Glue/OpenX round trip leaves it: every name lower-cased."""
    if isinstance(value, dict):
        return {key.lower(): lowercase_keys(child) for key, child in value.items()}
    if isinstance(value, list):
        return [lowercase_keys(child) for child in value]
    return value


def read_day(root, day: date, candidates_only: bool = False) -> pl.DataFrame:
    """The records of one partition read file by file, flattened and checked, with the
    attributes of LOGIN/LOGOUT records (null on the others), in file and row order."""
    from timecard import ingest

    files = ingest.partition_files(str(root), day)
    reads = [ingest.read_file(file, day, candidates_only) for file in files]
    checked = pl.concat([read.checked for read in reads]).collect()
    attributes = pl.concat([read.session_attributes for read in reads]).collect()
    return checked.join(attributes, on=["source_file", "source_row"], how="left").sort(
        "source_file", "source_row"
    )
