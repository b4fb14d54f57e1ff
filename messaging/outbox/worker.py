"""The push sender: takes messages from the durable outbox and sends them with the aiogram Bot.

`DeliveryWorker` claims entries from the `Outbox` and sends them concurrently across chats but in
order within a chat: each chat with work has one *lane* (a task draining that chat's entries in
claim order); at most ``max_concurrent_chats`` lanes send at once, and a worker holds at most
``max_in_flight`` entries. The Bot's session paces every send
(`messaging.transport.flood_control.FloodControl`) and waits out the 429s it can; what still
fails is decided here:

Outcomes (each one an event):

* accepted: ``ack`` (the entry leaves Redis, outgoing_id -> message_id is recorded);
  ``distribution.sent`` with ``latency_ms`` from ``created_at``.
* a 429 that FloodControl gave up on: ``retry_later(retry_after)``, the attempt not counted;
  ``distribution.retried`` reason ``flood``.
* 5xx, network and unknown errors: ``retry_later`` with exponential backoff and equal jitter,
  the attempt counted; after ``max_attempts`` ``dead_letter``; ``distribution.retried`` then
  ``distribution.failed``.
* 403 (blocked, deactivated) in a private chat: ``drop``, the user's session is ended (the
  callback, reason ``blocked``), and messages to that chat created before the block are dropped
  unsent; ``distribution.dropped`` reason ``blocked``. 400 "chat not found": likewise, reason
  ``chat_not_found``. 403 in a group (bot kicked): ``drop``, reason ``kicked``, no session ends.
* edits: "message is not modified" counts as sent; a message gone or not editable is dropped
  (reason ``edit_target_gone``).
* other 400s, entity too large, a malformed message: ``dead_letter``; ``distribution.failed``.
* a group migrated to a supergroup: re-queued at once for the new chat id; ``retried``.

When a message of a chat is put off (``retry_later``), the messages queued behind it in that
chat's lane are put off with it, a millisecond apart, so the chat's order survives the retry.

A worker cancelled mid-flight loses nothing: its entries stay pending in the consumer group, and
once idle for ``reclaim_idle_ms`` another worker claims them (live workers touch theirs). An
entry whose sending mark was set is resent and counted as a duplicate
(see `messaging.outbox.store`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup, Message

from core.clock import Clock
from core.distribution.settings import DeliverySettings
from core.events import Emitter, EventLog, EventName, Scalar
from core.models import SessionState
from core.opportunity_store import OpportunityStore
from messaging.outbox.coalesce import Coalescer
from messaging.outbox.message import OutboxEntry, OutboxMessage
from messaging.outbox.store import Outbox
from messaging.transport import send_mark
from messaging.transport.send_mark import BEFORE_SEND

if TYPE_CHECKING:
    from core.sessions.service import SessionService

log = logging.getLogger(__name__)

SessionsEndCallback = Callable[[int, str], Awaitable[object]]


_MAX_BLOCKED_CHATS = 100_000


def end_session_callback(sessions: SessionService) -> SessionsEndCallback:
    """The callback that ends a user's session when Telegram says they blocked the bot."""

    async def end(user_id: int, reason: str) -> object:
        return await sessions.end(user_id, SessionState.TERMINATED, reason)

    return end


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class _Putoff:
    """A lane's messages are being put off until ``delay`` seconds from when it was decided."""

    delay: float
    count: int = 0


