"""A large roster's landing made from a small one's, in a fraction of the time generating it takes.

    .venv/bin/python -m bench.widen SOURCE_ROOT TARGET_ROOT --copies 20

Every Parquet file under SOURCE_ROOT is written `copies` times under the same relative folder of
TARGET_ROOT (`NAME-c<k>.parquet`), each copy with other agents (`.../agent/c<k>-...`) and other
EventIds (`c<k>-...`), so every copy holds new events of new agents and nothing else changes:
2,500 generated agents widened 20 times are a 50,000-agent landing with each agent's day as the
generator wrote it. The memory test (`tests/timecard/test_condensed.py`) and the 50,000-agent
figures of docs/performance.md are made this way. One source file is held at a time.
"""

from __future__ import annotations

import argparse
import os


def widened(source: str, target: str, copies: int) -> int:
    """Write `copies` renamed copies of every Parquet file under `source` below `target`;
    return how many files were written."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    written = 0
    for folder, _, names in sorted(os.walk(source)):
        for name in sorted(names):
            if name.startswith((".", "_")):
                continue
            table = pq.read_table(os.path.join(folder, name))
            out = os.path.join(target, os.path.relpath(folder, source))
            os.makedirs(out, exist_ok=True)
            for copy in range(copies):
                agents = pc.replace_substring(table["AgentARN"], "/agent/", f"/agent/c{copy}-")
                ids = pc.binary_join_element_wise(f"c{copy}-", table["EventId"], "")
                copied = table.set_column(
                    table.schema.get_field_index("AgentARN"), "AgentARN", agents
                )
                copied = copied.set_column(copied.schema.get_field_index("EventId"), "EventId", ids)
                pq.write_table(copied, os.path.join(out, f"{name}-c{copy}.parquet"))
                written += 1
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.widen", description=__doc__)
    parser.add_argument("source", metavar="SOURCE_ROOT")
    parser.add_argument("target", metavar="TARGET_ROOT")
    parser.add_argument("--copies", type=int, required=True)
    args = parser.parse_args(argv)
    if args.copies < 1:
        parser.error("--copies must be 1 or more")
    if not os.path.isdir(args.source):
        parser.error(f"{args.source} is not a folder of Parquet files")
    print(f"wrote {widened(args.source, args.target, args.copies)} files under {args.target}")


if __name__ == "__main__":
    main()
