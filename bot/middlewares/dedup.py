"""Each update is handled once, across processes and restarts.

Telegram delivers an update again when it got no 2xx for it (webhook) or when the offset was not
confirmed (polling); a deployment may also receive copies concurrently. Before handling, the
update id is claimed in Redis with SET NX (``pending``, `telegram.update_claim_seconds`); once
handled it is marked ``done`` for `telegram.update_dedup_seconds`. A copy that finds ``done`` is
dropped. A copy that finds ``pending`` is another process's (or task's) work in progress: it is
answered `IN_FLIGHT`, which the webhook turns into 503 and polling into a retry, so the update is
not lost if that other handler dies. When handling fails the claim is deleted, so the
redelivery is handled.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update

from core.services import Services
from core.store import keys
from core.store.client import store_errors

log = logging.getLogger(__name__)

PENDING: Final = "pending"
DONE: Final = "done"


class InFlight:
    """The result of a copy of an update that another handler is still working on."""

    def __repr__(self) -> str:
        return "IN_FLIGHT"


IN_FLIGHT: Final = InFlight()


class DropRepeatedUpdates(BaseMiddleware):
    def __init__(self) -> None:
        self.dropped = 0
        self.in_flight = 0

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        services: Services = data["services"]
        bot: Bot = data["bot"]
        tg = services.settings.telegram
        key = keys.update_claim(bot.id, event.update_id)
        redis = services.redis
        claim_ms = int(tg.update_claim_seconds * 1000)
        async with store_errors("claiming an update"):
            claimed = await redis.set(key, PENDING, nx=True, px=claim_ms)
            seen = None if claimed else await redis.get(key)
            if not claimed and seen is None:
                # Released between the two calls (its handler failed): ours after all, if
                # no other copy took it meanwhile.
                claimed = await redis.set(key, PENDING, nx=True, px=claim_ms)
                seen = None if claimed else PENDING
        if not claimed:
            if seen == DONE:
                self.dropped += 1
                return None
            self.in_flight += 1
            return IN_FLIGHT
        try:
            result = await handler(event, data)
        except BaseException:
            # Not remembered: a redelivery must be handled. If Redis is down this fails too,
            # and the claim lapses after update_claim_seconds.
            with contextlib.suppress(Exception):
                await redis.delete(key)
            raise
        try:
            async with store_errors("marking an update handled"):
                await redis.set(key, DONE, px=int(tg.update_dedup_seconds * 1000))
        except Exception as exc:  # handled already: a lapsed claim risks a repeat, not a loss
            log.warning("update %s handled but not marked done: %s", event.update_id, exc)
        return result
