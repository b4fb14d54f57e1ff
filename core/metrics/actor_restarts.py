"""How often Ray restarted each actor: the actor's constructor bumps its count when Ray
reconstructed it (not on a first start), and /metrics reads the counts.

Counted in Redis rather than in the actor: the life that would hold an in-memory count is the
one that died, and the bot process scrapes Redis anyway. The constructor runs before the actor
has an event loop of its own, so the bump is one call of a synchronous client.
"""

from __future__ import annotations

from typing import Any

import redis as redis_sync
from redis.asyncio import Redis

from core.store.client import answer, resolve
from core.store.keys import ACTOR_RESTARTS


def record_restart(redis_url: str, actor: str, *, timeout: float = 2.0) -> int:
    """Count one restart of `actor`; returns its count."""
    client = redis_sync.Redis.from_url(
        resolve(redis_url), socket_timeout=timeout, socket_connect_timeout=timeout
    )
    try:
        count: int = client.hincrby(ACTOR_RESTARTS, actor, 1)  # type: ignore[assignment]
        return count
    finally:
        client.close()


async def read_restarts(redis: Redis) -> dict[str, int]:
    raw: dict[Any, Any] = await answer(redis.hgetall(ACTOR_RESTARTS))
    return {_text(k): int(v) for k, v in raw.items()}


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
