"""The durable push outbox: a Redis stream with a consumer group, a delayed-retry set and a
dead-letter stream.

A message accepted by `Outbox.enqueue` stays in Redis until Telegram accepted it (`ack`), it was
dropped for a reason that retrying cannot fix (`drop`), or it was given up on (`dead_letter`):

* ``enqueue`` adds one stream entry per message, in one pipeline; each add is a small script that
  first sets a ``seen`` marker with ``SET NX``, so a second enqueue of the same ``outgoing_id``
  within `DeliverySettings.dedup_retention_seconds` is ignored (and the marker and the entry are
  written together, never one without the other).
* ``claim`` moves due delayed retries back into the stream, takes entries that a dead consumer
  left pending for longer than ``reclaim_idle_ms`` (``XAUTOCLAIM``), then reads new ones
  (``XREADGROUP``). A consumer that holds entries for long keeps them with `touch`.
* Right before sending, `mark_sending` sets ``sending:<outgoing_id>``. If the mark is already
  there, an earlier sender died between sending and acknowledging: the message is sent again and
  counted (``duplicates`` in the stats hash). That is the only duplicate the outbox allows.
* ``ack`` / ``drop`` / ``retry_later`` / ``dead_letter`` are each one Lua script: the entry
  leaves the consumer group's pending list (``XACK``) and the stream (``XDEL``) in the same step
  as its next home is written (the ``sent`` record and the ``acks`` stream, the delayed set, the
  dead-letter stream), and the sending mark is cleared.

With ``delivery.senders`` > 1 the stream and the delayed set are split by chat id into as many
partitions (``chat_id mod senders``); an `Outbox` consumes one partition, the one its sender
owns, while ``enqueue`` routes each message to its chat's partition. One sender per chat keeps
the chat's order and Telegram's per-chat limits exact; the global limit is shared through the
GlobalRateLimiter.

Every key shares the ``{outbox}`` hash tag, so the scripts stay on one Redis Cluster slot.
Redis never supplies the time: due times come from the injected `Clock`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import redis.exceptions
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from core.clock import Clock, SystemClock
from core.distribution.settings import DeliverySettings
from core.events import Emitter, EventLog, EventName
from core.store.keys import (
    OUTBOX_ACKS,
    OUTBOX_DEAD,
    OUTBOX_GROUP,
    OUTBOX_MAX_PARTITIONS,
    OUTBOX_STATS,
    outbox_delayed,
    outbox_partition,
    outbox_seen,
    outbox_sending,
    outbox_sent,
    outbox_stream,
)
from core.store.scripts import lua_source
from messaging.outbox.message import OutboxEntry, OutboxMessage

log = logging.getLogger(__name__)


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class Outbox:
    """The outbox of one Redis (see the module docstring)."""

    def __init__(
        self,
        redis: Redis,
        settings: DeliverySettings | None = None,
        *,
        events: EventLog | None = None,
        clock: Clock | None = None,
        partition: int = 0,
    ) -> None:
        self.redis = redis
        self.settings = settings or DeliverySettings()
        if not 0 <= partition < self.settings.senders:
            raise ValueError(
                f"outbox partition {partition} does not exist with {self.settings.senders} "
                "senders (delivery.senders)"
            )
        self.partition = partition
        self.stream = outbox_stream(partition)
        self.high_stream = outbox_stream(partition, high=True)
        self.delayed = outbox_delayed(partition)
        self._clock: Clock = clock or SystemClock()
        self._emit = None if events is None else Emitter(events, self._clock)
        self._group_ready = False
        self._cursors: dict[tuple[str, str], str] = {}  # XAUTOCLAIM cursor per consumer, stream
        self._enqueue: AsyncScript = redis.register_script(lua_source("outbox_enqueue"))
        self._mark: AsyncScript = redis.register_script(lua_source("outbox_mark_sending"))
        self._ack: AsyncScript = redis.register_script(lua_source("outbox_ack"))
        self._retry: AsyncScript = redis.register_script(lua_source("outbox_retry"))
        self._dead: AsyncScript = redis.register_script(lua_source("outbox_dead"))
        self._promote: AsyncScript = redis.register_script(lua_source("outbox_promote"))

    # -- producing ------------------------------------------------------------------------------

    async def enqueue(self, messages: Sequence[OutboxMessage]) -> list[str | None]:
        """Add messages; returns each one's entry id, or None when its outgoing_id was seen."""
        if not messages:
            return []
        ttl = self.settings.dedup_retention_seconds
        async with self.redis.pipeline(transaction=False) as pipe:
            for m in messages:
                await self._enqueue(
                    keys=[outbox_seen(m.outgoing_id), self._stream_of(m)],
                    args=[ttl, m.to_json()],
                    client=pipe,
                )
            results = await pipe.execute()
        ids = [None if r is None else _text(r) for r in results]
        self.accepted([m for m, entry_id in zip(messages, ids, strict=True) if entry_id])
        return ids

    def accepted(self, messages: Sequence[OutboxMessage]) -> None:
        """Record messages that entered the outbox (here, or by the push release script)."""
        if self._emit is None:
            return
        now = self._clock.now()
        for m in messages:
            self._emit(
                EventName.ACCEPTED,
                ts=now,
                user_id=m.user_id,
                outgoing_id=m.outgoing_id,
                kind=m.kind,
                priority=m.priority,
                items=len(m.opportunity_ids),
            )

    def stream_of(self, m: OutboxMessage) -> str:
        """The partition stream that holds `m` (its chat's sender's)."""
        return self._stream_of(m)

    def _stream_of(self, m: OutboxMessage) -> str:
        partition = outbox_partition(m.chat_id, self.settings.senders)
        return outbox_stream(partition, high=m.priority == "high" and m.kind == "send")

    # -- consuming ------------------------------------------------------------------------------

    async def ensure_group(self) -> None:
        if self._group_ready:
            return
        for stream in (self.high_stream, self.stream):
            try:
                await self.redis.xgroup_create(stream, OUTBOX_GROUP, id="0", mkstream=True)
            except redis.exceptions.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._group_ready = True

    async def claim(
        self, consumer: str, count: int, block_ms: int | None = None
    ) -> list[OutboxEntry]:
        """Up to `count` entries for `consumer`: due retries, abandoned entries, then new ones.

        `block_ms` (None or 0: do not wait) is how long to wait for new entries when nothing
        else was found.
        """
        try:
            return await self._claim(consumer, count, block_ms)
        except redis.exceptions.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._group_ready = False  # Redis lost the group (a restart without persistence)
            return await self._claim(consumer, count, block_ms)

    async def _claim(self, consumer: str, count: int, block_ms: int | None) -> list[OutboxEntry]:
        await self.ensure_group()
        if count <= 0:
            return []
        await self._promote(keys=[self.delayed, self.stream], args=[self._clock.now(), count])
        # HIGH first: what a dead sender left, then new ones; the rest after, the same way.
        out: list[OutboxEntry] = []
        for high, stream in ((True, self.high_stream), (False, self.stream)):
            raw: list[tuple[Any, Any]] = []
            cursor = self._cursors.get((consumer, stream), "0-0")
            reply = await self.redis.xautoclaim(
                stream,
                OUTBOX_GROUP,
                consumer,
                min_idle_time=self.settings.reclaim_idle_ms,
                start_id=cursor,
                count=count - len(out),
            )
            self._cursors[(consumer, stream)] = _text(reply[0])
            raw.extend(reply[1])
            if len(out) + len(raw) < count:
                read = await self.redis.xreadgroup(
                    OUTBOX_GROUP,
                    consumer,
                    {stream: ">"},
                    count=count - len(out) - len(raw),
                    # Only the last lane waits, and only when nothing at all was found.
                    block=block_ms if block_ms and not high and not out and not raw else None,
                )
                for _stream, entries in read or []:
                    raw.extend(entries)
            out += await self._decode(raw, stream, high)
            if len(out) >= count:
                break
        return out

    async def _decode(
        self, raw: Iterable[tuple[Any, Any]], stream: str, high: bool
    ) -> list[OutboxEntry]:
        out: list[OutboxEntry] = []
        for entry_id, fields in raw:
            if entry_id is None:
                continue
            eid = _text(entry_id)
            if fields is None:  # deleted while pending (Redis 6.2 reports it so)
                await self.redis.xack(stream, OUTBOX_GROUP, eid)
                continue
            payload = _field(fields, "m")
            try:
                message = OutboxMessage.from_json(payload or "")
                out.append(OutboxEntry(eid, message, self.partition, high))
            except ValidationError as exc:
                log.error("outbox entry %s is malformed: %s", eid, exc)
                reason = f"malformed: {exc.error_count()} errors"
                await self._dead_raw(stream, eid, payload or "", reason)
        return out

    async def touch(self, consumer: str, entries: Sequence[OutboxEntry]) -> None:
        """Reset the idle time of entries `consumer` still holds, so nobody reclaims them."""
        by_stream: dict[str, list[Any]] = {}
        for e in entries:
            by_stream.setdefault(e.stream, []).append(e.entry_id)
        for stream, ids in by_stream.items():
            await self.redis.xclaim(stream, OUTBOX_GROUP, consumer, 0, ids, justid=True)

    async def mark_sending(self, entry: OutboxEntry, consumer: str) -> bool:
        """Mark the message as being sent; True if it was marked already (a crash-window resend,
        counted as a duplicate)."""
        keys, args = self._mark_call(entry, consumer)
        return bool(int(await self._mark(keys=keys, args=args)))

    async def mark_sending_many(self, entries: Sequence[OutboxEntry], consumer: str) -> list[bool]:
        """`mark_sending` for several entries in one round trip (each script still atomic)."""
        pipe = self.redis.pipeline(transaction=False)
        for entry in entries:
            keys, args = self._mark_call(entry, consumer)
            await self._mark(keys=keys, args=args, client=pipe)
        return [bool(int(r)) for r in await pipe.execute()]

    def _mark_call(self, entry: OutboxEntry, consumer: str) -> tuple[list[Any], list[Any]]:
        keys = [outbox_sending(entry.message.outgoing_id), OUTBOX_STATS]
        return keys, [self.settings.sending_mark_ttl_seconds, consumer]

    # -- outcomes -------------------------------------------------------------------------------

    async def ack(self, entry: OutboxEntry, message_id: int) -> bool:
        """Telegram accepted the message as `message_id`: remove the entry, record the id.

        False if the entry had been acknowledged already (by a sender that reclaimed it).
        """
        return await self._finish(entry, str(message_id), "sent")

    async def drop(self, entry: OutboxEntry, reason: str) -> bool:
        """Remove the entry without sending it (the user blocked the bot, the chat is gone)."""
        return await self._finish(entry, "", f"dropped:{reason}")

    async def ack_many(self, acks: Sequence[tuple[OutboxEntry, int]]) -> list[bool]:
        """`ack` for several (entry, message_id) pairs in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for entry, message_id in acks:
            keys, args = self._finish_call(entry, str(message_id), "sent")
            await self._ack(keys=keys, args=args, client=pipe)
        return [bool(int(n)) for n in await pipe.execute()]

    async def _finish(self, entry: OutboxEntry, message_id: str, outcome: str) -> bool:
        keys, args = self._finish_call(entry, message_id, outcome)
        return bool(int(await self._ack(keys=keys, args=args)))

    def _finish_call(
        self, entry: OutboxEntry, message_id: str, outcome: str
    ) -> tuple[list[Any], list[Any]]:
        m = entry.message
        keys = [
            entry.stream,
            outbox_sent(m.outgoing_id),
            outbox_sending(m.outgoing_id),
            OUTBOX_ACKS,
            OUTBOX_STATS,
        ]
        args = [
            OUTBOX_GROUP,
            entry.entry_id,
            message_id,
            self.settings.sent_record_ttl_seconds,
            m.user_id,
            m.outgoing_id,
            self.settings.acks_max_len,
            outcome,
        ]
        return keys, args

    async def retry_later(
        self, entry: OutboxEntry, delay: float, *, message: OutboxMessage | None = None
    ) -> bool:
        """Move the entry to the delayed set, due in `delay` seconds (as `message`, e.g. with
        its attempt counted, when given); it returns to the stream when a claim finds it due.

        A message for another chat (a group that became a supergroup) goes to that chat's
        partition."""
        m = message or entry.message
        delayed = outbox_delayed(outbox_partition(m.chat_id, self.settings.senders))
        n = await self._retry(
            keys=[
                entry.stream,
                delayed,
                outbox_sending(m.outgoing_id),
                OUTBOX_STATS,
            ],
            args=[OUTBOX_GROUP, entry.entry_id, self._clock.now() + max(0.0, delay), m.to_json()],
        )
        return bool(int(n))

    async def dead_letter(self, entry: OutboxEntry, reason: str) -> bool:
        return await self._dead_raw(entry.stream, entry.entry_id, entry.message.to_json(), reason)

    async def _dead_raw(self, stream: str, entry_id: str, payload: str, reason: str) -> bool:
        try:
            oid = OutboxMessage.from_json(payload).outgoing_id if payload else ""
        except ValidationError:
            oid = ""
        n = await self._dead(
            keys=[stream, OUTBOX_DEAD, outbox_sending(oid), OUTBOX_STATS],
            args=[
                OUTBOX_GROUP,
                entry_id,
                payload,
                reason,
                self.settings.dead_max_len,
                self._clock.now(),
            ],
        )
        return bool(int(n))

    # -- reading --------------------------------------------------------------------------------

    async def message_id(self, outgoing_id: str) -> int | None:
        """The Telegram message id an outgoing message was sent as (while its record lives)."""
        raw = await self.redis.get(outbox_sent(outgoing_id))
        return None if raw is None else int(raw)

    async def message_ids(self, outgoing_ids: Sequence[str]) -> dict[str, int]:
        if not outgoing_ids:
            return {}
        raw = await self.redis.mget([outbox_sent(o) for o in outgoing_ids])
        return {o: int(v) for o, v in zip(outgoing_ids, raw, strict=True) if v is not None}

    async def dead_letters(self, count: int = 100) -> list[tuple[OutboxMessage, str]]:
        """The oldest dead letters, with their reasons (for inspection and tests)."""
        out: list[tuple[OutboxMessage, str]] = []
        for _eid, fields in await self.redis.xrange(OUTBOX_DEAD, count=count):
            payload = _field(fields, "m")
            try:
                msg = OutboxMessage.from_json(payload or "")
            except ValidationError:
                continue
            out.append((msg, _field(fields, "reason") or ""))
        return out

    async def dead_entries(self, count: int = 100) -> list[tuple[str, dict[str, str]]]:
        """The oldest raw dead letters: (dead-letter id, {m, reason, at, entry})."""
        rows = await self.redis.xrange(OUTBOX_DEAD, count=count)
        return [(_text(eid), {_text(k): _text(v) for k, v in f.items()}) for eid, f in rows]

    async def replay_dead(self, dead_ids: Sequence[str] | None = None) -> int:
        """Send dead letters again (all, or those given): each goes back to its chat's
        partition and leaves the dead-letter stream in one MULTI. For after the cause was
        fixed (a Bot API outage, a bug); returns how many."""
        rows = await self.dead_entries(count=100_000)
        if dead_ids is not None:
            wanted = set(dead_ids)
            rows = [r for r in rows if r[0] in wanted]
        replayed = 0
        for dead_id, fields in rows:
            try:
                message = OutboxMessage.from_json(fields.get("m", ""))
            except ValidationError:
                continue  # not a message (it was dead-lettered as undecodable): keep it
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.xadd(self._stream_of(message), {"m": message.to_json()})
                pipe.xdel(OUTBOX_DEAD, dead_id)
                await pipe.execute()
            replayed += 1
        return replayed

    async def stats(self) -> dict[str, int]:
        """Counters (sent, dropped:<reason>, retried, dead, duplicates) and current sizes over
        every partition; ``stranded``: entries in partitions no sender owns (``delivery.senders``
        was lowered while they waited)."""
        parts = range(OUTBOX_MAX_PARTITIONS)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(OUTBOX_STATS)
            pipe.xlen(OUTBOX_DEAD)
            for p in parts:
                pipe.xlen(outbox_stream(p))
                pipe.xlen(outbox_stream(p, high=True))
                pipe.zcard(outbox_delayed(p))
            counters, dead, *sizes = await pipe.execute()
        out = {_text(k): int(v) for k, v in (counters or {}).items()}
        owned = self.settings.senders
        stream_len = [int(a) + int(b) for a, b in zip(sizes[0::3], sizes[1::3], strict=True)]
        delayed = sizes[2::3]
        out.update(
            backlog=sum(int(n) for n in stream_len[:owned]),
            delayed=sum(int(n) for n in delayed[:owned]),
            stranded=sum(int(n) for n in [*stream_len[owned:], *delayed[owned:]]),
            dead_letters=int(dead),
        )
        return out

    async def partition_stats(self) -> dict[str, int]:
        """This partition's backlog and delayed retries."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xlen(self.stream)
            pipe.xlen(self.high_stream)
            pipe.zcard(self.delayed)
            backlog, high, delayed = await pipe.execute()
        return {"backlog": int(backlog) + int(high), "delayed": int(delayed)}


def _field(fields: Mapping[Any, Any], name: str) -> str | None:
    for k, v in fields.items():
        if _text(k) == name:
            return _text(v)
    return None
