"""Which process of a deployment runs the once-per-deployment loops: the holder of a lease.

Every process runs `Leadership.run`. A follower tries to take the lease each `renew_seconds`;
the holder renews it as often. Taking it starts the duty (`on_elected`, in a task of its own,
so that renewals go on while a slow start runs); losing it, failing to renew it for a whole
lease lifetime (Redis unreachable: a survivor may hold it by now), or stopping ends the duty
(`on_deposed`, after the start finished) before anything else. On a stop the lease is released,
so a survivor takes over at its next attempt rather than after the lease lapses.

A process killed outright (SIGKILL, a lost machine) renews nothing: its lease lapses after
`lease_seconds` and a survivor takes over within `renew_seconds` more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from core.clock import Clock, SystemClock
from core.store.lease import Lease

log = logging.getLogger(__name__)

Duty = Callable[[], Coroutine[Any, Any, None]]


class Leadership:
    def __init__(
        self,
        lease: Lease,
        *,
        on_elected: Duty,
        on_deposed: Duty,
        lease_seconds: float,
        renew_seconds: float,
        clock: Clock | None = None,
    ) -> None:
        self.lease = lease
        self.leading = False
        self.terms = 0  # how often this process took the lease
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._lease_seconds = lease_seconds
        self._renew_seconds = renew_seconds
        self._clock = clock or SystemClock()
        self._renewed_at = 0.0
        self._duty: asyncio.Task[None] | None = None

    async def step(self) -> bool:
        """One round: take or renew the lease, start or end the duty; returns `leading`."""
        now = self._clock.now()
        held: bool | None
        try:
            held = await (self.lease.renew() if self.leading else self.lease.acquire())
        except Exception as exc:  # Redis unreachable: keep leading until the lease would lapse
            log.warning("lease %s: %s: %s", self.lease.key, type(exc).__name__, exc)
            held = None
        if held:
            self._renewed_at = now
            if not self.leading:
                self.leading = True
                self.terms += 1
                log.info("took lease %s: running the singletons here", self.lease.key)
                self._duty = asyncio.create_task(self._take_up(), name="singletons-start")
        elif self.leading and (held is False or now - self._renewed_at >= self._lease_seconds):
            log.warning("lost lease %s: stopping the singletons here", self.lease.key)
            await self._stand_down()
        return self.leading

    async def _take_up(self) -> None:
        try:
            await self._on_elected()
        except Exception:  # what did start is stopped when the lease goes; the rest is logged
            log.exception("starting the singletons failed")

    async def _stand_down(self) -> None:
        self.leading = False
        duty, self._duty = self._duty, None
        if duty is not None:  # a start still running finishes first, then everything stops
            with contextlib.suppress(Exception):
                await duty
        try:
            await self._on_deposed()
        except Exception:
            log.exception("stopping the singletons failed")

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set (or cancelled): then the duty ends and the lease is released."""
        try:
            while not stop.is_set():
                await self.step()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._renew_seconds)
        finally:
            await self.resign()

    async def resign(self) -> None:
        """End the duty and release the lease (a no-op when not leading)."""
        if self.leading:
            await asyncio.shield(self._stand_down())
            with contextlib.suppress(Exception):
                await self.lease.release()
