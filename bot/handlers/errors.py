"""What happens when a handler fails.

A Redis outage is re-raised: the webhook then answers 5xx and Telegram delivers the update again
later, so it is not lost. Any other error is a bug that a retry would repeat: it is recorded,
the user is told, and the update is acknowledged.
"""

from __future__ import annotations

import logging

from aiogram.types import ErrorEvent

from core.errors import StoreUnavailableError
from core.events import Event, EventName
from core.services import Services
from messaging import templates

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, services: Services) -> bool:
    exc = event.exception
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
