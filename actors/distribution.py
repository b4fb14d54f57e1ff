"""Typed client of the `UserQueueActor` shards: fan-out is one call per shard, per-user calls go
to the user's shard."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from actors.client import ActorClient
from actors.user_queue_shard import FanoutResult, shard_of
from core.distribution.eligibility import Verdict
from core.distribution.rate_limit import Lease
from core.models import Opportunity


class ShardClient(ActorClient):
    """One `UserQueueActor` shard: every method the shard's callers use, typed."""

    async def fanout(self, opportunity: Opportunity, now: float | None) -> FanoutResult:
        result: FanoutResult = await self._call("fanout", opportunity, now)
        return result

    async def record_sent_many(self, acks: list[tuple[int, str, int]]) -> int:
        edits: int = await self._call("record_sent_many", acks)
        return edits

    async def record_sent(self, user_id: int, outgoing_id: str, message_id: int) -> int:
        edits: int = await self._call("record_sent", user_id, outgoing_id, message_id)
        return edits

    async def start(self) -> int:
        return int(await self._call("start"))

    async def load(self, now: float | None) -> int:
        return int(await self._call("load", now))

    async def tick(self, now: float | None) -> int:
        return int(await self._call("tick", now))

    async def refresh(self, user_ids: list[int], now: float | None) -> None:
        await self._call("refresh", user_ids, now)

    async def explain(self, user_id: int, opportunity: Opportunity, now: float | None) -> Verdict:
        verdict: Verdict = await self._call("explain", user_id, opportunity, now)
        return verdict

    async def flush(self) -> None:
        await self._call("flush")

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self._call("stats")
        return stats


class DistributionClient:
    """All the shards: fan-out and ticks go to each, a user's calls to that user's shard."""

    def __init__(self, shards: list[Any], *, timeout: float) -> None:
        self.shards = [
            ShardClient(h, f"user-queues-{i}", timeout=timeout) for i, h in enumerate(shards)
        ]

    def _of(self, user_id: int) -> ShardClient:
        return self.shards[shard_of(user_id, len(self.shards))]

    async def fanout(
        self, opportunity: Opportunity, now: float | None = None
    ) -> list[FanoutResult]:
        return list(await asyncio.gather(*(s.fanout(opportunity, now) for s in self.shards)))

    async def start(self) -> int:
        """Load every shard's users and start their tick and change-following loops."""
        return sum(await asyncio.gather(*(s.start() for s in self.shards)))

    async def load(self, now: float | None = None) -> int:
        return sum(await asyncio.gather(*(s.load(now) for s in self.shards)))

    async def tick(self, now: float | None = None) -> int:
        return sum(await asyncio.gather(*(s.tick(now) for s in self.shards)))

    async def refresh(self, user_id: int, now: float | None = None) -> None:
        await self._of(user_id).refresh([user_id], now)

    async def record_sent(self, user_id: int, outgoing_id: str, message_id: int) -> int:
        return await self._of(user_id).record_sent(user_id, outgoing_id, message_id)

    async def explain(
        self, user_id: int, opportunity: Opportunity, now: float | None = None
    ) -> Verdict:
        return await self._of(user_id).explain(user_id, opportunity, now)

    async def flush(self) -> None:
        await asyncio.gather(*(s.flush() for s in self.shards))

    async def stats(self) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(s.stats() for s in self.shards)))


class RateLimiterClient(ActorClient):
    """Leases of the global send budget, and 429 reports."""

    async def lease(self, sender_id: str, n: int) -> Lease:
        lease: Lease = await self._call("lease", sender_id, n)
        return lease

    async def release(self, lease: Lease, unused: int) -> None:
        await self._call("release", lease, unused)

    async def report_429(
        self, retry_after: float, scope: Literal["global", "chat"], chat_id: int | None = None
    ) -> None:
        await self._call("report_429", retry_after, scope, chat_id)

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("stats")
        return result


class PushSenderClient(ActorClient):
    """The push sender (`actors.push_sender.PushSender`)."""

    async def start(self) -> bool:
        started: bool = await self._call("start")
        return started

    async def stop(self) -> None:
        await self._call("stop")

    async def drain(self) -> int:
        handled: int = await self._call("drain")
        return handled

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("stats")
        return result
