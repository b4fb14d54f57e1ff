"""Connecting to Redis, and turning its errors into ours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import redis.exceptions
from redis.asyncio import BlockingConnectionPool, Redis

from core.errors import StoreUnavailableError

if TYPE_CHECKING:
    from core.settings import Settings

RedisClient = Redis

# The pool's limits when no settings are given (`Settings.redis_*` default to these).
MAX_CONNECTIONS = 64
POOL_TIMEOUT_SECONDS = 5.0


def connect(
    url: str,
    *,
    max_connections: int = MAX_CONNECTIONS,
    pool_timeout: float = POOL_TIMEOUT_SECONDS,
) -> Redis:
    """A client whose calls wait (up to `pool_timeout`) for a free connection when all
    `max_connections` are busy. redis-py's default pool raises "Too many connections" instead,
    which under a burst of updates would fail the excess ones rather than queue them."""
    pool = BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        max_connections=max_connections,
        timeout=pool_timeout,
        health_check_interval=30,
    )
    return Redis.from_pool(pool)


def connect_for(url: str, settings: Settings) -> Redis:
    """`connect` with the pool limits of `settings`."""
    return connect(
        url,
        max_connections=settings.redis_max_connections,
        pool_timeout=settings.redis_pool_timeout_seconds,
    )


@asynccontextmanager
async def store_errors(action: str) -> AsyncIterator[None]:
    """Raise StoreUnavailableError, naming the action, when Redis cannot be reached."""
    try:
        yield
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
        raise StoreUnavailableError(
            f"Redis did not answer while {action}: {exc}. Check that it runs and that "
            "REDIS_URL points at it"
        ) from exc
