"""Continuous expiry: every `sweep_interval_seconds`, sessions past their expiry become expired.

Work is done in batches of `sweep_batch`, repeated while a batch comes back full, so a backlog
(after downtime) drains without one huge script blocking Redis. Several processes may sweep at
once: the end script only ends a session once, so no transition is recorded twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core.models import UserSession
from core.sessions.service import SessionService
from core.tasks import Backoff, Supervised

log = logging.getLogger(__name__)


class SessionSweeper:
    def __init__(
        self,
        sessions: SessionService,
        *,
        interval: float,
        batch: int,
        backoff: Backoff | None = None,
    ) -> None:
        self._sessions = sessions
        self._interval = interval
        self._batch = batch
        self.task = Supervised("session-sweeper", self._run, backoff=backoff)
        self._kick = asyncio.Event()
        self.expired_total = 0

    async def run_once(self) -> list[UserSession]:
        expired: list[UserSession] = []
        while True:
            batch = await self._sessions.expire_due(self._batch)
            expired.extend(batch)
            if len(batch) < self._batch:
                break
            await asyncio.sleep(0)  # let updates in between batches
        self.expired_total += len(expired)
        return expired

    def kick(self) -> None:
        """Sweep now rather than at the next interval (the demo's fast-forward uses this)."""
        self._kick.set()

    async def _run(self) -> None:
        # A failed sweep ends the run; the supervisor restarts it after its backoff.
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self._interval)
            self._kick.clear()
            await self.run_once()

    def start(self) -> None:
        self.task.start()

    async def close(self) -> None:
        await self.task.stop()
