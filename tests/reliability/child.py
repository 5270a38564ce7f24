"""The child processes that reliability tests start, release at one instant, and kill.

    python -m tests.reliability.child condense-slowly DAY
    python -m tests.reliability.child report-when-released GO_FILE -- TIMECARD_ARGS...

`condense-slowly` runs the condense step of a report (`pipeline.condense`, roots from the
environment) for one raw day on a slow disk: every storage write is followed by a pause, so a
test can SIGKILL the process right after the first data file of a fingerprint folder and before
anything that marks it complete, every time rather than by luck.

`report-when-released` imports everything a report needs, prints `READY`, and waits for GO_FILE
to exist before running `timecard TIMECARD_ARGS...`: two children released by one file start
their reports within milliseconds of each other, not a whole interpreter start-up apart.
"""

from __future__ import annotations

import os
import sys
import time

SLOW_WRITE_PAUSE = 30.0  # seconds; far longer than any test waits before it kills
RELEASE_POLL = 0.005


def condense_slowly(day: str) -> None:
    from datetime import date

    from timecard import pipeline, storage
    from timecard.spec import PlannedDay

    write_bytes = storage.write_bytes

    def write_then_stall(url: str, data: bytes) -> None:
        write_bytes(url, data)
        print(f"WROTE {url}", flush=True)
        time.sleep(SLOW_WRITE_PAUSE)

    storage.write_bytes = write_then_stall
    planned = PlannedDay(date.fromisoformat(day), with_activity=True)
    pipeline.condense(pipeline.ReportSpec("child", "Child", "UTC"), planned)


def report_when_released(go_file: str, argv: list[str]) -> int:
    import timecard.engine  # noqa: F401  (imported now, so both children start level)
    from timecard.cli import main

    print("READY", flush=True)
    while not os.path.exists(go_file):
        time.sleep(RELEASE_POLL)
    return main(argv)


def main(argv: list[str]) -> int:
    command, *rest = argv
    if command == "condense-slowly":
        condense_slowly(*rest)
        return 0
    if command == "report-when-released":
        go_file, separator, *timecard_args = rest
        assert separator == "--"
        return report_when_released(go_file, timecard_args)
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
