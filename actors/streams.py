"""A loop over one Redis stream read with a consumer group, at least once.

Each `step` first takes back this consumer's own entries that were read but never acknowledged
(it died, or a call failed, mid-batch), then new ones; a subclass handles a batch and
acknowledges what it finished. `run` keeps stepping until told to stop, and rides out a shard
restarting or Redis blinking by trying again after `retry_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import Any

from redis.exceptions import ResponseError

log = logging.getLogger(__name__)

Entry = tuple[str, dict[str, Any]]


class GroupReader(ABC):
    def __init__(
        self,
        redis: Any,
        stream: str,
        group: str,
        consumer: str,
        *,
        count: int = 100,
        retry_seconds: float = 1.0,
    ) -> None:
        self._redis = redis
        self.stream, self.group, self.consumer = stream, group, consumer
        self.count = count
        self.retry_seconds = retry_seconds

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, *, block_ms: int | None = None) -> list[Entry]:
        """This consumer's unacknowledged entries if any, else new ones (waiting `block_ms`)."""
        for start in ("0", ">"):
            reply = await self._redis.xreadgroup(
                self.group,
                self.consumer,
                {self.stream: start},
                count=self.count,
                block=block_ms if start == ">" else None,
            )
            entries: list[Entry] = reply[0][1] if reply and reply[0][1] else []
            if entries:
                return entries
        return []

    async def ack(self, *entry_ids: str) -> None:
        if entry_ids:
            await self._redis.xack(self.stream, self.group, *entry_ids)

    @abstractmethod
    async def handle(self, entries: list[Entry]) -> None:
        """Handle a batch, acknowledging (`ack`) what is done."""

    async def step(self, *, block_ms: int | None = None) -> int:
        """Handle one batch; returns how many entries it held."""
        entries = await self.read(block_ms=block_ms)
        if entries:
            await self.handle(entries)
        return len(entries)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.ensure_group()  # again after an error: Redis may have lost it
                while not stop.is_set():
                    await self.step(block_ms=1000)
            except Exception as exc:
                log.warning("%s on %s failed (%s); retrying", self.consumer, self.stream, exc)
                await asyncio.sleep(self.retry_seconds)
