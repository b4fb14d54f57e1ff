"""What the GlobalRateLimiter must not forget when Ray restarts it: the slots it has handed out.

Its leases reach up to ``lease_horizon_seconds`` ahead, and a global 429 pauses every sender. A
limiter that restarted empty would hand out again slots that senders already hold, and two
sends would share one slot: a second over Telegram's 30/s, and a 429 for the whole bot. So the
limiter writes the end of what it granted (and the pause) here *before* it answers a lease, and
a restarted one reads it back before it answers anything.

One string key (`keys.RATE_LIMITER`), written with one SET: the state is two numbers and only
the latest matters. It expires once nothing in it can still matter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis

from core.store import keys
from core.store.client import answer, store_errors


@dataclass(frozen=True, slots=True)
class LimiterState:
    next_slot_us: int  # the first slot not yet handed out (integer microseconds)
    paused_until: float  # a global 429's end (-inf: none)


class LimiterStateStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def save(self, state: LimiterState, now: float) -> None:
        ends = max(state.next_slot_us / 1e6, state.paused_until, now)
        ttl_ms = int((ends - now + keys.RATE_LIMITER_GRACE_S) * 1000)
        body = json.dumps({"next_us": state.next_slot_us, "paused_until": state.paused_until})
        async with store_errors("saving the rate limiter's slots"):
            await answer(self._redis.set(keys.RATE_LIMITER, body, px=ttl_ms))

    async def load(self) -> LimiterState | None:
        async with store_errors("reading the rate limiter's slots"):
            raw = await answer(self._redis.get(keys.RATE_LIMITER))
        if not raw:
            return None
        data = json.loads(raw)
        return LimiterState(int(data["next_us"]), float(data["paused_until"]))
