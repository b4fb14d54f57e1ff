"""`GlobalRateLimiter`: the one system-wide limiter of sends to Telegram (the design's
GlobalRateLimiterDO), over `GlobalRateLimiterLogic`.

Senders lease tokens in batches (one call per batch, never per message) and pace each chat they
own locally. A 429 is reported here, so that a global one pauses every sender.

Restarts. Leases reach up to `lease_horizon_seconds` ahead, so a limiter that Ray restarted
empty would grant again slots that senders still hold: two sends in one slot, more than 30 in a
second, a 429. The end of what it granted and a global pause are written to Redis
(`core.distribution.limiter_state`) before a lease is answered, and read back before a
restarted limiter answers anything. If Redis cannot take the write the lease is still granted
(sending stops only for Telegram, not for a store blip) and the next write catches up; only a
restart during that blip could then reuse a slot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Literal

from actors.restarts import note_restart
from core.distribution.limiter_state import LimiterState, LimiterStateStore
from core.distribution.rate_limit import GlobalRateLimiterLogic, Lease
from core.errors import StoreUnavailableError
from core.settings import Settings
from core.store.client import connect_for

log = logging.getLogger(__name__)


class GlobalRateLimiter:
    def __init__(self, settings: Settings, redis_url: str) -> None:
        note_restart(redis_url)
        self.logic = GlobalRateLimiterLogic(settings.distribution.rate_limits)
        self._state = LimiterStateStore(connect_for(redis_url, settings))
        self._loaded = False
        self._load_lock = asyncio.Lock()
        self._save_lock = asyncio.Lock()
        self._last = 0.0
        self.leases = 0
        self.granted = 0
        self.restored = False  # state of a previous life was taken back
        # Every 429 of every sending process is reported here, so this is where /metrics
        # counts them (asked at scrape time; a restart starts from 0, as counters may).
        self.refused_429: dict[str, int] = {"global": 0, "chat": 0}

    def _now(self) -> float:
        # The logic needs time that never goes backwards; wall time can (clock adjustments).
        self._last = max(self._last, time.time())
        return self._last

    async def _ready(self) -> None:
        """Before the first answer: take back the slots a previous life handed out."""
        if self._loaded:
            return
        async with self._load_lock:
            if self._loaded:
                return
            state = await self._state.load()  # unavailable: fail the call, the caller retries
            if state is not None:
                self.logic.restore(state.next_slot_us, state.paused_until)
                self.restored = True
            self._loaded = True

    async def _save(self) -> None:
        # Leases run concurrently: one save at a time, each taking the state as it is when it
        # writes, so a slower earlier write can never land last with an older (lower) mark.
        async with self._save_lock:
            state = LimiterState(self.logic.next_slot_us, self.logic.paused_until)
            try:
                await self._state.save(state, self._now())
            except StoreUnavailableError as exc:
                log.warning("rate limiter: %s; granting anyway", exc)

    async def lease(self, sender_id: str, n: int) -> Lease:
        await self._ready()
        lease = self.logic.lease(sender_id, n, self._now())
        if lease.tokens:
            await self._save()
        self.leases += 1
        self.granted += lease.tokens
        return lease

    async def release(self, lease: Lease, unused: int) -> None:
        # Giving slots back only lowers the mark; the saved (higher) one stays safe.
        await self._ready()
        self.logic.release(lease, unused)
        self.granted -= max(0, min(unused, lease.tokens))

    async def report_429(
        self, retry_after: float, scope: Literal["global", "chat"], chat_id: int | None
    ) -> None:
        await self._ready()
        self.refused_429[scope] = self.refused_429.get(scope, 0) + 1
        self.logic.report_429(retry_after, scope, chat_id, self._now())
        if scope == "global":
            await self._save()

    async def stats(self) -> dict[str, Any]:
        await self._ready()
        now = self._now()
        return {
            "leases": self.leases,
            "granted": self.granted,
            "available": self.logic.available(now),
            "paused_until": self.logic.paused_until if self.logic.paused_until > now else None,
            "rate": self.logic.rate,
            "restored": self.restored,
            "refused_429": dict(self.refused_429),
        }
