"""The relevance model's learner, fed by the event stream.

`PersonalisationReader` reads ``arbcast:events`` with a consumer group of its own
(``personalisation``), at least once: each batch of events is handed to
`core.personalisation.learner.Learner`, whose steps are idempotent per (user, alert, signal),
so a batch read again teaches nothing twice. After each step it also learns from alerts whose
unopened deadline passed. The sink trims the stream only below every group's pending entries,
so a learner that lags holds entries back rather than losing them.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from arbcast.consumers.group_reader import Entry, GroupReader
from core.clock import Clock
from core.events import decode_entry
from core.personalisation.learner import Learner
from core.personalisation.store import RelevanceStore
from core.services import Services
from core.store import keys

GROUP = "personalisation"


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _fields(raw: Any) -> dict[str, Any]:
    """An entry's fields as a dict with text keys (values stay bytes); {} for a trimmed one."""
    if not raw:
        return {}
    if isinstance(raw, Mapping):
        return {_text(k): v for k, v in raw.items()}
    return {_text(raw[i]): raw[i + 1] for i in range(0, len(raw), 2)}


Batch = list[dict[str, Any]]


class PersonalisationReader(GroupReader[Batch]):
    def __init__(
        self,
        redis: Redis,
        learner: Learner,
        clock: Clock,
        *,
        consumer: str | None = None,
        max_failures: int = 8,
    ) -> None:
        super().__init__(
            redis,
            keys.EVENTS_STREAM,
            GROUP,
            consumer or f"{socket.gethostname()}-personalisation",
            count=100,
            max_failures=max_failures,
        )
        self.learner = learner
        self._clock = clock

    async def read(self, *, block_ms: int | None = None) -> list[Entry]:
        """As `GroupReader.read`, but the fields as bytes: a batch's marshal payload is binary
        (the client of this process decodes replies as text)."""
        for start in ("0", ">"):
            args: list[Any] = ["GROUP", self.group, self.consumer, "COUNT", self.count]
            if block_ms and start == ">":
                args += ["BLOCK", block_ms]
            reply = await self._redis.execute_command(  # type: ignore[no-untyped-call]
                "XREADGROUP", *args, "STREAMS", self.stream, start, NEVER_DECODE=True
            )
            if not reply:
                continue
            rows = (
                [e for v in reply.values() for e in v[0]]
                if isinstance(reply, Mapping)
                else [e for _, entries in reply for e in entries]
            )
            entries: list[Entry] = [(_text(eid), _fields(f)) for eid, f in rows]
            gone = [eid for eid, fields in entries if not fields]
            if gone:
                await self.ack(*gone)
            entries = [(eid, fields) for eid, fields in entries if fields]
            if entries:
                return entries
        return []

    async def dead_letter(self, entry_id: str, fields: dict[str, Any], error: str) -> None:
        """As `GroupReader.dead_letter`, with binary values kept readable (undecodable bytes
        escaped), so a poison entry cannot fail its own dead-lettering."""
        text = {
            k: v.decode("utf-8", "backslashreplace") if isinstance(v, bytes) else v
            for k, v in fields.items()
        }
        await super().dead_letter(entry_id, text, error)

    def decode(self, fields: dict[str, Any]) -> Batch:
        return decode_entry(fields)

    async def handle(self, batch: list[tuple[str, Batch]]) -> None:
        for entry_id, events in batch:
            await self.learner.apply(events)
            await self.ack(entry_id)

    @classmethod
    def of(cls, services: Services) -> PersonalisationReader:
        """The learner of a process, over its stores and clock."""
        store = RelevanceStore(services.redis, services.settings.personalisation)
        learner = Learner(store, services.profiles, services.opportunities)
        return cls(
            services.redis,
            learner,
            services.clock,
            max_failures=services.settings.distribution.max_entry_failures,
        )

    async def step(self, *, block_ms: int | None = None) -> int:
        n = await super().step(block_ms=block_ms)
        await self.learner.sweep(self._clock.now())
        return n
