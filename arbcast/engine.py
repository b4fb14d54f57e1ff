"""The opportunity engine of one arbcast deployment, started and stopped as one piece: the
market-data actor consuming the configured feed, and the coordinators it feeds.

Ray restarts an actor that died, but not the feed loop it ran: a market-data actor restarted
empty would wait for a `start` nobody sends, and no opportunity would be detected again. A
supervisor loop asks it to start every `engine_runtime.supervise_seconds` (idempotent: a
running feed answers False), so a restarted one consumes the feed again within that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from actors.engine import EngineClient

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, client: EngineClient, *, supervise_seconds: float) -> None:
        self.client = client
        self._every = supervise_seconds
        self._stop = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self.restarts = 0  # feeds started again by the supervisor

    async def start(self) -> None:
        """Consume the feed from now on, and keep it consumed across actor restarts."""
        await self.client.start()
        self._stop.clear()
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = asyncio.create_task(self._supervise(), name="engine-supervisor")

    async def _supervise(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._every)
                return
            try:
                if await self.client.start():
                    self.restarts += 1
                    log.warning("the market-data actor had restarted: its feed runs again")
            except Exception as exc:  # restarting right now: the next round will do
                log.warning("engine supervisor: %s", exc)

    async def stop(self) -> None:
        """Stop supervising, then the feed (which writes what the market-data recording holds),
        then save what the coordinators hold."""
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await self.client.stop()
        await self.client.flush()
