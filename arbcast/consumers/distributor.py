"""From the engine to the users: reads the opportunity changes stream and fans each change out
to every UserQueueActor shard (one call per shard, never one per user).

It reads with a consumer group and acknowledges a change only after every shard took it, so a
distributor that dies mid-way leaves the change pending for another (or itself, restarted) to
claim: at least once, and the shards' queues deduplicate by opportunity id.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from redis.asyncio import Redis

from actors.distribution import DistributionClient
from arbcast.consumers.group_reader import GroupReader
from core.models import Opportunity
from core.store import keys

log = logging.getLogger(__name__)

GROUP = "distribution"


class Distributor(GroupReader[Opportunity]):
    def __init__(
        self,
        redis: Redis,
        client: DistributionClient,
        *,
        consumer: str | None = None,
        max_failures: int = 8,
    ) -> None:
        super().__init__(
            redis,
            keys.OPPORTUNITY_CHANGES,
            GROUP,
            consumer or f"{socket.gethostname()}-distributor",
            max_failures=max_failures,
        )
        self._client = client
        self.fanned_out = 0
        self._progress = asyncio.Condition()

    def decode(self, fields: dict[str, Any]) -> Opportunity:
        return Opportunity.model_validate_json(fields["opportunity"])

    async def handle(self, batch: list[tuple[str, Opportunity]]) -> None:
        """Fan out each change, one call per shard, and acknowledge it once all took it."""
        for entry_id, opportunity in batch:
            await self._client.fanout(opportunity)
            await self.ack(entry_id)
            self.fanned_out += 1
            async with self._progress:  # per change: a watcher sees a batch half done
                self._progress.notify_all()

    async def wait_fanned_out(self, n: int, timeout: float) -> None:
        """Until `n` changes in all were fanned out (for tools and tests); TimeoutError else."""
        async with self._progress:
            await asyncio.wait_for(self._progress.wait_for(lambda: self.fanned_out >= n), timeout)
