"""Supervised background work and shutdown steps: failures restart the work with backoff, and
every cleanup step runs even when others fail."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
from pathlib import Path

import pytest

from core.clock import ManualClock
from core.errors import StoreUnavailableError
from core.events import Event, RedisEventLog, read_events
from core.services import build_services
from core.settings import Settings
from core.store.client import connect, connect_for
from core.store.embedded import EmbeddedRedis
from core.tasks import Backoff, Supervised, TaskState, run_all
from tests.helpers import eventually


async def test_failing_work_is_restarted_with_growing_backoff_until_it_succeeds() -> None:
    runs: list[float] = []
    loop = asyncio.get_running_loop()

    async def flaky() -> None:
        runs.append(loop.time())
        if len(runs) < 4:
            raise ConnectionError(f"failure {len(runs)}")

    task = Supervised("flaky", flaky, backoff=Backoff(first=0.01, maximum=0.04))
    task.start()
    await eventually(lambda: task.state is TaskState.DONE, what="the work succeeded")
    assert task.failures == 3 and task.last_error == "ConnectionError: failure 3"
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    # Lower bounds only (a wait is never shorter than asked; the loop may wake a hair early).
    assert gaps[0] >= 0.009 and gaps[1] >= 0.019 and gaps[2] >= 0.039  # 0.01, 0.02, cap 0.04


async def test_a_stop_signal_ends_the_backoff_and_is_not_followed_by_restarts() -> None:
    stop = asyncio.Event()
    calls = 0

    async def always_fails() -> None:
        nonlocal calls
        calls += 1
        raise OSError("redis down")

    task = Supervised("down", always_fails, backoff=Backoff(first=60, maximum=60), stop=stop)
    task.start()
    await eventually(lambda: task.state is TaskState.RESTARTING, what="waiting to restart")
    await asyncio.wait_for(task.join(), 5)  # not the 60 s backoff
    assert calls == 2  # the last run after the signal, to flush what it holds; then no more
    assert task.state is TaskState.IDLE


async def test_stop_cancels_running_work_and_never_raises() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    task = Supervised("forever", forever)
    task.start()
    await eventually(lambda: task.healthy, what="running")
    await task.stop()
    assert not task.running and task.state is TaskState.IDLE


async def test_run_all_runs_every_step_when_some_fail() -> None:
    done: list[str] = []

    async def ok(name: str) -> None:
        done.append(name)

    async def broken() -> None:
        raise RuntimeError("boom")

    failed = await run_all(
        [("a", lambda: ok("a")), ("b", broken), ("c", lambda: ok("c")), ("d", broken)]
    )
    assert done == ["a", "c"] and failed == ["b", "d"]


async def test_services_close_with_redis_down_still_stops_everything_and_says_what_was_lost(
    settings: Settings,
) -> None:
    """Redis is gone at shutdown: every background loop is still stopped, and one error names
    the flushes that could not be written (the old close stopped at the first failure)."""
    data = Path(tempfile.mkdtemp(prefix="arbc-close-", dir="/tmp"))
    server = EmbeddedRedis(data)
    server.start()
    quick = settings.model_copy(
        update={"redis_socket_timeout_seconds": 0.5, "redis_connect_timeout_seconds": 0.5}
    )
    client = connect_for(server.url, quick)
    try:
        services = build_services(client, quick, clock=ManualClock())
        await services.start()
        assert isinstance(services.events, RedisEventLog)
        services.events.emit(Event(name="x.y", ts=1.0))
        session = await services.sessions.start(1)
        services.sessions.record_activity(session.session, command=True)
        server.stop()
        with pytest.raises(StoreUnavailableError, match="activity flush, event flush"):
            await services.close()
        assert not services.sweeper.task.running
        assert not services.sessions.activity.task.running
        assert not services.events.task.running
        assert services.events.pending == 2  # x.y and session.started: kept, not dropped
    finally:
        await client.aclose()
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


async def test_the_event_flusher_survives_a_redis_outage_and_writes_what_it_kept() -> None:
    data = Path(tempfile.mkdtemp(prefix="arbc-flush-", dir="/tmp"))
    server = EmbeddedRedis(data)
    server.start()
    client = connect(server.url, socket_timeout=0.5, connect_timeout=0.5, pool_timeout=0.5)
    log = RedisEventLog(client, flush_interval=0.05, backoff=Backoff(first=0.05, maximum=0.2))
    log.start()
    try:
        server.stop()
        log.emit(Event(name="x.during_outage", ts=1.0))
        await eventually(lambda: log.task.failures >= 1, timeout=20, what="a flush failed")
        server.start()
        log.emit(Event(name="x.after", ts=2.0))

        async def written() -> bool:
            return [e.name for e in await read_events(client)] == ["x.during_outage", "x.after"]

        await eventually(written, timeout=20, what="both events in the stream, in order")
        assert log.task.healthy
    finally:
        await log.close()
        await client.aclose()
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
