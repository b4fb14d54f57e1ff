"""`PushSender`: the actor that delivers the outbox to Telegram.

It runs a `DeliveryWorker` over the durable outbox with a Bot of its own: every send first waits
for its chat's pacing (1 message/s per private chat, 20/min per group: the sender owns every chat
it sends to, see below), then takes a token leased in batches from the GlobalRateLimiter (the
bot-wide 30/s, shared with the bot's replies). A 429 is not waited out in the Bot: the worker
reschedules the message, reports the 429 to the limiter and keeps the chat's order.

With ``delivery.senders`` > 1 there is one PushSender per outbox partition: sender n sends the
chats whose id mod senders is n, so each chat still has one owner.

The consumer name is stable (``sender-<index>``), so a sender that Ray restarts after a crash
takes back what its previous life held: those entries are resent at once, and a resend of one
that had reached Telegram is the counted duplicate of the crash window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from actors.restarts import note_restart
from core.clock import SystemClock
from core.models import SessionState
from core.services import build_services
from core.settings import Settings
from core.store import keys
from core.store.client import answer, connect_for
from messaging.outbox.store import Outbox
from messaging.outbox.worker import DeliveryWorker
from messaging.transport.leases import LeasedTokens, LeaseSource
from messaging.transport.telegram import create_bot

log = logging.getLogger(__name__)


class PushSender:
    def __init__(
        self, index: int, settings: Settings, redis_url: str, limiter: LeaseSource
    ) -> None:
        note_restart(redis_url)
        self.index = index
        self.consumer = f"sender-{index}"
        settings = settings.with_token_from(os.environ)  # never given as an argument
        self._settings = settings
        self._redis = connect_for(redis_url, settings)
        self._services = build_services(self._redis, settings)
        delivery = settings.distribution.delivery
        self.tokens = LeasedTokens(
            limiter, self.consumer, max_batch=settings.distribution.rate_limits.max_lease_tokens
        )
        self._bot = create_bot(settings, tokens=self.tokens, retries_after_429=0)
        clock = SystemClock()
        outbox = Outbox(
            self._redis, delivery, events=self._services.events, clock=clock, partition=index
        )
        self._outbox = outbox
        self.worker = DeliveryWorker(
            outbox,
            self._bot,
            self._services.events,
            self._end_session,
            clock,
            delivery,
            consumer=self.consumer,
            opportunities=self._services.opportunities,
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _end_session(self, user_id: int, reason: str) -> object:
        return await self._services.sessions.end(user_id, SessionState.TERMINATED, reason)

    async def start(self) -> bool:
        """Start delivering (idempotent); False if it was running already."""
        if self._task is not None and not self._task.done():
            return False
        await self._services.start(sweep=False)
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name=self.consumer)
        return True

    async def _run(self) -> None:
        try:
            await self.worker.run(self._stop)
        except Exception:
            log.exception("%s stopped on an error", self.consumer)
            raise

    async def stop(self) -> None:
        """Finish what is held, then stop; the rest stays in the outbox."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        await self._services.events.flush()

    async def drain(self) -> int:
        """Deliver everything claimable now (for tools and tests that step the pipeline)."""
        return await self.worker.drain()

    async def stats(self) -> dict[str, Any]:
        raw = await answer(self._redis.hgetall(keys.OUTBOX_STATS))
        own = await self._outbox.partition_stats()
        return {
            "sender": self.consumer,
            "running": self._task is not None and not self._task.done(),
            "held": self.worker.held,
            "leases": self.tokens.leases,
            "tokens": self.tokens.tokens,
            "outbox": {k: int(v) for k, v in raw.items()},
            "partition": self.index,
            "backlog": own["backlog"],
            "delayed": own["delayed"],
        }

    async def close(self) -> None:
        await self.stop()
        await self._services.close()
        await self._bot.session.close()
