"""Long polling that never confirms an update it has not handled.

aiogram's `Dispatcher.start_polling` moves the getUpdates offset past every update it fetched,
whatever became of it, so an update that met a Redis outage was gone. Here the offset passes a
fetched batch only once each of its updates was handled (or failed with a bug, which a retry
would only repeat); a batch is handled one chat's updates in order, different chats at once.
During a store outage an update is held and tried again, waiting up to
`telegram.store_retry_after_seconds` between tries, until Redis is back; if the process stops
meanwhile the offset was never confirmed, so the next start receives the update again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update

from bot.middlewares.dedup import IN_FLIGHT
from core.errors import StoreUnavailableError
from core.settings import Settings
from core.tasks import Backoff

log = logging.getLogger(__name__)


class UpdatePoller:
    def __init__(self, dp: Dispatcher, bot: Bot, settings: Settings) -> None:
        self._dp = dp
        self._bot = bot
        tg = settings.telegram
        self._timeout = tg.polling_timeout_seconds
        self._hold = Backoff(
            first=min(settings.task_restart_first_seconds, tg.store_retry_after_seconds),
            maximum=float(tg.store_retry_after_seconds),
        )
        self._fetch_backoff = Backoff(
            first=settings.task_restart_first_seconds, maximum=settings.task_restart_max_seconds
        )
        self._stop = asyncio.Event()
        self.offset: int | None = None
        self.handled = 0
        self.held = 0  # attempts that met a store outage (or a copy in flight elsewhere)

    def stop(self) -> None:
        self._stop.set()

    async def run(self, **kwargs: Any) -> None:
        """Poll and handle until `stop()` (or cancellation); startup and shutdown handlers run
        as with aiogram's polling."""
        dp = self._dp
        workflow: dict[str, Any] = {
            "dispatcher": dp,
            "bots": [self._bot],
            **dp.workflow_data,
            **kwargs,
        }
        workflow.pop("bot", None)
        self._stop.clear()
        await dp.emit_startup(bot=self._bot, **workflow)
        try:
            while not self._stop.is_set():
                updates = await self._fetch()
                if not updates:
                    continue
                if not await self._handle_batch(updates, workflow):
                    return  # stopped while holding: not confirmed, so fetched again later
                self.offset = updates[-1].update_id + 1
        finally:
            await dp.emit_shutdown(bot=self._bot, **workflow)

    async def _fetch(self) -> list[Update]:
        delay = 0.0
        kwargs: dict[str, Any] = {}
        if self._bot.session.timeout:
            kwargs["request_timeout"] = int(self._bot.session.timeout + self._timeout)
        while not self._stop.is_set():
            try:
                return await self._bot(
                    GetUpdates(offset=self.offset, timeout=self._timeout), **kwargs
                )
            except Exception as exc:  # the Bot API is unreachable: keep trying
                delay = self._fetch_backoff.after(delay)
                log.warning("getUpdates failed (%s); retrying in %.1f s", exc, delay)
                await self._pause(delay)
        return []

    async def _handle_batch(self, updates: list[Update], workflow: dict[str, Any]) -> bool:
        """Handle a fetched batch: one chat's updates in order, different chats at once. True
        once every update was handled. Stopped part way, the batch stays unconfirmed; those
        already handled are then dropped on redelivery (their ids are marked done in Redis)."""
        lanes: dict[object, list[Update]] = {}
        for update in updates:
            lanes.setdefault(_lane(update), []).append(update)

        async def lane(queue: list[Update]) -> bool:
            for update in queue:
                if not await self._handle(update, workflow):
                    return False
            return True

        return all(await asyncio.gather(*(lane(q) for q in lanes.values())))

    async def _handle(self, update: Update, workflow: dict[str, Any]) -> bool:
        """Handle `update` until it is handled; False if stopped before that."""
        delay = 0.0
        while not self._stop.is_set():
            try:
                result = await self._dp.feed_update(self._bot, update, **workflow)
            except StoreUnavailableError as exc:
                self.held += 1
                delay = self._hold.after(delay)
                log.warning(
                    "update %s held until Redis answers (%s); next try in %.1f s",
                    update.update_id,
                    exc,
                    delay,
                )
                await self._pause(delay)
                continue
            except Exception:  # a bug, already past the error handler: a retry repeats it
                log.exception("update %s failed", update.update_id)
                return True
            if result is IN_FLIGHT:
                self.held += 1
                delay = self._hold.after(delay)
                await self._pause(delay)
                continue
            if isinstance(result, TelegramMethod):
                await self._dp.silent_call_request(bot=self._bot, result=result)
            self.handled += 1
            return True
        return False

    async def _pause(self, seconds: float) -> None:
        # A retry period, cut short by stop().
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)


def _lane(update: Update) -> object:
    """The chat an update belongs to (its order matters within it), else its sender."""
    for part in (
        update.message,
        update.edited_message,
        update.callback_query,
        update.my_chat_member,
        update.chat_member,
    ):
        if part is None:
            continue
        chat = getattr(part, "chat", None) or getattr(getattr(part, "message", None), "chat", None)
        if chat is not None:
            return chat.id
        sender = getattr(part, "from_user", None)
        if sender is not None:
            return ("user", sender.id)
    return ("update", update.update_id)


__all__ = ["UpdatePoller"]
