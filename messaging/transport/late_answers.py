"""A button's answer that Telegram refuses as too old is a no-op, not an error.

Telegram waits about 15 s for a callback query's answer (a slow handler or a backlog of updates
makes it later). Only the answer is lost: the spinner on the user's screen has stopped already,
and a retry would be refused alike. Handlers often answer first and then do their work (send
the Details card, record the step); raising there would skip that work. So the answer call
itself reports success, and the refusal is logged once at INFO.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod

log = logging.getLogger(__name__)


def is_late_callback_answer(exc: BaseException) -> bool:
    """Telegram refused a button's answer because the query is too old (or answered)."""
    return (
        isinstance(exc, TelegramBadRequest)
        and isinstance(exc.method, AnswerCallbackQuery)
        and "query is too old" in exc.message
    )


class LateAnswersAreNoOps(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if not is_late_callback_answer(exc):
                raise
            log.info("a callback answer came too late and was dropped: %s", exc.message)
            return Response[bool](ok=True, result=True)
