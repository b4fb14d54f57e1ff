"""What happens when a handler fails.

A Redis outage is re-raised: the webhook then answers 5xx and Telegram delivers the update again
later, so it is not lost. Any other error is a bug that a retry would repeat: it is recorded,
the user is told, and the update is acknowledged.
"""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import ErrorEvent

from core.errors import StoreUnavailableError
from core.events import Event, EventName
from core.services import Services
from messaging import templates

log = logging.getLogger(__name__)


def is_late_callback_answer(exc: BaseException) -> bool:
    """Telegram refused a button's answer: the query is too old (answered after the ~15 s clients
    wait, by a slow handler or from a backlog) or was answered already. Only the answer is lost,
    the spinner on the user's screen has already stopped, and a retry would be refused alike:
    no bug to record and nothing to tell the user. What the handler did before it stays done."""
    return (
        isinstance(exc, TelegramBadRequest)
        and isinstance(exc.method, AnswerCallbackQuery)
        and "query is too old" in exc.message
    )


async def on_error(event: ErrorEvent, services: Services) -> bool:
    exc = event.exception
    if is_late_callback_answer(exc):
        log.info("update %s: its callback answer came too late: %s", event.update.update_id, exc)
        return True
    update = event.update
    user = None
    message = update.message or (update.callback_query.message if update.callback_query else None)
    if update.message and update.message.from_user:
        user = update.message.from_user.id
    elif update.callback_query:
        user = update.callback_query.from_user.id
    services.events.emit(
        Event(
            name=EventName.COMMAND,
            ts=services.clock.now(),
            user_id=user,
            attrs={
                "command": "<error>",
                "allowed": True,
                "reason": "error",
                "error": f"{type(exc).__name__}: {exc}"[:500],
                "update_id": update.update_id,
            },
        )
    )
    if isinstance(exc, StoreUnavailableError):
        raise exc
    log.exception("update %s failed", update.update_id, exc_info=exc)
    if message is not None and hasattr(message, "answer"):
        try:
            await message.answer(templates.TRY_AGAIN)
        except Exception:  # the user is unreachable: the failure is already recorded
            log.warning("could not tell user %s about the failure", user)
    return True
