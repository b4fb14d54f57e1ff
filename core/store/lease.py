"""A named lease in Redis: at most one holder at a time, lost by a holder that stops renewing.

Taken with SET NX PX; renewed and released by Lua scripts that first check the holder's id, so a
process whose lease lapsed (paused, partitioned) can never extend or delete its successor's.
Redis keeps the lifetime: the holders' clocks do not need to agree.
"""

from __future__ import annotations

import os
import secrets
import socket

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from core.store import keys
from core.store.client import answer
from core.store.scripts import lua_source


def holder_id() -> str:
    """Unique per process and start: a restarted process is a new holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Lease:
    def __init__(self, redis: Redis, name: str, holder: str, ttl_seconds: float) -> None:
        self.key = keys.lease(name)
        self.holder = holder
        self._redis = redis
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self._renew: AsyncScript = redis.register_script(lua_source("lease_renew"))
        self._release: AsyncScript = redis.register_script(lua_source("lease_release"))

    async def acquire(self) -> bool:
        """True if this holder took the free lease (not if it already held it: `renew`)."""
        return bool(await self._redis.set(self.key, self.holder, nx=True, px=self._ttl_ms))

    async def renew(self) -> bool:
        """True if still held by this holder, now for a full lifetime again."""
        return int(await self._renew(keys=[self.key], args=[self.holder, self._ttl_ms])) == 1

    async def release(self) -> bool:
        """Give the lease up at once (a survivor need not wait for it to lapse)."""
        return int(await self._release(keys=[self.key], args=[self.holder])) == 1

    async def current_holder(self) -> str | None:
        value = await answer(self._redis.get(self.key))
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)
