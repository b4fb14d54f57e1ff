"""What happens when a handler fails.

A store fault (any Redis error that means "not now", including the raw redis-py errors of
aiogram's FSM storage) is re-raised as StoreUnavailableError: the webhook then answers 503 with
Retry-After and Telegram delivers the update again later; long polling holds the update and
handles it again once Redis is back (`bot.polling`). Only when updates are handled in the
background, where no redelivery can come, is the user told to try again. Any other error is a
bug that a retry would repeat: it is recorded, the user is told, and the update is acknowledged.
"""

from __future__ import annotations

import logging

from aiogram.types import ErrorEvent

from core.events import EventName
from core.services import Services
from core.settings import Settings
from core.store.client import as_store_error, is_store_fault
from messaging.i18n import _
from messaging.ui import templates

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, services: Services, settings: Settings) -> bool:
    exc = event.exception
    update = event.update
    user = None
    message = update.message or (update.callback_query.message if update.callback_query else None)
    if update.message and update.message.from_user:
        user = update.message.from_user.id
    elif update.callback_query:
        user = update.callback_query.from_user.id
    store_fault = is_store_fault(exc)
    services.emit(
        EventName.COMMAND,
        user_id=user,
        command="<error>",
        allowed=True,
        reason="store_unavailable" if store_fault else "error",
        error=f"{type(exc).__name__}: {exc}"[:500],
        update_id=update.update_id,
    )
    if store_fault:
        if not settings.telegram.handle_in_background:
            raise as_store_error(exc, f"handling update {update.update_id}")
        log.warning("update %s lost to a store fault: %s", update.update_id, exc)
        await _tell(message, _(templates.UNAVAILABLE), user)
        return True
    log.exception("update %s failed", update.update_id, exc_info=exc)
    await _tell(message, _(templates.TRY_AGAIN), user)
    return True


async def _tell(message: object, text: str, user: int | None) -> None:
    answer = getattr(message, "answer", None)
    if answer is None:
        return
    try:
        await answer(text)
    except Exception:  # the user is unreachable: the failure is already recorded
        log.warning("could not tell user %s about the failure", user)
