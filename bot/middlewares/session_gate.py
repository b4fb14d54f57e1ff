"""The session-first gate: without an active session only /start and /help answer.

An outer middleware on messages and callback queries, so it runs before any filter. In order:

1. Updates from no user or from a bot (but an anonymous group admin, who writes as the group),
   and commands addressed to another bot (``/price@other_bot``), are not ours: dropped
   unanswered and unrecorded.
2. In a group, plain chatter and unknown commands not addressed to us are dropped. Our commands,
   and any command addressed to us, get a short pointer to the private chat (with a t.me deep
   link), never the data: every command is personal (sessions, tiers, settings, figures), and
   /start in a group opens no session. Buttons pressed on a group message get an alert. Both
   are audited as refused (``group_chat``). The group commands (``GROUP_COMMANDS``: /start with a
   deep link naming the group, /group_settings for its admins) and the group buttons (the
   settings menu's, the alert card's) go on to bot/handlers/groups and group_buttons, with
   ``session`` None (a command) or the presser's active session (a button), recording nothing.
3. For an active session it records the activity (extending expiry) and injects `session`;
   otherwise it tells the user how to get one, records the refusal, and stops the update.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.handlers.groups.commands import GROUP_COMMANDS
from bot.handlers.refusals import audit_callback
from core.events import EventName
from core.services import Services
from messaging.i18n import _
from messaging.ui import templates
from messaging.ui.callbacks import GroupCardCB, GroupSettingsCB
from messaging.ui.commands import BY_NAME, OPEN_COMMANDS, command_name

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
log = logging.getLogger(__name__)

GROUP_CHAT = "group_chat"
# Buttons that work on group and channel messages: the settings menu's, the alert card's.
GROUP_PREFIXES = frozenset({GroupSettingsCB.__prefix__, GroupCardCB.__prefix__})


def command_mention(text: str | None) -> str | None:
    """The bot a command is addressed to (`/price@other_bot x` -> `other_bot`), or None."""
    if not text or not text.startswith("/"):
        return None
    _, at, mention = text.split(maxsplit=1)[0].partition("@")
    return mention if at else None


async def bot_username(bot: Bot | None) -> str | None:
    """Our username from getMe (aiogram caches it); None if Telegram can't be asked now."""
    if bot is None:
        return None
    try:
        me = await bot.me()
    except TelegramAPIError as exc:
        log.warning("getMe failed, so the bot's username is unknown: %s", exc)
        return None
    return me.username


def anonymous_admin(event: TelegramObject) -> bool:
    """A group admin writing anonymously: Telegram sends it as the group (sender_chat), from a
    stand-in bot (GroupAnonymousBot); only admins can, so group commands may pass."""
    return (
        isinstance(event, Message)
        and event.sender_chat is not None
        and event.sender_chat.id == event.chat.id
        and event.chat.type != ChatType.PRIVATE
    )


class SessionGate(BaseMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or (user.is_bot and not anonymous_admin(event)):
            return None  # channel posts and other bots' messages are not ours to answer
        services: Services = data["services"]
        bot: Bot | None = data.get("bot")
        is_callback = isinstance(event, CallbackQuery)
        # aiogram's Command filter reads the caption too, so the gate must see the same command.
        text = (event.text or event.caption) if isinstance(event, Message) else None
        command = command_name(text)
        mention = command_mention(text)
        ours = False
        if mention is not None:
            username = await bot_username(bot)
            if username is not None and mention.lower() != username.lower():
                return None  # addressed to another bot in the same chat
            ours = username is not None

        if isinstance(event, Message) and event.chat.type != ChatType.PRIVATE:
            if event.migrate_to_chat_id is not None:  # upgraded: the group's state moves
                data["session"] = None
                return await handler(event, data)
            if command in GROUP_COMMANDS:
                data["session"] = None  # a group's command opens and extends nothing
                _audit(services, user.id, None, command, True, "open", event)
                return await handler(event, data)
            if command is None or (command not in BY_NAME and not ours):
                return None  # group chatter, or another bot's command
            _audit(services, user.id, None, command, False, GROUP_CHAT, event)
            known = command if command in BY_NAME else None
            pointer = templates.private_pointer(known, await bot_username(bot))
            await event.answer(pointer)
            return None
        if (
            isinstance(event, CallbackQuery)
            and event.message is not None
            and event.message.chat.type != ChatType.PRIVATE
        ):
            if (event.data or "").split(":", 1)[0] in GROUP_PREFIXES:
                session = await services.sessions.current(user.id)
                active = session is not None and session.is_active(services.clock.now())
                data["session"] = session if active else None
                return await handler(event, data)
            audit_callback(services, event, None, allowed=False, reason=GROUP_CHAT)
            await event.answer(_(templates.PRIVATE_BUTTON), show_alert=True)
            return None

        now = services.clock.now()
        session = await services.sessions.current(user.id)
        if session is not None and session.is_active(now):
            session = services.sessions.record_activity(
                session, command=command is not None or is_callback
            )
            data["session"] = session
            if command is not None:
                _audit(services, user.id, session.session_id, command, True, "active", event)
            return await handler(event, data)

        # A payment (a renewal comes monthly, long after any session) is granted without one.
        if command in OPEN_COMMANDS or (isinstance(event, Message) and event.successful_payment):
            data["session"] = None
            _audit(services, user.id, None, command or "", True, "open", event)
            return await handler(event, data)

        reason = "no_session" if session is None else session.state.value
        sid = session.session_id if session else None
        refusal = templates.refusal(session, services.settings.session.ttl_seconds)
        if isinstance(event, CallbackQuery):
            audit_callback(services, event, sid, allowed=False, reason=reason)
            await event.answer(refusal, show_alert=True)
            return None
        if isinstance(event, Message):
            _audit(services, user.id, sid, command or "<text>", False, reason, event)
            await event.answer(refusal)
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
    services.emit(
        EventName.COMMAND,
        user_id=user_id,
        session_id=session_id,
        command=command[:64],
        allowed=allowed,
        reason=reason,
        chat_type=str(chat_type),
    )
