"""The append-only event log every feature writes to.

Code emits through an `Emitter`, a log and a clock: ``emit(EventName.SENT, user_id=u, kind="send")``
(`core.services.Services.emit` in the bot). It is the one place an `Event` is built for
emitting, so every event is stamped by the injected clock and carries only scalar attributes.

`emit()` never blocks and never does I/O: it appends to a buffer, and a flusher writes batches.
`RedisEventLog` keeps events, in order, in a Redis stream: one stream entry per *batch* of
events, so the cost per event inside the bot is a list append plus its share of one encoding
call. `MemoryEventLog` keeps them in a list for unit tests and tools. The analytics sink
(`analytics.sink.ParquetSink`) reads the stream with a consumer group into Parquet and trims
what it has written.

Stream entry formats (`decode_entry` reads both):

* batch, ``{"v": "m4", "n": <count>, "d": <payload>}``: the payload is
  ``marshal.dumps([{"name", "ts", "user_id", "session_id", "attrs"}, ...], 4)``. marshal is
  the fastest stdlib encoder of plain dicts of scalars (about ten times ``json.dumps`` here),
  and format 4 is readable by every Python since 3.4. Decoding never runs code; the decoded
  value is checked field by field before use.
* batch, ``{"v": "j1", "n": <count>, "d": <JSON array of the same dicts>}``: written when a
  batch holds a value marshal cannot encode (should not happen: attrs are scalars).
* legacy, one event per entry, ``{"e": <Event.to_json()>}`` (written before batching).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import marshal
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from core.clock import Clock
from core.event_names import EventName
from core.settings import EventSettings
from core.store import keys
from core.tasks import Backoff, Supervised

log = logging.getLogger(__name__)

__all__ = [
    "Emitter",
    "Event",
    "EventLog",
    "EventName",
    "MemoryEventLog",
    "RedisEventLog",
    "Scalar",
]

Scalar = str | int | float | bool | None


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    ts: float
    user_id: int | None = None
    session_id: str | None = None
    attrs: Mapping[str, Scalar] = Field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "n": self.name,
                "t": self.ts,
                "u": self.user_id,
                "s": self.session_id,
                "a": dict(self.attrs),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str) -> Event:
        d = json.loads(raw)
        return cls(name=d["n"], ts=d["t"], user_id=d["u"], session_id=d["s"], attrs=d["a"])


class EventLog(Protocol):
    def emit(self, event: Event) -> None: ...

    async def flush(self) -> None: ...


class Emitter:
    """Builds an event and hands it to the log: the one way code emits.

    The event is stamped with the clock's time, or with ``ts`` for something that happened
    earlier (a validation record carries its own time). Attributes are keyword arguments, so an
    emitter cannot pass a nested value the Parquet schema would have to guess at.
    """

    __slots__ = ("_clock", "log")

    def __init__(self, log: EventLog, clock: Clock) -> None:
        self.log = log
        self._clock = clock

    def __call__(
        self,
        name: str,
        built: Mapping[str, Scalar] | None = None,
        /,
        *,
        user_id: int | None = None,
        session_id: str | None = None,
        ts: float | None = None,
        **attrs: Scalar,
    ) -> None:
        """`built`: attributes assembled beforehand (keyword ``attrs`` win over them)."""
        self.log.emit(
            Event(
                name=name,
                ts=self._clock.now() if ts is None else ts,
                user_id=user_id,
                session_id=session_id,
                attrs={**built, **attrs} if built else attrs,
            )
        )


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


FORMAT_MARSHAL = "m4"
FORMAT_JSON = "j1"
_NEVER_DECODE = "NEVER_DECODE"  # redis-py's per-command "return bytes" option
_FIELDS = ("name", "ts", "user_id", "session_id", "attrs")


class MalformedEntryError(ValueError):
    """A stream entry that is not a batch or a legacy event written by this module."""


def encode_batch(events: Sequence[Event]) -> dict[FieldT, EncodableT]:
    """One stream entry holding ``events``, in order."""
    # Event is a frozen pydantic model without extras: its __dict__ is exactly the five
    # fields, so no per-event container is built here.
    try:
        payload: bytes | str = marshal.dumps([e.__dict__ for e in events], 4)
        fmt = FORMAT_MARSHAL
    except ValueError:
        payload = json.dumps(
            [{**e.__dict__, "attrs": {k: _plain(v) for k, v in e.attrs.items()}} for e in events],
            separators=(",", ":"),
        )
        fmt = FORMAT_JSON
    return {"v": fmt, "n": len(events), "d": payload}


def _plain(v: Any) -> Scalar:
    return v if v is None or isinstance(v, str | int | float | bool) else str(v)


def _text(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


def decode_entry(fields: Mapping[Any, Any]) -> list[dict[str, Any]]:
    """The events of one stream entry as dicts with the keys of `Event`, in order.

    ``fields`` may hold bytes (a client reading with NEVER_DECODE) or str keys and values.
    Raises `MalformedEntryError` for anything this module did not write.
    """
    norm = {_text(k): v for k, v in fields.items()}
    try:
        if "v" in norm:
            fmt = _text(norm["v"])
            raw = norm["d"]
            if fmt == FORMAT_MARSHAL:
                if not isinstance(raw, bytes):
                    raise MalformedEntryError("a marshal batch read as text; read with bytes")
                records = marshal.loads(raw)
            elif fmt == FORMAT_JSON:
                records = json.loads(raw)
            else:
                raise MalformedEntryError(f"unknown batch format {fmt!r}")
            if not isinstance(records, list) or len(records) != int(_text(norm["n"])):
                raise MalformedEntryError("batch count does not match its payload")
        elif "e" in norm:
            d = json.loads(norm["e"])
            legacy = {"name": d["n"], "ts": d["t"], "user_id": d["u"], "session_id": d["s"]}
            records = [{**legacy, "attrs": d["a"]}]
        else:
            raise MalformedEntryError(f"unknown entry fields {sorted(norm)}")
    except MalformedEntryError:
        raise
    except (ValueError, KeyError, TypeError, EOFError, UnicodeDecodeError) as exc:
        raise MalformedEntryError(f"undecodable entry: {exc}") from exc
    for r in records:
        if not _valid_record(r):
            raise MalformedEntryError(f"not an event record: {str(r)[:200]}")
    return records


def _valid_record(r: Any) -> bool:
    if not isinstance(r, dict) or not all(k in r for k in _FIELDS):
        return False
    uid, sid, attrs = r["user_id"], r["session_id"], r["attrs"]
    return (
        isinstance(r["name"], str)
        and isinstance(r["ts"], int | float)
        and not isinstance(r["ts"], bool)
        and (uid is None or (isinstance(uid, int) and not isinstance(uid, bool)))
        and (sid is None or isinstance(sid, str))
        and isinstance(attrs, dict)
        and all(isinstance(k, str) for k in attrs)
    )


class RedisEventLog:
    """Buffers events and appends them to the ``arbcast:events`` stream, one entry per batch.

    A batch whose write fails stays at the head of the buffer, in order, for the next flush:
    events are never dropped by the producer. ``stream_max_len`` (in entries, i.e. batches) is
    only a guard against filling Redis when no sink runs; the sink trims what it has written.
    """

    @classmethod
    def configured(
        cls, redis: Redis, settings: EventSettings, backoff: Backoff | None = None
    ) -> RedisEventLog:
        """The log every process builds: flushing and trimming as `ARBCAST_EVENTS__*` say."""
        return cls(
            redis,
            flush_interval=settings.flush_interval_seconds,
            flush_max_events=settings.flush_max_events,
            stream_max_len=settings.stream_max_len,
            backoff=backoff,
        )

    def __init__(
        self,
        redis: Redis,
        *,
        flush_interval: float = 0.5,
        flush_max_events: int = 5_000,
        stream_max_len: int = 5_000_000,
        backoff: Backoff | None = None,
    ) -> None:
        self._redis = redis
        self._interval = flush_interval
        self._max_events = flush_max_events
        self._max_len = stream_max_len
        self._buffer: list[Event] = []
        self._wake = asyncio.Event()
        self.task = Supervised("event-log-flusher", self._run, backoff=backoff)
        self._lock = asyncio.Lock()

    def emit(self, event: Event) -> None:
        self._buffer.append(event)
        if len(self._buffer) >= self._max_events:
            self._wake.set()

    async def flush(self) -> None:
        async with self._lock:
            if not self._buffer:
                return
            batch, self._buffer = self._buffer, []
            try:
                step = self._max_events
                async with self._redis.pipeline(transaction=False) as pipe:
                    for i in range(0, len(batch), step):
                        pipe.xadd(
                            keys.EVENTS_STREAM,
                            encode_batch(batch[i : i + step]),
                            maxlen=self._max_len,
                            approximate=True,
                        )
                    await pipe.execute()
            except BaseException:
                # Keep the batch, in order, ahead of what was emitted meanwhile. A pipeline
                # that failed half way may have written some entries: at least once.
                self._buffer[:0] = batch
                raise

    async def _run(self) -> None:
        # A failed flush ends the run (the batch is kept); the supervisor restarts it.
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.warning("event flush failed; %d events kept for retry", len(self._buffer))
                raise

    def start(self) -> None:
        self.task.start()

    async def close(self) -> None:
        await self.task.stop()
        await self.flush()

    @property
    def pending(self) -> int:
        return len(self._buffer)


def records_to_events(records: Iterable[Mapping[str, Any]]) -> list[Event]:
    return [
        Event(
            name=r["name"],
            ts=r["ts"],
            user_id=r["user_id"],
            session_id=r["session_id"],
            attrs=r["attrs"],
        )
        for r in records
    ]


async def read_events(redis: Redis, count: int = 100_000) -> list[Event]:
    """Up to ``count`` events in the stream, oldest first (for tools, the demo and tests).

    Entries the sink has already written to Parquet and trimmed are no longer here.
    """
    out: list[Event] = []
    start = "-"
    while len(out) < count:
        entries = await redis.execute_command(  # type: ignore[no-untyped-call]
            "XRANGE", keys.EVENTS_STREAM, start, "+", "COUNT", 100, **{_NEVER_DECODE: True}
        )
        if not entries:
            break
        for _, fields in entries:
            out.extend(records_to_events(decode_entry(fields)))
        start = "(" + _text(entries[-1][0])
    return out[:count]
