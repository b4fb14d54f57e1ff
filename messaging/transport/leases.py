"""One process's share of the system-wide send budget, leased from the GlobalRateLimiter.

Every process that sends to Telegram (the bot's replies, the push senders) takes one token per
send from a `LeasedTokens`. A token is a time slot (see `core.distribution.rate_limit`): the
caller waits for its slot, then sends at once. Tokens come from the limiter in batches: when
the current lease is used up or stale, one caller leases as many slots as there are callers
waiting, so a busy sender makes one limiter call per batch and an idle one makes none.

Slots are in the limiter's time. They are mapped to this process's monotonic clock from both ends
of the call: a token is used no earlier than its slot plus the time since the limiter answered
(counted from when the answer *arrived*), and no later than its slot plus the validity counted
from when the lease was *asked for*. So the call's own duration is never spent twice, and a
token that the event loop reaches too late is skipped rather than used outside its slot.

A slot bounds what Telegram sees only if the request reaches Telegram within the slot's
tolerance; `before_write` holds each request, right before its HTTP write, in this process's
`WriteWindow`, which counts requests as they leave and arrive rather than as tokens are taken.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Literal, Protocol

from core.distribution.rate_limit import Lease
from messaging.transport.write_window import Write, WriteWindow

Scope = Literal["global", "chat"]


class LeaseSource(Protocol):
    """The GlobalRateLimiter as a sender sees it (`actors.distribution.RateLimiterClient`)."""

    async def lease(self, sender_id: str, n: int) -> Lease: ...

    async def release(self, lease: Lease, unused: int) -> None: ...

    async def report_429(
        self, retry_after: float, scope: Scope, chat_id: int | None = None
    ) -> None: ...


class LeasedTokens:
    def __init__(
        self,
        source: LeaseSource,
        sender_id: str,
        *,
        max_batch: int = 100,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self.sender_id = sender_id
        self._max_batch = max_batch
        self._monotonic = monotonic
        self._lease: Lease | None = None
        self._next = 0  # index of the next token of the lease
        self._earliest = 0.0  # local time of token 0, at the earliest
        self._latest = 0.0  # local time of token 0's deadline
        self._waiting = 0
        self.window = WriteWindow(monotonic)
        self._lock = asyncio.Lock()
        self.leases = 0
        self.tokens = 0
        self.returned = 0
        self.late = 0

    async def before_write(self) -> Write:
        """Called by the session right before a paced request is written; the caller marks the
        returned `Write` done when the answer comes back."""
        return await self.window.enter()

    @property
    def _left(self) -> int:
        return 0 if self._lease is None else self._lease.tokens - self._next

    def _claim(self) -> tuple[float, float] | None:
        """Take the next token still usable: when to send it and by when (None: none left)."""
        lease = self._lease
        if lease is None:
            return None
        now = self._monotonic()
        while self._next < lease.tokens:
            k = self._next
            offset = k * lease.interval
            if now < self._latest + offset:
                self._next += 1
                self.tokens += 1
                return self._earliest + offset, self._latest + offset
            self._next += 1  # its slot passed while the loop was busy: skip it
        return None

    async def acquire(self) -> None:
        """Wait for one token's slot; send right after it returns."""
        self._waiting += 1
        try:
            while True:
                claimed = self._claim()
                if claimed is None:
                    async with self._lock:
                        if self._left > 0:
                            continue  # another caller leased while this one waited
                        await self._renew()
                    continue
                at, deadline = claimed
                now = self._monotonic()
                wait = max(at, self.window.opens(now)) - now
                if wait > 0:
                    await asyncio.sleep(wait)  # the slot is the pacing
                    if self._monotonic() >= deadline:
                        self.late += 1
                        continue  # the loop woke too late for this slot: take another
                return
        finally:
            self._waiting -= 1

    async def _renew(self) -> None:
        asked = self._monotonic()
        lease = await self._source.lease(self.sender_id, min(self._waiting, self._max_batch))
        arrived = self._monotonic()
        self.leases += 1
        if lease.tokens > 0:
            self._lease, self._next = lease, 0
            self.window.configure(round((1 + lease.validity) / lease.interval), 1 + lease.validity)
            self._earliest = arrived + (lease.granted_at - lease.issued_at)
            self._latest = asked + (lease.granted_at - lease.issued_at) + lease.validity
        else:
            self._lease = None
            await asyncio.sleep(max(0.001, lease.valid_until - lease.issued_at))

    async def release_unused(self) -> None:
        """Give back the slots of the current lease that no caller took."""
        if self._lease is not None and self._left > 0:
            left = self._left
            await self._source.release(self._lease, left)
            self.returned += left
            self._lease = None

    async def report_429(self, retry_after: float, scope: Scope, chat_id: int | None) -> None:
        """Tell the limiter, so that a global 429 pauses every sender, not just this one."""
        if scope == "global":
            self._lease = None  # slots in hand were granted before the pause: do not use them
        await self._source.report_429(retry_after, scope, chat_id)
