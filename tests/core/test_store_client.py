"""The Redis client: a burst of calls beyond the pool waits for a connection, never fails."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.errors import StoreUnavailableError
from core.settings import Settings
from core.store.client import connect, connect_for, store_errors


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
