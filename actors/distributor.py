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

from redis.exceptions import ResponseError

from actors.distribution import DistributionClient
from core.models import Opportunity
from core.store import keys

log = logging.getLogger(__name__)

GROUP = "distribution"


class Distributor:
    def __init__(
        self, redis: Any, client: DistributionClient, *, consumer: str | None = None
    ) -> None:
        self._redis = redis
        self._client = client
        self.consumer = consumer or f"{socket.gethostname()}-distributor"
        self.fanned_out = 0
        self._progress = asyncio.Condition()

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(keys.OPPORTUNITY_CHANGES, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def step(self, *, block_ms: int | None = None, count: int = 100) -> int:
        """Fan out one batch of changes: first this consumer's unacknowledged ones, then new."""
        entries: list[Any] = []
        for start in ("0", ">"):
            reply = await self._redis.xreadgroup(
                GROUP,
                self.consumer,
                {keys.OPPORTUNITY_CHANGES: start},
                count=count,
                block=block_ms if start == ">" else None,
            )
            entries = reply[0][1] if reply and reply[0][1] else []
            if entries:
                break
        for entry_id, fields in entries:
            opportunity = Opportunity.model_validate_json(fields["opportunity"])
            await self._client.fanout(opportunity)
            await self._redis.xack(keys.OPPORTUNITY_CHANGES, GROUP, entry_id)
            self.fanned_out += 1
        if entries:
            async with self._progress:
                self._progress.notify_all()
        return len(entries)

    async def wait_fanned_out(self, n: int, timeout: float) -> None:
        """Until `n` changes in all were fanned out (for tools and tests); TimeoutError else."""
        async with self._progress:
            await asyncio.wait_for(self._progress.wait_for(lambda: self.fanned_out >= n), timeout)

    async def run(self, stop: asyncio.Event) -> None:
        await self.ensure_group()
        while not stop.is_set():
            try:
                await self.step(block_ms=1000)
            except Exception as exc:  # a shard restarting, Redis blinking: try again shortly
                log.warning("distribution step failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
