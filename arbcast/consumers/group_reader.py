"""A loop over one Redis stream read with a consumer group, at least once, that never stalls.

Each `step` first takes back this consumer's own entries that were read but never acknowledged
(it died, or a call failed, mid-batch), then new ones; `decode` turns each into its value and a
subclass's `handle` acknowledges what it finished. `run` keeps stepping until told to stop, and
rides out a shard restarting or Redis blinking by trying again with a growing pause.

Poison. Own pending entries are read first, so an entry that can never be handled would be read
first forever and stop everything behind it. Two rules keep the reader moving:
- an entry that does not decode goes to the dead-letter stream at once (it will never decode);
- when `handle` fails on a decoded batch, the failure counts against the batch's oldest pending
  entry (the one the handler was on: handlers go in order), in Redis so that restarts keep
  counting. After `max_failures` that entry goes to the dead-letter stream with its last error.
  An outage of a dependency (an actor restarting, Redis away) is not the entry's fault and does
  not count.
Moving an entry to the dead-letter stream and acknowledging it is one MULTI.
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from actors.errors import ActorUnavailableError
from core.errors import StoreUnavailableError
from core.store import keys
from core.store.client import answer

log = logging.getLogger(__name__)

Entry = tuple[str, dict[str, Any]]
T = TypeVar("T")

# Outages: retried without counting against the entry.
_OUTAGES = (ActorUnavailableError, StoreUnavailableError, RedisConnectionError, RedisTimeoutError)


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class GroupReader(ABC, Generic[T]):
    def __init__(
        self,
        redis: Redis,
        stream: str,
        group: str,
        consumer: str,
        *,
        count: int = 100,
        retry_seconds: float = 1.0,
        retry_max_seconds: float = 30.0,
        max_failures: int = 8,
        dead_max_len: int = 100_000,
    ) -> None:
        self._redis = redis
        self.stream, self.group, self.consumer = stream, group, consumer
        self.count = count
        self.retry_seconds, self.retry_max_seconds = retry_seconds, retry_max_seconds
        self.max_failures = max_failures
        self.dead_max_len = dead_max_len
        self.dead_stream = keys.stream_dead(stream)
        self._failures = keys.stream_failures(stream, group)
        self.dead_lettered = 0
        # Failures may be counted in Redis (by this reader, or one before a restart): look once.
        self._may_have_failures = True

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
            # A pending entry trimmed from the stream comes back with no fields: nothing to do.
            gone = [eid for eid, fields in entries if not fields]
            if gone:
                await self.ack(*gone)
            entries = [(eid, fields) for eid, fields in entries if fields]
            if entries:
                return entries
        return []

    async def ack(self, *entry_ids: str) -> None:
        if entry_ids:
            await self._redis.xack(self.stream, self.group, *entry_ids)

    @abstractmethod
    def decode(self, fields: dict[str, Any]) -> T:
        """The entry's value; raising means the entry is malformed (dead-lettered at once)."""

    @abstractmethod
    async def handle(self, batch: list[tuple[str, T]]) -> None:
        """Handle a decoded batch in order, acknowledging (`ack`) what is done."""

    async def step(self, *, block_ms: int | None = None) -> int:
        """Handle one batch; returns how many entries it held."""
        entries = await self.read(block_ms=block_ms)
        batch: list[tuple[str, T]] = []
        for entry_id, fields in entries:
            try:
                batch.append((entry_id, self.decode(fields)))
            except Exception as exc:
                await self.dead_letter(entry_id, fields, f"malformed: {exc!r}")
        if batch:
            try:
                await self.handle(batch)
            except _OUTAGES:
                raise
            except Exception as exc:
                await self._count_failure(batch, exc, entries)
                raise
            await self._forget_failures([eid for eid, _ in batch])
        return len(entries)

    async def _count_failure(
        self, batch: list[tuple[str, T]], exc: Exception, entries: list[Entry]
    ) -> None:
        ids = [eid for eid, _ in batch]
        pending = await self._redis.xpending_range(
            self.stream, self.group, min=ids[0], max=ids[-1], count=len(ids)
        )
        still = {_text(p["message_id"]) for p in pending}
        head = next((eid for eid in ids if eid in still), None)
        if head is None:
            return
        self._may_have_failures = True
        failures = int(await answer(self._redis.hincrby(self._failures, head, 1)))
        if failures >= self.max_failures:
            fields = next(f for eid, f in entries if eid == head)
            await self.dead_letter(head, fields, f"failed {failures} times, last: {exc!r}")

    async def _forget_failures(self, entry_ids: list[str]) -> None:
        if entry_ids and self._may_have_failures:
            await answer(self._redis.hdel(self._failures, *entry_ids))
            self._may_have_failures = bool(await answer(self._redis.hlen(self._failures)))

    async def dead_letter(self, entry_id: str, fields: dict[str, Any], error: str) -> None:
        """Move one entry to the dead-letter stream and acknowledge it, in one MULTI."""
        body = json.dumps({_text(k): _text(v) for k, v in fields.items()})
        log.error(
            "%s: entry %s of %s dead-lettered: %s", self.consumer, entry_id, self.stream, error
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                self.dead_stream,
                {"fields": body, "error": error, "group": self.group, "entry": entry_id},
                maxlen=self.dead_max_len,
                approximate=True,
            )
            pipe.xack(self.stream, self.group, entry_id)
            pipe.hdel(self._failures, entry_id)
            await pipe.execute()
        self.dead_lettered += 1

    async def run(self, stop: asyncio.Event) -> None:
        pause = self.retry_seconds
        while not stop.is_set():
            try:
                await self.ensure_group()  # again after an error: Redis may have lost it
                while not stop.is_set():
                    await self.step(block_ms=1000)
                    pause = self.retry_seconds
            except Exception as exc:
                log.warning("%s on %s failed (%s); retrying", self.consumer, self.stream, exc)
                await asyncio.sleep(pause)  # a back-off, not a synchronisation
                pause = min(2 * pause, self.retry_max_seconds)


async def replay_dead_letters(redis: Redis, stream: str, entry_ids: list[str] | None = None) -> int:
    """Put dead letters of `stream` back on it (all, or those whose dead-letter ids are given),
    each moved in one MULTI; returns how many."""
    dead = keys.stream_dead(stream)
    rows = await redis.xrange(dead) if entry_ids is None else []
    for eid in entry_ids or []:
        rows += await redis.xrange(dead, min=eid, max=eid)
    for dead_id, fields in rows:
        original = json.loads(_text(fields["fields"]))
        async with redis.pipeline(transaction=True) as pipe:
            pipe.xadd(stream, original)
            pipe.xdel(dead, dead_id)
            await pipe.execute()
    return len(rows)
