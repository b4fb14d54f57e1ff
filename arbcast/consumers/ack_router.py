"""From the outbox back to the queues: the Telegram message id of every delivered push.

The outbox writes (user id, outgoing id, message id) to its acks stream in the same step as it
acknowledges a send. `AckRouter` reads that stream with a consumer group, groups a batch by
shard and hands each shard its part in one call (`record_sent_many`), then acknowledges the
entries. A router that dies before acknowledging leaves them pending; it (or another) claims them
again, and recording a message id twice changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import defaultdict
from typing import Any

from redis.asyncio import Redis

from actors.distribution import DistributionClient
from actors.user_queue_shard import shard_of
from arbcast.consumers.group_reader import GroupReader
from core.store import keys

log = logging.getLogger(__name__)

GROUP = "queues"


Ack = tuple[int, str, int]  # user id, outgoing id, Telegram message id


class AckRouter(GroupReader[Ack]):
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
            keys.OUTBOX_ACKS,
            GROUP,
            consumer or f"{socket.gethostname()}-acks",
            count=1_000,
            max_failures=max_failures,
        )
        self._client = client
        self.recorded = 0
        self.edits = 0

    def decode(self, fields: dict[str, Any]) -> Ack:
        return int(fields["u"]), str(fields["o"]), int(fields["m"])

    async def handle(self, batch: list[tuple[str, Ack]]) -> None:
        """Hand each shard its part of the batch in one call, then acknowledge the batch."""
        by_shard: dict[int, list[Ack]] = defaultdict(list)
        n = len(self._client.shards)
        for _entry_id, ack in batch:
            by_shard[shard_of(ack[0], n)].append(ack)
        results = await asyncio.gather(
            *(self._client.shards[i].record_sent_many(acks) for i, acks in by_shard.items())
        )
        await self.ack(*[e for e, _ in batch])
        self.recorded += sum(len(a) for a in by_shard.values())
        self.edits += sum(results)
