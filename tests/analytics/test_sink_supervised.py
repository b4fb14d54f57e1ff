"""The sink under supervision: a Redis failure ends its run, and it is started again with
backoff and keeps writing, without losing or rewriting what it had already written."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.events import RedisEventLog
from core.store import keys
from core.store.client import connect
from core.store.embedded import EmbeddedRedis
from core.tasks import Backoff, Supervised, TaskState
from tests.analytics.helpers import make_sink, mixed_events
from tests.helpers import eventually


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    data = Path(tempfile.mkdtemp(prefix="arbc-sink-", dir="/tmp"))
    server = EmbeddedRedis(data)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
async def client(own_redis: EmbeddedRedis) -> AsyncIterator[Any]:
    c = connect(own_redis.url, socket_timeout=0.5, connect_timeout=0.5, pool_timeout=0.5)
    yield c
    await c.aclose()


async def test_a_sink_whose_redis_fails_once_is_restarted_and_keeps_writing(
    own_redis: EmbeddedRedis, client: Any, tmp_path: Path
) -> None:
    sink, storage = make_sink(client, tmp_path, batch_max_seconds=0.05)
    producer = RedisEventLog(client)
    stop_signal = asyncio.Event()
    task = Supervised(
        "sink", lambda: sink.run(stop_signal), backoff=Backoff(0.05, 0.2), stop=stop_signal
    )
    task.start()
    try:
        before, after = mixed_events(50, seed=1), mixed_events(30, seed=2)
        for e in before:
            producer.emit(e)
        await producer.flush()
        await eventually(lambda: sink.stats.events_written == 50, timeout=20, what="50 written")

        own_redis.stop()
        await eventually(lambda: task.failures >= 1, timeout=20, what="the sink failed")
        assert task.state in (TaskState.RESTARTING, TaskState.RUNNING)
        own_redis.start()

        for e in after:
            producer.emit(e)
        await producer.flush()
        await eventually(lambda: sink.stats.events_written == 80, timeout=20, what="80 written")
        assert task.healthy
    finally:
        await task.join()
    ids = [
        r["event_id"]
        for rel in storage.parquet_files("")
        for r in storage.read_table(rel).to_pylist()
    ]
    assert len(ids) == len(set(ids)) == 80
    assert await client.xlen(keys.EVENTS_STREAM) == 0  # everything written was acked and trimmed
