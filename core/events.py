"""The append-only event log every feature writes to.

`emit()` never blocks and never does I/O: it appends to a buffer, and a flusher writes batches.
`RedisEventLog` keeps events, in order, in a Redis stream (one XADD per event, pipelined per
batch); the analytics sink reads that stream into Parquet. `MemoryEventLog` keeps them in a list
for unit tests and tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from core.store import keys

log = logging.getLogger(__name__)

Scalar = str | int | float | bool | None


class EventName:
    """Event names, grouped by the analytics table they land in (the part before the dot)."""

    SESSION_STARTED = "session.started"
    SESSION_RESUMED = "session.resumed"
    SESSION_EXPIRED = "session.expired"
    SESSION_TERMINATED = "session.terminated"
    COMMAND = "audit.command"
    CALLBACK = "audit.callback"
    ADMIN_ACTION = "audit.admin"
    ONBOARDING_STEP = "onboarding.step"
    PREFERENCE_CHANGED = "preferences.changed"
    OPPORTUNITIES_SHOWN = "distribution.shown"


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    ts: float
    user_id: int | None = None
    session_id: str | None = None
    attrs: Mapping[str, Scalar] = Field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"n": self.name, "t": self.ts, "u": self.user_id, "s": self.session_id,
             "a": dict(self.attrs)},
            separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def from_json(cls, raw: str) -> Event:
        d = json.loads(raw)
        return cls(name=d["n"], ts=d["t"], user_id=d["u"], session_id=d["s"], attrs=d["a"])


class EventLog(Protocol):
    def emit(self, event: Event) -> None: ...

    async def flush(self) -> None: ...


class MemoryEventLog:
    """Keeps every event in order, in memory."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    async def flush(self) -> None:
        return None

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]


class RedisEventLog:
    """Buffers events and appends them to the ``arbcast:events`` stream in pipelined batches."""

    def __init__(
        self,
        redis: Any,
        *,
        flush_interval: float = 0.5,
        flush_max_events: int = 5_000,
        stream_max_len: int = 5_000_000,
    ) -> None:
        self._redis = redis
        self._interval = flush_interval
        self._max_events = flush_max_events
        self._max_len = stream_max_len
        self._buffer: list[Event] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def emit(self, event: Event) -> None:
        self._buffer.append(event)
        if len(self._buffer) >= self._max_events:
            self._wake.set()

    async def flush(self) -> None:
        async with self._lock:
            while self._buffer:
                batch, self._buffer = (
                    self._buffer[: self._max_events],
                    self._buffer[self._max_events :],
                )
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for event in batch:
                            pipe.xadd(
                                keys.EVENTS_STREAM,
                                {"e": event.to_json()},
                                maxlen=self._max_len,
                                approximate=True,
                            )
                        await pipe.execute()
                except Exception:
                    # Keep the batch, in order, for the next attempt: events are never dropped.
                    self._buffer[:0] = batch
                    raise

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.warning("event flush failed; %d events kept for retry", len(self._buffer))

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-log-flusher")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    @property
    def pending(self) -> int:
        return len(self._buffer)


async def read_events(redis: Any, count: int = 100_000) -> list[Event]:
    """Events in the stream, oldest first (for tools, the demo and tests)."""
    entries = await redis.xrange(keys.EVENTS_STREAM, count=count)
    return [Event.from_json(fields["e"]) for _, fields in entries]
