"""The push pipeline of one arbcast deployment, started and stopped as one piece.

    engine ──opportunity changes stream──▶ Distributor ──one call per shard──▶ UserQueueActor
    shards ──rendered messages──▶ outbox (Redis) ──▶ PushSender ──tokens from the
    GlobalRateLimiter──▶ Telegram ──acks stream──▶ AckRouter ──message ids──▶ shards

The actors (shards, sender, limiter) live on Ray; the distributor and the ack router are loops in
this process, reading Redis streams with consumer groups, so either can die and resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from redis.asyncio import Redis

from actors.distribution import DistributionClient, PushSenderClient, RateLimiterClient
from actors.factory import (
    create_distribution,
    create_rate_limiter,
    create_sender,
    kill_created,
)
from arbcast.consumers.ack_router import AckRouter
from arbcast.consumers.distributor import Distributor
from core.settings import Settings
from core.store import keys
from core.store.client import answer
from messaging.outbox.reminders import SessionReminders
from messaging.transport.leases import LeasedTokens

log = logging.getLogger(__name__)


class Pushes:
    def __init__(
        self,
        settings: Settings,
        redis_url: str,
        redis: Redis,
        *,
        reminders: SessionReminders | None = None,
    ) -> None:
        """`reminders`: warn users before their sessions expire, delivered by this pipeline."""
        self.settings = settings
        self._redis = redis
        self.reminders = reminders
        # Created here, on the caller's (main) thread: Ray installs signal handlers there.
        self.limiter: RateLimiterClient = create_rate_limiter(settings, redis_url)
        self.shards: DistributionClient = create_distribution(settings, redis_url)
        self.senders: list[PushSenderClient] = [
            create_sender(settings, redis_url, self.limiter, index=i)
            for i in range(settings.distribution.delivery.senders)
        ]
        failures = settings.distribution.max_entry_failures
        self.distributor = Distributor(redis, self.shards, max_failures=failures)
        self.acks = AckRouter(redis, self.shards, max_failures=failures)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def bot_tokens(self) -> LeasedTokens:
        """The bot's replies take their share of the same global budget as the pushes."""
        return LeasedTokens(
            self.limiter,
            f"bot-{os.getpid()}",
            max_batch=self.settings.distribution.rate_limits.max_lease_tokens,
        )

    async def start(self) -> int:
        """Load the shards, start the sender and the two loops; returns the users loaded."""
        rows = await self.shards.start()
        await asyncio.gather(*(s.start() for s in self.senders))
        self._stop.clear()
        self._tasks = [
            asyncio.create_task(self.distributor.run(self._stop), name="distributor"),
            asyncio.create_task(self.acks.run(self._stop), name="ack-router"),
            asyncio.create_task(self._supervise(), name="push-supervisor"),
        ]
        if self.reminders is not None:
            self._tasks.append(
                asyncio.create_task(self.reminders.run(self._stop), name="session-reminders")
            )
        return rows

    async def _supervise(self) -> None:
        """Ray restarts a dead actor but not its loops: start them again (idempotent calls),
        so a restarted shard reloads its users and queues and a restarted sender takes back
        what its previous life held."""
        every = self.settings.distribution.supervise_seconds
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), every)
                return
            for start in (self.shards.start, *(s.start for s in self.senders)):
                try:
                    await start()
                except Exception as exc:  # restarting right now: the next round will do
                    log.warning("push pipeline supervisor: %s", exc)

    async def stop(self) -> None:
        self._stop.set()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        await asyncio.gather(*(s.stop() for s in self.senders), return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.shards.flush()

    def kill(self) -> list[str]:
        """Kill, for good (after `stop`), the push actors this process created; returns their
        names. Those it found running belong to other processes too and are left alone."""
        names = {"global-rate-limiter"}
        names |= {f"user-queues-{i}" for i in range(len(self.shards.shards))}
        names |= {f"push-sender-{i}" for i in range(len(self.senders))}
        return kill_created(self.settings, names)

    async def counters(self) -> dict[str, Any]:
        """Live figures: users and queues, held items, outbox outcomes, rate against the limit."""
        shards, limiter, *senders = await asyncio.gather(
            self.shards.stats(), self.limiter.stats(), *(s.stats() for s in self.senders)
        )
        outbox: dict[str, int] = senders[0]["outbox"]  # one hash, shared by the senders
        queue_stats = await answer(self._redis.hgetall(keys.PUSH_STATS))
        dropped = {
            k.removeprefix("dropped:"): v for k, v in outbox.items() if k.startswith("dropped:")
        }
        for k, v in queue_stats.items():
            if k.startswith("dropped:"):
                reason = k.removeprefix("dropped:")
                dropped[reason] = dropped.get(reason, 0) + int(v)
        return {
            "users": sum(s["rows"] for s in shards),
            "active_queues": sum(s["active_queues"] for s in shards),
            "pending": sum(s["pending"] for s in shards),
            "held": sum(s["held"] for s in shards),
            "fanned_out": self.distributor.fanned_out,
            "sent": outbox.get("sent", 0),
            "retried": outbox.get("retried", 0),
            "dead": outbox.get("dead", 0),
            "duplicates": outbox.get("duplicates", 0),
            "rejected": {
                k.removeprefix("rejected:"): int(v)
                for k, v in queue_stats.items()
                if k.startswith("rejected:")
            },
            "dropped": dropped,
            "backlog": sum(s["backlog"] for s in senders),
            "delayed": sum(s["delayed"] for s in senders),
            "limit_per_second": limiter["rate"],
        }
