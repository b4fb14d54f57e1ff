"""Refused buttons: one audit record and one alert, the same for every handler.

A button is refused when its data was forged or mangled (a value no keyboard offers, an unknown
prefix), when it is stale, or when it would show what the user's plan does not include. Each
refusal is an ``audit.callback`` event with ``allowed=False`` and the reason, as the session
gate records buttons pressed without a session.
"""

from __future__ import annotations

from typing import Final

from aiogram.types import CallbackQuery

from core.events import EventName
from core.services import Services
from messaging.ui.callbacks import PREFIXES

FORGED: Final = "forged"  # a known prefix with a value its keyboards never offer
UNKNOWN: Final = "unknown"  # not our callback data at all
STALE: Final = "stale"  # a real button of a step or message that is no longer current
NOT_ENTITLED: Final = "not_entitled"  # an opportunity the user's plan does not include


def audit_callback(
    services: Services,
    query: CallbackQuery,
    session_id: str | None,
    *,
    allowed: bool,
    reason: str,
) -> None:
    services.emit(
        EventName.CALLBACK,
        user_id=query.from_user.id,
        session_id=session_id,
        data=(query.data or "")[:64],
        allowed=allowed,
        reason=reason,
    )


async def refuse(
    query: CallbackQuery, services: Services, session_id: str | None, reason: str, text: str
) -> None:
    """Audit the refusal and tell the presser in an alert (the client's spinner stops)."""
    audit_callback(services, query, session_id, allowed=False, reason=reason)
    await query.answer(text, show_alert=True)


def unparsable_reason(data: str | None) -> str:
    """Why data no handler took is refused: a known prefix means forged, else unknown."""
    prefix = (data or "").split(":", 1)[0]
    return FORGED if prefix in PREFIXES else UNKNOWN