class DeliveryWorker:
    def __init__(
        self,
        outbox: Outbox,
        bot: Bot,
        events: EventLog,
        sessions_end_callback: SessionsEndCallback,
        clock: Clock,
        settings: DeliverySettings | None = None,
        *,
        consumer: str | None = None,
        rng: random.Random | None = None,
        opportunities: OpportunityStore | None = None,
    ) -> None:
        """`opportunities`: when given, a message all of whose opportunities closed or expired
        while it waited is not sent (dropped as ``stale``)."""
        self.outbox = outbox
        self.bot = bot
        self.events = events
        self._emitter = Emitter(events, clock)
        self.end_session = sessions_end_callback
        self.clock = clock
        self.settings = settings or outbox.settings
        self.consumer = consumer or default_consumer_name()
        self.opportunities = opportunities
        self._rng = rng or random.Random()
        self._held: dict[str, OutboxEntry] = {}
        self._lanes: dict[int, deque[OutboxEntry]] = {}
        self._lane_tasks: dict[int, asyncio.Task[None]] = {}
        self._chats = asyncio.Semaphore(self.settings.max_concurrent_chats)
        self._room = asyncio.Event()
        # chat id -> created_at cutoff: messages made before the chat blocked us are not sent
        self._blocked: OrderedDict[int, float] = OrderedDict()
        # Marks and acks of the lanes sending at once share round trips
        # (see messaging.outbox.coalesce).
        self._marks: Coalescer[OutboxEntry, bool] = Coalescer(
            lambda entries: outbox.mark_sending_many(entries, self.consumer)
        )
        self._acks: Coalescer[tuple[OutboxEntry, int], bool] = Coalescer(outbox.ack_many)
        send_mark.install(bot)

    # -- driving --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and deliver until `stop` is set, then finish what is held.

        Cancelling the task instead abandons what is held: it stays pending in Redis.
        """
        heartbeat = asyncio.create_task(self._heartbeat(), name=f"outbox-touch-{self.consumer}")
        try:
            while not stop.is_set():
                room = self.settings.max_in_flight - len(self._held)
                if room <= 0:
                    await self._wait_for_room(stop)
                    continue
                try:
                    entries = await self.outbox.claim(
                        self.consumer,
                        min(room, self.settings.batch_size),
                        self.settings.block_ms,
                    )
                    entries = await self._drop_stale(entries)
                except Exception:
                    log.exception("claiming from the outbox failed; retrying shortly")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 1.0)
                    continue
                self._dispatch(entries)
            await self._join_lanes()
        finally:
            heartbeat.cancel()
            await self._cancel_lanes()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def drain(self) -> int:
        """Deliver everything claimable now, then return how many entries were handled.

        For tests and tools: never waits for new entries, and delayed retries come back only
        once the clock reaches them.
        """
        handled = 0
        while True:
            entries = await self.outbox.claim(self.consumer, self.settings.batch_size, None)
            claimed = len(entries)
            entries = await self._drop_stale(entries)
            self._dispatch(entries)
            handled += claimed
            if self._lane_tasks:
                await self._join_lanes()
            elif not claimed:
                return handled

    @property
    def held(self) -> int:
        """Entries this worker has claimed and not finished."""
        return len(self._held)

    async def _wait_for_room(self, stop: asyncio.Event) -> None:
        self._room.clear()
        if self.settings.max_in_flight - len(self._held) > 0:
            return
        room = asyncio.create_task(self._room.wait())
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({room, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            room.cancel()
            stopped.cancel()

    async def _heartbeat(self) -> None:
        if self.settings.reclaim_idle_ms <= 0:
            return
        interval = self.settings.reclaim_idle_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                await self.outbox.touch(self.consumer, list(self._held.values()))
            except Exception:
                log.warning("touching held outbox entries failed", exc_info=True)

    async def _drop_stale(self, entries: list[OutboxEntry]) -> list[OutboxEntry]:
        """The entries still worth sending: a message whose opportunities all closed or expired
        while it waited (a backlog) would only mislead; it is dropped, with an event. One read
        for the whole batch."""
        if self.opportunities is None:
            return entries
        ids = sorted(
            {i for e in entries if e.message.kind == "send" for i in e.message.opportunity_ids}
        )
        if not ids:
            return entries
        found = await self.opportunities.get_many(ids)
        now = self.clock.now()
        fresh: list[OutboxEntry] = []
        for e in entries:
            m = e.message
            live = [
                o
                for i in m.opportunity_ids
                if (o := found.get(i)) is not None and not o.closed and o.expires_at > now
            ]
            if m.kind == "send" and m.opportunity_ids and not live:
                await self.outbox.drop(e, "stale")
                self._emit(EventName.DROPPED, m, reason="stale", sent=False)
            else:
                fresh.append(e)
        return fresh

    def _dispatch(self, entries: list[OutboxEntry]) -> None:
        for entry in entries:
            if entry.entry_id in self._held:
                continue  # reclaimed our own entry: it is already in a lane
            self._held[entry.entry_id] = entry
            chat = entry.message.chat_id
            lane = self._lanes.get(chat)
            if lane is None:
                lane = self._lanes[chat] = deque()
            lane.append(entry)
            if chat not in self._lane_tasks:
                self._lane_tasks[chat] = asyncio.create_task(self._lane(chat), name=f"lane-{chat}")

    async def _join_lanes(self) -> None:
        while self._lane_tasks:
            await asyncio.gather(*list(self._lane_tasks.values()), return_exceptions=True)

    async def _cancel_lanes(self) -> None:
        tasks = list(self._lane_tasks.values())
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._lane_tasks.clear()
        self._lanes.clear()
        self._held.clear()
        await self._marks.close()
        await self._acks.close()

    async def _lane(self, chat: int) -> None:
        lane = self._lanes[chat]
        putoff: _Putoff | None = None
        try:
            async with self._chats:
                while lane:
                    entry = lane[0]
                    try:
                        if putoff is not None:
                            putoff.count += 1
                            await self._put_off(entry, putoff)
                        else:
                            delay = await self._deliver(entry)
                            if delay is not None:
                                putoff = _Putoff(delay)
                    except Exception:
                        # Redis failed us: the entry stays pending and is reclaimed once idle.
                        log.exception("delivering outbox entry %s failed", entry.entry_id)
                    finally:
                        lane.popleft()
                        self._held.pop(entry.entry_id, None)
                        self._room.set()
        finally:
            if self._lane_tasks.get(chat) is asyncio.current_task():
                del self._lane_tasks[chat]
                self._lanes.pop(chat, None)

    # -- one message ----------------------------------------------------------------------------

    async def _deliver(self, entry: OutboxEntry) -> float | None:
        """Send one entry and record the outcome; returns the delay when it was put off."""
        m = entry.message
        cutoff = self._blocked.get(m.chat_id)
        if cutoff is not None and m.created_at <= cutoff:
            await self.outbox.drop(entry, "blocked")
            self._emit(EventName.DROPPED, m, reason="blocked", sent=False)
            return None
        try:
            markup = (
                InlineKeyboardMarkup.model_validate_json(m.reply_markup) if m.reply_markup else None
            )
            if m.kind == "edit" and m.message_id is None:
                raise ValueError("an edit without a message_id")
        except ValueError as exc:  # pydantic's ValidationError is one
            await self._fail(entry, f"malformed: {exc}")
            return None
        marked: list[bool] = []

        async def mark() -> None:
            marked.append(await self._marks(entry))

        step = BEFORE_SEND.set(mark)
        try:
            message_id = await self._send(m, markup)
        except TelegramMigrateToChat as exc:
            moved = m.model_copy(update={"chat_id": exc.migrate_to_chat_id})
            await self.outbox.retry_later(entry, 0.0, message=moved)
            self._emit(EventName.RETRIED, m, reason="migrated", attempt=m.attempt, delay_s=0.0)
            return None
        except TelegramRetryAfter as exc:
            delay = float(exc.retry_after)
            await self.outbox.retry_later(entry, delay)
            self._emit(EventName.RETRIED, m, reason="flood", attempt=m.attempt, delay_s=delay)
            return delay
        except TelegramForbiddenError as exc:
            return await self._gone(entry, "blocked" if m.chat_id > 0 else "kicked", exc)
        except TelegramBadRequest as exc:
            return await self._bad_request(entry, exc)
        except TelegramEntityTooLarge as exc:
            await self._fail(entry, f"too_large: {exc.message}")
            return None
        except (TelegramServerError, TelegramNetworkError) as exc:
            kind = "server_error" if isinstance(exc, TelegramServerError) else "network_error"
            return await self._transient(entry, kind, exc)
        except TelegramAPIError as exc:  # 401, 404, 409: a configuration problem, maybe passing
            return await self._transient(entry, "api_error", exc)
        except Exception as exc:  # anything else from the HTTP stack: treated as transient
            return await self._transient(entry, "error", exc)
        finally:
            BEFORE_SEND.reset(step)
        duplicate = bool(marked and marked[0])
        if not await self._acks((entry, message_id)):
            log.warning("outbox entry %s was acknowledged by another sender", entry.entry_id)
        now = self.clock.now()
        since_detection: dict[str, Scalar] = {}
        if m.detected_at is not None:
            since_detection["detection_latency_ms"] = round((now - m.detected_at) * 1000, 1)
        self._emit(
            EventName.SENT,
            m,
            latency_ms=round((now - m.created_at) * 1000, 1),  # from the queue's release
            attempt=m.attempt,
            message_id=message_id,
            duplicate=duplicate,
            **since_detection,
        )
        return None

    async def _send(self, m: OutboxMessage, markup: InlineKeyboardMarkup | None) -> int:
        if m.kind == "edit" and m.message_id is not None:
            try:
                await self.bot.edit_message_text(
                    text=m.text,
                    chat_id=m.chat_id,
                    message_id=m.message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            except TelegramBadRequest as exc:
                if "message is not modified" not in exc.message:
                    raise
            return m.message_id
        sent: Message = await self.bot.send_message(
            chat_id=m.chat_id,
            message_thread_id=m.thread_id,
            text=m.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            allow_paid_broadcast=True if self.settings.paid_broadcast else None,
        )
        return sent.message_id

    async def _bad_request(self, entry: OutboxEntry, exc: TelegramBadRequest) -> float | None:
        text = exc.message.lower()
        if "chat not found" in text:
            return await self._gone(entry, "chat_not_found", exc)
        m = entry.message
        topic_gone = "message thread not found" in text or "topic_closed" in text
        if m.thread_id is not None and topic_gone:
            # The group's forum topic was closed or deleted: the alert goes to General instead.
            moved = m.model_copy(update={"thread_id": None})
            await self.outbox.retry_later(entry, 0.0, message=moved)
            self._emit(EventName.RETRIED, m, reason="topic_gone", attempt=m.attempt, delay_s=0.0)
            return None
        if entry.message.kind == "edit" and (
            "message to edit not found" in text or "message can't be edited" in text
        ):
            await self.outbox.drop(entry, "edit_target_gone")
            self._emit(
                EventName.DROPPED, entry.message, reason="edit_target_gone", detail=exc.message
            )
            return None
        await self._fail(entry, f"bad_request: {exc.message}")
        return None

    async def _gone(self, entry: OutboxEntry, reason: str, exc: TelegramAPIError) -> float | None:
        """The chat cannot receive messages: drop this and older ones; end a private user's
        session."""
        m = entry.message
        await self.outbox.drop(entry, reason)
        self._blocked[m.chat_id] = max(self._blocked.get(m.chat_id, 0.0), m.created_at)
        self._blocked.move_to_end(m.chat_id)
        if len(self._blocked) > _MAX_BLOCKED_CHATS:
            self._blocked.popitem(last=False)
        self._emit(EventName.DROPPED, m, reason=reason, detail=exc.message, sent=False)
        if m.chat_id > 0:
            try:
                await self.end_session(m.user_id, reason)
            except Exception:
                log.exception("ending the session of user %s (%s) failed", m.user_id, reason)
        return None

    async def _transient(self, entry: OutboxEntry, kind: str, exc: Exception) -> float | None:
        m = entry.message
        attempt = m.attempt + 1
        detail = getattr(exc, "message", None) or repr(exc)
        if attempt >= self.settings.max_attempts:
            await self._fail(entry, f"{kind}: {detail}", attempt=attempt)
            return None
        delay = self.backoff(attempt)
        await self.outbox.retry_later(
            entry, delay, message=m.model_copy(update={"attempt": attempt})
        )
        self._emit(
            EventName.RETRIED,
            m,
            reason=kind,
            attempt=attempt,
            delay_s=round(delay, 3),
            detail=detail,
        )
        return delay

    async def _fail(self, entry: OutboxEntry, reason: str, *, attempt: int | None = None) -> None:
        m = entry.message
        await self.outbox.dead_letter(entry, reason)
        self._emit(
            EventName.FAILED, m, reason=reason, attempt=m.attempt if attempt is None else attempt
        )

    async def _put_off(self, entry: OutboxEntry, putoff: _Putoff) -> None:
        """Keep a chat's order: a message behind one that is retried later goes after it."""
        delay = putoff.delay + putoff.count * 0.001
        await self.outbox.retry_later(entry, delay)
        self._emit(
            EventName.RETRIED,
            entry.message,
            reason="held_behind",
            attempt=entry.message.attempt,
            delay_s=delay,
        )

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half the step fixed, half random."""
        s = self.settings
        step = min(s.backoff_max_seconds, s.backoff_base_seconds * 2.0 ** (attempt - 1))
        return float(step / 2 + self._rng.uniform(0, step / 2))

    def _emit(self, name: str, m: OutboxMessage, **attrs: Scalar) -> None:
        base: dict[str, Any] = {
            "outgoing_id": m.outgoing_id,
            "kind": m.kind,
            "chat_id": m.chat_id,
            "priority": m.priority,
            "items": len(m.opportunity_ids),
        }
        if m.opportunity_ids:
            base["channel"] = "push"  # on demand is distribution.shown's
            base["opportunity_id"] = m.opportunity_ids[0]
            base["opportunity_ids"] = ",".join(m.opportunity_ids)
        if m.tier:
            base["tier"] = m.tier
        if m.opportunity_type:
            base["type"] = m.opportunity_type
        if m.chat_kind:
            base["chat_kind"] = m.chat_kind
        base.update(attrs)
        self._emitter(name, base, user_id=m.user_id)
