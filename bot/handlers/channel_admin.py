"""SuperAdmin commands for channels: /link_channel and /unlink_channel. Everyone else is
refused and audited.

``/link_channel @name|<chat id> [delay minutes]`` links a channel the bot is an administrator
of (asked of Telegram: getChat, then getChatMember of the bot itself, which must be allowed to
post): from then on the channel broadcaster (`messaging/outbox/channel_broadcast.py`) posts
public opportunities there, the delay after paying plans (default `groups.channel_delay_seconds`),
within the channel's own limits.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Final

from aiogram import Bot, Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import ChatMemberAdministrator, Message

from bot.handlers.admin import IsSuperAdmin
from core.events import EventName, Scalar
from core.groups.store import GroupError, GroupStore
from core.models import UserSession
from core.services import Services
from messaging.i18n import N_, _
from messaging.ui import templates

router: Final = Router(name=__name__)
log = logging.getLogger(__name__)

LINK_USAGE: Final = N_(
    "Usage: /link_channel @channel_or_id [delay in minutes, 0-1440]: the bot must be an "
    "administrator of the channel, allowed to post"
)
MAX_DELAY_MINUTES: Final = 1440.0


def _target(arg: str) -> int | str | None:
    if arg.startswith("@") and len(arg) > 1:
        return arg
    try:
        return int(arg)
    except ValueError:
        return None


def _audit(
    services: Services, session: UserSession, action: str, allowed: bool, **attrs: Scalar
) -> None:
    services.emit(
        EventName.CHANNEL_LINKED,
        {**attrs, "action": action, "allowed": allowed, "admin_id": session.user_id},
        user_id=session.user_id,
        session_id=session.session_id,
    )


@router.message(Command("link_channel", ignore_case=True), IsSuperAdmin())
async def link_channel(
    message: Message, command: CommandObject, services: Services, session: UserSession, bot: Bot
) -> None:
    args = (command.args or "").split()
    target = _target(args[0]) if args else None
    try:
        minutes = float(args[1]) if len(args) > 1 else None
    except ValueError:
        minutes = -1.0
    if target is None or len(args) > 2 or (minutes is not None and not 0 <= minutes <= 1440):
        await message.answer(_(LINK_USAGE))
        return
    try:
        chat = await bot.get_chat(target)
        me = await bot.me()
        member = await bot.get_chat_member(chat.id, me.id)
    except TelegramAPIError as exc:
        _audit(services, session, "link_failed", False, detail=exc.message[:64])
        await message.answer(
            _(
                "Telegram does not know that channel ({error}): check the name, and add the bot "
                "to the channel as an administrator first."
            ).format(error=escape(exc.message))
        )
        return
    can_post = isinstance(member, ChatMemberAdministrator) and bool(member.can_post_messages)
    if (
        chat.type != ChatType.CHANNEL
        or member.status != ChatMemberStatus.ADMINISTRATOR
        or not (can_post)
    ):
        _audit(services, session, "link_refused", False, chat_id=chat.id)
        await message.answer(
            _(
                "{title} is not a channel where the bot is an administrator allowed to post: "
                "make it one, then link again."
            ).format(title=escape(chat.title or str(chat.id)))
        )
        return
    delay = None if minutes is None else minutes * 60
    try:
        config = await GroupStore(services.redis).link_channel(
            chat.id, chat.title or "", session.user_id, services.clock.now(), delay_seconds=delay
        )
    except GroupError as exc:
        await message.answer(escape(str(exc)))
        return
    _audit(services, session, "linked", True, chat_id=chat.id, chat_kind="channel", delay_s=delay)
    g = services.settings.groups
    shown = g.channel_delay_seconds if config.delay_seconds is None else config.delay_seconds
    await message.answer(
        _(
            "✅ Linked {title}: public opportunities go there {minutes:g} min after paying plans, "
            "at most {per_minute}/min and {per_hour}/h."
        ).format(
            title=escape(config.title or str(chat.id)),
            minutes=shown / 60,
            per_minute=g.channel_per_minute,
            per_hour=g.channel_per_hour,
        )
    )


@router.message(Command("unlink_channel", ignore_case=True), IsSuperAdmin())
async def unlink_channel(
    message: Message, command: CommandObject, services: Services, session: UserSession, bot: Bot
) -> None:
    target = _target((command.args or "").strip())
    if target is None:
        await message.answer(_("Usage: /unlink_channel @channel_or_id"))
        return
    try:
        chat_id = target if isinstance(target, int) else (await bot.get_chat(target)).id
        await GroupStore(services.redis).unlink_channel(chat_id, services.clock.now())
    except (TelegramAPIError, GroupError) as exc:
        await message.answer(escape(str(exc)))
        return
    _audit(services, session, "unlinked", True, chat_id=chat_id, chat_kind="channel")
    await message.answer(_("✅ Unlinked: nothing more is posted there."))


@router.message(Command("link_channel", "unlink_channel", ignore_case=True))
async def refused(message: Message, services: Services, session: UserSession) -> None:
    command = (message.text or "").split(maxsplit=1)[0].lstrip("/")[:32]
    _audit(services, session, command, False)
    await message.answer(_(templates.ADMIN_ONLY))
