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

log = logging.getLogger(__name__)


class SessionSweeper:
    def __init__(self, sessions: SessionService, *, interval: float, batch: int) -> None:
        self._sessions = sessions
        self._interval = interval
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
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
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self._interval)
            self._kick.clear()
            try:
                await self.run_once()
            except Exception as exc:
                log.warning("session sweep failed (%s); retrying next interval", exc)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="session-sweeper")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
