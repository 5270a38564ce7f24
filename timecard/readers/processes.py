"""Pure-Python byte work on every core: a small pool of worker processes, shared by a run.

Scanning decompressed JSON for record markers is plain `bytes` work that holds the GIL, so
threads would run it on one core. Workers are spawned (not forked: Polars' threads do not
survive a fork), receive raw file bytes and return small results, so they never touch storage,
settings or credentials. Where processes cannot be started (a daemonic Celery worker, a
sandbox), the same work runs in threads.
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


# Files read ahead of the workers: enough to keep them busy, few enough to bound memory.
_IN_FLIGHT = 4 * _WORKERS


def map_in_processes(work: Callable, urls: Iterable[str], read: Callable[[str], bytes]) -> list:
    """`work(read(url))` for each URL, in order: reads on threads (I/O), work in processes.
    At most two runs of `_IN_FLIGHT` files are held at once: one being worked on, the next
    being read."""
    urls = list(urls)
    with ThreadPoolExecutor(max_workers=_WORKERS) as readers:
        pool = _process_pool()
        if pool is None:
            return list(readers.map(lambda url: work(read(url)), urls))
        try:
            results, working = [], []
            for start in range(0, len(urls), _IN_FLIGHT):
                read_now = list(readers.map(read, urls[start : start + _IN_FLIGHT]))
                results += [future.result() for future in working]
                working = [pool.submit(work, data) for data in read_now]
            return results + [future.result() for future in working]
        except BrokenProcessPool:
            global _broken
            _broken += 1
            _forget_pool()
            return list(readers.map(lambda url: work(read(url)), urls))


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
