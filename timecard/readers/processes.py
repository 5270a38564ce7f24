"""Pure-Python byte work on every core: a small pool of worker processes, shared by a run.

Scanning decompressed JSON for record markers is plain `bytes` work that holds the GIL, so
threads would run it on one core. Workers are spawned (not forked: Polars' threads do not
survive a fork). Each task names one object, and the worker reads it itself: shipping every byte
of a day over a pipe would copy as much as the data again. A worker resolves no settings or
credentials of its own: the task carries the storage access its parent resolved (see
`timecard.readers.json_records.scan_object`), in memory, never on disk. Results are small.
Where processes cannot be started (a daemonic Celery worker, a sandbox), the same work runs in
threads.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

_WORKERS = os.cpu_count() or 2
_pool: Executor | None = None
# Pools that broke in this process. One is replaced (a worker killed for memory, say); after a
# second, the work stays in threads: workers that cannot even start (a main module without an
# `if __name__ == "__main__":` guard) would otherwise be spawned again for every day.
_broken = 0
_MOST_BROKEN = 2


def map_in_processes(work: Callable, items: Iterable) -> list:
    """`work(item)` for each item (an object's URL), in order, in worker processes. `work` and
    the items must pickle; each worker holds only the object it is working on, so memory is
    bounded by the number of workers, not by how many items are queued."""
    items = list(items)
    pool = _process_pool()
    if pool is None:
        return _in_threads(work, items)
    try:
        return [future.result() for future in [pool.submit(work, item) for item in items]]
    except BrokenProcessPool:
        global _broken
        _broken += 1
        _forget_pool()
        return _in_threads(work, items)


def _in_threads(work: Callable, items: list) -> list:
    with ThreadPoolExecutor(max_workers=_WORKERS) as threads:
        return list(threads.map(work, items))


def _process_pool() -> Executor | None:
    global _pool
    if _broken >= _MOST_BROKEN:
        return None
    if _pool is None:
        try:
            if multiprocessing.current_process().daemon:
                return None  # daemonic processes may not have children
            _pool = ProcessPoolExecutor(
                max_workers=_WORKERS, mp_context=multiprocessing.get_context("spawn")
            )
        except (OSError, ValueError, AssertionError):
            return None
    return _pool


def shutdown() -> None:
    """Stop the workers and wait for them (they stop with the process anyway)."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True)
    _pool = None


def _forget_pool() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
    _pool = None
