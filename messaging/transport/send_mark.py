"""Marking an outbox message as *being sent* at the last moment before its HTTP request.

The outbox counts a resend as a duplicate when it finds the message's sending mark left by an
earlier attempt (a sender that died between sending and acknowledging). So the mark must be set
after everything that can wait (the chat's pacing, the global rate limiter's slot) and right
before the request: a sender killed while it waits for its turn has sent nothing and must not
be counted. `MarkBeforeSending` is a request middleware installed inside the `FloodControl`; the
delivery worker puts the marking step for the message in hand in `BEFORE_SEND`, and it runs once,
even when a 429 makes the request go again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

BeforeSend = Callable[[], Awaitable[None]]
BEFORE_SEND: ContextVar[BeforeSend | None] = ContextVar("arbcast_before_send", default=None)


class MarkBeforeSending(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        step = BEFORE_SEND.get()
        if step is not None:
            BEFORE_SEND.set(None)  # once per message, not once per attempt
            await step()
        return await make_request(bot, method)


def install(bot: Bot) -> None:
    """Add the middleware to `bot` (innermost so far: it runs after the pacing)."""
    if not any(isinstance(m, MarkBeforeSending) for m in bot.session.middleware._middlewares):
        bot.session.middleware(MarkBeforeSending())
