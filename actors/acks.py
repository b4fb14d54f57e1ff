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

from redis.exceptions import ResponseError

from actors.distribution import DistributionClient
from actors.user_queue_shard import shard_of
from core.store import keys

log = logging.getLogger(__name__)

GROUP = "queues"


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class AckRouter:
    def __init__(
        self, redis: Any, client: DistributionClient, *, consumer: str | None = None
    ) -> None:
        self._redis = redis
        self._client = client
        self.consumer = consumer or f"{socket.gethostname()}-acks"
        self.recorded = 0
        self.edits = 0

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(keys.OUTBOX_ACKS, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def step(self, *, block_ms: int | None = None, count: int = 1_000) -> int:
        """Route one batch: first this consumer's unacknowledged entries, then new ones."""
        entries: list[Any] = []
        for start in ("0", ">"):
            reply = await self._redis.xreadgroup(
                GROUP,
                self.consumer,
                {keys.OUTBOX_ACKS: start},
                count=count,
                block=block_ms if start == ">" else None,
            )
            entries = reply[0][1] if reply and reply[0][1] else []
            if entries:
                break
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
        if entries:
            await self._redis.xack(keys.OUTBOX_ACKS, GROUP, *[e for e, _ in entries])
        self.recorded += sum(len(a) for a in by_shard.values())
        self.edits += sum(results)
        return len(entries)

    async def run(self, stop: asyncio.Event) -> None:
        await self.ensure_group()
        while not stop.is_set():
            try:
                await self.step(block_ms=1000)
            except Exception as exc:  # a shard restarting, Redis blinking: try again shortly
                log.warning("routing acks failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
