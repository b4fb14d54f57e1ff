"""Activity is recorded in memory at once and written to Redis in batches.

Every update from a user extends their session, so writing each one would put a Redis round
trip on every update. Instead the latest activity per user is kept here and flushed every
`activity_flush_seconds` (0.2 s by default) in one pipeline. The touch script takes the maximum
of the stored and the new expiry, so batches that arrive late or out of order lose nothing.
What is at stake in a crash is at most one interval of extensions, i.e. the session would expire
that much earlier seven days later; commands counted in it are the only figures lost.
"""

from __future__ import annotations

import asyncio
import logging

from core.sessions.store import SessionStore, Touch
from core.tasks import Backoff, Supervised

log = logging.getLogger(__name__)


class ActivityRecorder:
    def __init__(
        self, store: SessionStore, *, flush_interval: float, backoff: Backoff | None = None
    ) -> None:
        self._store = store
        self._interval = flush_interval
        self._pending: dict[int, Touch] = {}
        self.task = Supervised("activity-flusher", self._run, backoff=backoff)
        self._lock = asyncio.Lock()
        self.flushed = 0

    def record(self, user_id: int, session_id: str, at: float, *, command: bool) -> None:
        self._merge(Touch(user_id, session_id, at, int(command)))

    def _merge(self, touch: Touch, *, older: bool = False) -> None:
        previous = self._pending.get(touch.user_id)
        if previous is None or previous.session_id != touch.session_id:
            if previous is None or not older:
                self._pending[touch.user_id] = touch
            return
        self._pending[touch.user_id] = Touch(
            touch.user_id,
            touch.session_id,
            max(touch.at, previous.at),
            touch.commands + previous.commands,
        )

    async def flush(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, {}
            try:
                await self._store.touch_many(list(batch.values()))
            except Exception:
                for touch in batch.values():  # kept for the next attempt
                    self._merge(touch, older=True)
                raise
            self.flushed += len(batch)

    async def _run(self) -> None:
        # A failed flush ends the run (its touches are kept); the supervisor restarts it.
        while True:
            await asyncio.sleep(self._interval)  # a period, not a synchronisation
            await self.flush()

    def start(self) -> None:
        self.task.start()

    async def close(self) -> None:
        await self.task.stop()
        await self.flush()

    @property
    def pending(self) -> int:
        return len(self._pending)
