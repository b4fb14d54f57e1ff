"""The session-first gate: without an active session only /start and /help answer.

An outer middleware on messages and callback queries, so it runs before any filter. For an
active session it records the activity (extending expiry) and injects `session`; otherwise it
tells the user how to get one, records the refusal in the audit trail, and stops the update.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from core.events import Event, EventName
from core.services import Services
from messaging import templates
from messaging.commands import OPEN_COMMANDS, command_name

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class SessionGate(BaseMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return None  # channel posts and other bots' messages are not ours to answer
        services: Services = data["services"]
        now = services.clock.now()
        is_callback = isinstance(event, CallbackQuery)
        command = command_name(event.text) if isinstance(event, Message) else None
        session = await services.sessions.current(user.id)

        if session is not None and session.is_active(now):
            session = services.sessions.record_activity(
                session, command=command is not None or is_callback
            )
            data["session"] = session
            if command is not None:
                _audit(services, user.id, session.session_id, command, True, "active", event)
            return await handler(event, data)

        if command in OPEN_COMMANDS:
            data["session"] = None
            _audit(services, user.id, None, command or "", True, "open", event)
            return await handler(event, data)

        reason = "no_session" if session is None else session.state.value
        sid = session.session_id if session else None
        text = templates.refusal(session, services.settings.session.ttl_seconds)
        if isinstance(event, CallbackQuery):
            services.events.emit(
                Event(
                    name=EventName.CALLBACK,
                    ts=now,
                    user_id=user.id,
                    session_id=sid,
                    attrs={"data": (event.data or "")[:64], "allowed": False, "reason": reason},
                )
            )
            await event.answer(text, show_alert=True)
            return None
        if isinstance(event, Message):
            private = event.chat.type == ChatType.PRIVATE
            if command is None and not private:
                return None  # group chatter is not addressed to us
            _audit(services, user.id, sid, command or "<text>", False, reason, event)
            await event.answer(text)
        return None


def _audit(
    services: Services,
    user_id: int,
    session_id: str | None,
    command: str,
    allowed: bool,
    reason: str,
    event: TelegramObject,
) -> None:
    chat_type = event.chat.type if isinstance(event, Message) else "callback"
    services.events.emit(
        Event(
            name=EventName.COMMAND,
            ts=services.clock.now(),
            user_id=user_id,
            session_id=session_id,
            attrs={
                "command": command[:64],
                "allowed": allowed,
                "reason": reason,
                "chat_type": str(chat_type),
            },
        )
    )
