"""Connecting to Redis, and turning its errors into ours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.exceptions
from redis.asyncio import Redis

from core.errors import StoreUnavailableError

RedisClient = Redis


def connect(url: str, *, max_connections: int = 64) -> Redis:
    client: Redis = Redis.from_url(
        url, decode_responses=True, max_connections=max_connections, health_check_interval=30
    )
    return client


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
