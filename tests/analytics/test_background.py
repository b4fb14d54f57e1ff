"""Background work runs at a lower priority: the rollup job's own thread is niced, and the
event loop's thread keeps its priority; the dashboard's child process is replaced when it
dies."""

from __future__ import annotations

import os
import threading

import pytest

from analytics.background import ChildProcess, NicedThread, WorkerDiedError


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_a_niced_thread_runs_below_the_event_loop() -> None:
    before = _nice()
    thread = NicedThread("test-niced", 5)
    try:
        inside = await thread.run(_nice)
        again = await thread.run(_nice)  # the same thread, niced once
    finally:
        thread.close()
    assert inside == again == min(19, before + 5)
    assert _nice() == before


def _die() -> None:
    os._exit(3)  # as a kill or the OOM killer would end it


def _pid() -> int:
    return os.getpid()


def test_a_child_that_died_is_replaced_on_the_next_call() -> None:
    child = ChildProcess(nice=0)
    try:
        first = child.call(_pid)
        with pytest.raises(WorkerDiedError, match="exit status 3"):
            child.call(_die)
        second = child.call(_pid)
    finally:
        child.close()
    assert first != os.getpid() and second not in (first, os.getpid())


def _fail() -> None:
    raise ValueError("no such table: <x>")


def _print_and_answer() -> int:
    print("noise on stdout")  # must not corrupt the answers
    return 42


def test_the_child_answers_errors_and_survives_prints() -> None:
    child = ChildProcess(nice=0)
    try:
        with pytest.raises(ValueError, match="no such table"):
            child.call(_fail)
        assert child.call(_print_and_answer) == 42
    finally:
        child.close()
