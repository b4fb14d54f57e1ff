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

from actors.distribution import DistributionClient
from actors.streams import Entry, GroupReader
from actors.user_queue_shard import shard_of
from core.store import keys

log = logging.getLogger(__name__)

GROUP = "queues"


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class AckRouter(GroupReader):
    def __init__(
        self, redis: Any, client: DistributionClient, *, consumer: str | None = None
    ) -> None:
        super().__init__(
            redis, keys.OUTBOX_ACKS, GROUP, consumer or f"{socket.gethostname()}-acks", count=1_000
        )
        self._client = client
        self.recorded = 0
        self.edits = 0

    async def handle(self, entries: list[Entry]) -> None:
        """Hand each shard its part of the batch in one call, then acknowledge the batch."""
        by_shard: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
        n = len(self._client.shards)
        for _entry_id, fields in entries:
            if not fields:
                continue
            uid = int(fields["u"])
            by_shard[shard_of(uid, n)].append((uid, _text(fields["o"]), int(fields["m"])))
        results = await asyncio.gather(
            *(self._client.shards[i].record_sent_many(acks) for i, acks in by_shard.items())
        )
        await self.ack(*[e for e, _ in entries])
        self.recorded += sum(len(a) for a in by_shard.values())
        self.edits += sum(results)
