"""Byte work on every core: worker processes, or threads where processes cannot run."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from timecard.readers import processes


def length_and_worker(item: str) -> tuple[int, str]:
    return len(item), multiprocessing.current_process().name


def die_in_a_worker(item: str) -> int:
    if multiprocessing.current_process().name != "MainProcess":
        os._exit(3)  # a worker killed mid-task (out of memory, say)
    return len(item)


def test_work_runs_in_worker_processes_in_order():
    urls = [f"file-{n}" * n for n in range(1, 30)]

    results = processes.map_in_processes(length_and_worker, urls)

    assert [length for length, _ in results] == [len(url) for url in urls]
    assert {worker for _, worker in results} != {"MainProcess"}


def test_a_broken_pool_falls_back_to_threads_and_is_replaced():
    urls = ["a", "bb", "ccc"]

    assert processes.map_in_processes(die_in_a_worker, urls) == [1, 2, 3]
    results = processes.map_in_processes(length_and_worker, urls)
    assert {worker for _, worker in results} != {"MainProcess"}


def test_after_a_second_broken_pool_the_work_stays_in_threads():
    for _ in range(2):
        assert processes.map_in_processes(die_in_a_worker, ["a", "bb"]) == [1, 2]

    results = processes.map_in_processes(length_and_worker, ["a", "bb"])

    assert results == [(1, "MainProcess"), (2, "MainProcess")]


def test_without_processes_the_work_runs_in_threads(monkeypatch):
    monkeypatch.setattr(processes, "_process_pool", lambda: None)

    results = processes.map_in_processes(length_and_worker, ["a", "bb"])

    assert results == [(1, "MainProcess"), (2, "MainProcess")]


@pytest.fixture(autouse=True)
def fresh_pool(monkeypatch):
    monkeypatch.setattr(processes, "_broken", 0)
    processes._forget_pool()
    yield
    processes._forget_pool()
