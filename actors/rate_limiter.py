"""`GlobalRateLimiter`: the one system-wide limiter of sends to Telegram (the design's
GlobalRateLimiterDO), over `GlobalRateLimiterLogic`.

Senders lease tokens in batches (one call per batch, never per message) and pace each chat they
own locally. A 429 is reported here, so that a global one pauses every sender. Its state is a
sliding window of a second or so: a restarted limiter starts empty, which at worst lets one
second's worth of sends through early, a burst Telegram tolerates.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from core.distribution.rate_limit import GlobalRateLimiterLogic, Lease
from core.settings import Settings


class GlobalRateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.logic = GlobalRateLimiterLogic(settings.distribution.rate_limits)
        self._last = 0.0
        self.leases = 0
        self.granted = 0

    def _now(self) -> float:
        # The logic needs time that never goes backwards; wall time can (clock adjustments).
        self._last = max(self._last, time.time())
        return self._last

    async def lease(self, sender_id: str, n: int) -> Lease:
        lease = self.logic.lease(sender_id, n, self._now())
        self.leases += 1
        self.granted += lease.tokens
        return lease

    async def release(self, lease: Lease, unused: int) -> None:
        self.logic.release(lease, unused)
        self.granted -= max(0, min(unused, lease.tokens))

    async def report_429(
        self, retry_after: float, scope: Literal["global", "chat"], chat_id: int | None
    ) -> None:
        self.logic.report_429(retry_after, scope, chat_id, self._now())

    async def chat_paused_until(self, chat_id: int) -> float | None:
        return self.logic.chat_paused_until(chat_id, self._now())

    async def stats(self) -> dict[str, Any]:
        now = self._now()
        return {
            "leases": self.leases,
            "granted": self.granted,
            "available": self.logic.available(now),
            "paused_until": self.logic.paused_until if self.logic.paused_until > now else None,
            "rate": self.logic.rate,
        }
