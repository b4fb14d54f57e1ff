"""The Telegram send wrapper every process uses: pacing, and waiting out a 429.

Installed as an aiogram request middleware on a Bot's session, so that the bot's replies and the
push senders share one behaviour: sends that count against Telegram's flood limits are paced by
a `Pacer`, and a 429 that still comes back is waited out (`retry_after`) and retried a bounded
number of times before the error reaches the caller.

With `tokens` (a `LeasedTokens` of the GlobalRateLimiter) the bot-wide limit is the whole
system's, shared with every other sending process; the `Pacer` then keeps only the per-chat
limits. A 429 is reported to the limiter: as global when this process sent nothing to that chat
within the last second (a group: the last minute, `Pacer.busy`; Telegram does not say which
limit was hit, so a 429 on a chat we have not been sending to must be the bot-wide one), which
pauses every sender.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods.base import TelegramType

from messaging.transport.leases import LeasedTokens, Scope
from messaging.transport.pacing import Pacer

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

log = logging.getLogger(__name__)

# Methods that Telegram counts against flood limits.
PACED_METHODS = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "sendPhoto",
        "sendDocument",
        "copyMessage",
        "forwardMessage",
    }
)


class FloodControl(BaseRequestMiddleware):
    def __init__(
        self, pacer: Pacer, *, max_retries: int = 3, tokens: LeasedTokens | None = None
    ) -> None:
        self.pacer = pacer
        self.tokens = tokens
        self.max_retries = max_retries
        self.waited_seconds = 0.0
        self.retries_after_429 = 0

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        paced = method.__api_method__ in PACED_METHODS
        chat_id: Any = getattr(method, "chat_id", None)
        for attempt in range(self.max_retries + 1):
            if paced:
                wait = self.pacer.reserve(chat_id, bot_wide=self.tokens is None)
                if wait > 0:
                    self.waited_seconds += wait
                    await asyncio.sleep(wait)  # our own pacing: the reserved slot comes then
                if self.tokens is not None:
                    await self.tokens.acquire()
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if self.tokens is not None:
                    chat = chat_id if isinstance(chat_id, int) else None
                    scope: Scope = (
                        "chat" if chat is not None and self.pacer.busy(chat) else "global"
                    )
                    await self.tokens.report_429(float(exc.retry_after), scope, chat)
                if attempt == self.max_retries:
                    raise
                self.retries_after_429 += 1
                log.warning(
                    "429 on %s to %s: waiting %s s", method.__api_method__, chat_id, exc.retry_after
                )
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")
