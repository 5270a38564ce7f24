"""A deterministic storage fault injector, and the child processes that run under it.

`Injector` wraps every public operation of `timecard.storage` (every module function that
reaches a store; the pure URL helpers are left alone). The k-th operation, counted in call order
and only at the outermost level (an operation that calls another counts once), can

- crash the process (`os._exit`, as a SIGKILL or a power cut would: no cleanup runs),
- raise a StorageError (as S3 answering 500 after botocore's retries),
- hang: report to the test and block until the test releases it, so the test can run another
  publisher in between (deterministic interleavings, no sleeps).

Children are forked from a `forkserver` that has imported timecard but never run Polars, so a
fork is fast (tens of ms) and free of the thread-pool state of the test process.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import multiprocessing
import os
import sys
import types
from collections.abc import Callable

from timecard import storage

CRASH_EXIT = 86
RAISED_EXIT = 87
CRASH, RAISE, HANG = "crash", "raise", "hang"
PAUSE_AT_LOCK = "pause-at-lock"
# Pure helpers: they compute URLs or options and never touch a store.
_PURE = {"is_s3", "normalize", "join", "polars_storage_options"}


def operations() -> list[str]:
    """The names of the public storage operations the injector wraps."""
    return sorted(
        name
        for name, value in vars(storage).items()
        if inspect.isfunction(value)
        and value.__module__ == storage.__name__
        and not name.startswith("_")
        and name not in _PURE
    )


class Injector:
    """`at`: the number of the operation that faults; or `trigger`, called with each operation's
    name and arguments before it runs: the first one it answers True for faults."""

    def __init__(self, at: int | None = None, kind: str = CRASH, conn=None, trigger=None):
        self.at, self.kind, self.conn, self.trigger = at, kind, conn, trigger
        self.ops: list[str] = []
        self._depth = 0

    def install(self) -> None:
        for name in operations():
            setattr(storage, name, self._wrap(name, getattr(storage, name)))

    def _wrap(self, name: str, real: Callable) -> Callable:
        if name == "exclusive":  # a context manager: count it when it is entered

            @contextlib.contextmanager
            def exclusive(*args, **kwargs):
                if self._depth == 0:
                    self._before(name)
                with real(*args, **kwargs) as held:
                    yield held

            return exclusive

        @functools.wraps(real)
        def operation(*args, **kwargs):
            if self._depth == 0:
                self._before(name, args)
            self._depth += 1
            try:
                return real(*args, **kwargs)
            finally:
                self._depth -= 1

        return operation

    def _before(self, name: str, args: tuple = ()) -> None:
        self.ops.append(name)
        if self.kind == PAUSE_AT_LOCK and name == "exclusive":
            self.conn.send(("at-lock", list(self.ops)))
            assert self.conn.recv() == "go"
            return
        if self.trigger is not None:
            if not self.trigger(name, args):
                return
            self.trigger = lambda name, args: False  # once
        elif len(self.ops) != self.at:
            return
        if self.kind == CRASH:
            os._exit(CRASH_EXIT)
        if self.kind == RAISE:
            raise storage.StorageError(f"injected fault at storage operation {self.at} ({name})")
        if self.kind == HANG:
            self.conn.send(("paused", list(self.ops)))
            assert self.conn.recv() == "go"


# -- children -------------------------------------------------------------------------------------


def _child(env: dict, action: Callable, args: tuple, at, kind, conn, trigger=None) -> None:
    os.environ.clear()
    os.environ.update(env | {"POLARS_MAX_THREADS": "1"})
    injector = Injector(at, kind, conn, trigger)
    injector.install()
    try:
        result = action(*args)
    except storage.StorageError as error:
        if conn:
            conn.send(("raised", str(error), list(injector.ops)))
        os._exit(RAISED_EXIT)
    except BaseException as error:  # any other failure is a finding: report it
        if conn:
            conn.send(("failed", f"{type(error).__name__}: {error}", list(injector.ops)))
        os._exit(1)
    if conn:
        conn.send(("done", result, list(injector.ops)))
    os._exit(0)


_CONTEXT = None


def context():
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        # Everything a publish or a check imports, so that no child pays for an import.
        _CONTEXT.set_forkserver_preload(
            [
                "polars",
                "pyarrow.parquet",
                "s3fs",
                "timecard.pipeline",
                "timecard.healing",
                "timecard.publishing",
                "timecard.engine",
                "timecard.condensed",
                "timecard.ingest",
                "transforms.report",
                "transforms.typed",
                "schemas.contract",
                "schemas.typed",
                __name__,
            ]
        )
    return _CONTEXT


class Child:
    """One run of `action(*args)` in a forked child with the injector installed."""

    def __init__(self, env: dict, action: Callable, args: tuple, at=None, kind=CRASH, trigger=None):
        ctx = context()
        self.conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(
            target=_child, args=(env, action, args, at, kind, child_conn, trigger)
        )
        # Without a main module to re-import (pytest's), a child starts in milliseconds.
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            self.process.start()
        finally:
            sys.modules["__main__"] = main
        child_conn.close()

    def message(self, timeout: float = 120):
        if not self.conn.poll(timeout):
            raise AssertionError(f"no word from the child within {timeout}s")
        return self.conn.recv()

    def go(self) -> None:
        self.conn.send("go")

    def join(self, timeout: float = 120) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
            raise AssertionError("the child did not finish")
        return self.process.exitcode


def run(env: dict, action: Callable, *args, at=None, kind=CRASH, trigger=None):
    """Run once to its end (or its crash); returns (exit code, its last message or None)."""
    child = Child(env, action, args, at, kind, trigger)
    code = child.join()
    try:
        return code, (child.conn.recv() if child.conn.poll() else None)
    except EOFError:  # it ended without a word (a crash)
        return code, None


def _published_csv_write(name: str, args: tuple) -> bool:
    """A write of a published CSV (its public name or a revision object), not a staged file."""
    return name == "write_bytes" and "/connect/" in str(args[0]) and str(args[0]).endswith(".csv")


class AtCsvWrite:
    """Trigger: the write of the published CSV."""

    def __call__(self, name: str, args: tuple) -> bool:
        return _published_csv_write(name, args)


class AfterCsvWrite:
    """Trigger: the operation right after the write of the published CSV."""

    def __init__(self) -> None:
        self.written = False

    def __call__(self, name: str, args: tuple) -> bool:
        fire = self.written
        self.written = self.written or _published_csv_write(name, args)
        return fire


# -- what the children run ------------------------------------------------------------------------


def publish_action(spec, window_plan, staged, run_id: str) -> dict:
    from timecard import pipeline

    published = pipeline.publish(spec, window_plan, staged, "timecard_faults", run_id)
    return {"revision": published.revision, "rows": published.rows}


def check_action(spec, since: str, run_id: str) -> list[tuple]:
    from datetime import date

    from timecard import healing

    checks = healing.check_report(spec, date.fromisoformat(since), "timecard_late_data", run_id)
    return [(check.local_date, check.status, check.revision) for check in checks]
