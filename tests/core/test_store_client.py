"""The Redis client: a burst of calls beyond the pool waits for a connection, never fails."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.exceptions

from core.errors import StoreUnavailableError
from core.settings import Settings
from core.store.client import (
    URL_FROM_ENVIRONMENT,
    connect,
    connect_for,
    is_store_fault,
    resolve,
    store_errors,
)
from core.store.embedded import EmbeddedRedis


def _opened(client: Any) -> int:
    pool = client.connection_pool
    return len(pool._available_connections) + len(pool._in_use_connections)


async def test_more_concurrent_calls_than_connections_all_succeed(redis_url: str) -> None:
    # redis-py's default pool raised "Too many connections" here (the session benchmark's
    # 2,000 concurrent session starts against 64 connections).
    client = connect(redis_url, max_connections=4)
    try:
        results = await asyncio.gather(*(client.incr("test:burst") for _ in range(500)))
        assert sorted(results) == list(range(1, 501))
        assert _opened(client) <= 4
    finally:
        await client.delete("test:burst")
        await client.aclose()


async def test_a_call_waiting_past_the_pool_timeout_is_a_store_error(redis_url: str) -> None:
    client = connect(redis_url, max_connections=1, pool_timeout=0.05)
    pool: Any = client.connection_pool
    held = await pool.get_connection()  # the only connection, busy for the whole test
    try:
        with pytest.raises(StoreUnavailableError, match="REDIS_URL"):
            async with store_errors("reading a session"):
                await client.get("test:x")
    finally:
        await pool.release(held)
        await client.aclose()


def test_pool_limits_come_from_settings(redis_url: str, settings: Settings) -> None:
    custom = settings.model_copy(
        update={"redis_max_connections": 7, "redis_pool_timeout_seconds": 0.5}
    )
    client = connect_for(redis_url, custom)
    pool = client.connection_pool
    assert pool.max_connections == 7
    assert pool.timeout == 0.5  # type: ignore[attr-defined]


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    data = Path(tempfile.mkdtemp(prefix="arbc-client-", dir="/tmp"))
    server = EmbeddedRedis(data)
    server.start()
    yield server
    if server.pid is not None:
        os.kill(server.pid, signal.SIGCONT)
    server.stop()
    shutil.rmtree(data, ignore_errors=True)


async def test_a_paused_redis_fails_a_call_after_the_socket_timeout(
    own_redis: EmbeddedRedis, settings: Settings
) -> None:
    """A hung Redis (SIGSTOP) no longer holds a call forever: after
    `redis_socket_timeout_seconds` it is a store error, and calls work again once it resumes."""
    quick = settings.model_copy(update={"redis_socket_timeout_seconds": 0.3})
    client = connect_for(own_redis.url, quick)
    try:
        await client.ping()
        assert own_redis.pid is not None
        os.kill(own_redis.pid, signal.SIGSTOP)
        with pytest.raises(StoreUnavailableError, match="reading a session"):
            async with store_errors("reading a session"):
                await client.get("test:x")
        os.kill(own_redis.pid, signal.SIGCONT)
        assert await client.ping()
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("exc", "fault"),
    [
        (redis.exceptions.ConnectionError("Error 111 connecting"), True),  # aiogram's FSM sees
        (redis.exceptions.TimeoutError("Timeout reading from socket"), True),
        (redis.exceptions.BusyLoadingError("LOADING Redis is loading the dataset"), True),
        (redis.exceptions.ReadOnlyError("READONLY You can't write against a replica"), True),
        (redis.exceptions.ResponseError("MISCONF Redis is configured to save RDB"), True),
        (redis.exceptions.ResponseError("WRONGTYPE Operation against a key"), False),  # a bug
        (StoreUnavailableError("x"), True),
        (OSError("a file a handler could not read"), False),  # not Redis: a bug, not a 503
        (ValueError("x"), False),
    ],
)
def test_which_errors_are_store_faults(exc: BaseException, fault: bool) -> None:
    assert is_store_fault(exc) is fault


async def test_an_actor_given_the_stand_in_connects_with_its_environments_url(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    client = connect(URL_FROM_ENVIRONMENT)
    try:
        assert await client.ping()
    finally:
        await client.aclose()
    monkeypatch.delenv("REDIS_URL")
    with pytest.raises(StoreUnavailableError, match="export REDIS_URL on every Ray node"):
        resolve(URL_FROM_ENVIRONMENT)
