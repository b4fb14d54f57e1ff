"""/group_settings in a group, for its admins only (getChatMember, cached briefly): an inline
menu to turn alerts on or pause them and choose types, minimum profit, how often, quiet hours
and the forum topic; typed values after the command. Anyone else is told politely, and the
refusal is audited (`group.settings`, allowed=false)."""

from __future__ import annotations

from typing import Final

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Chat, InlineKeyboardMarkup, Message

from bot.filters import GROUP_CHAT
from bot.handlers.groups.admins import is_chat_admin
from bot.handlers.groups.commands import reply
from bot.handlers.groups.deps import GroupDeps
from bot.handlers.groups.values import parse_typed
from core.events import EventName
from core.groups.models import ChatKind, GroupConfig
from core.models import Tier
from core.services import Services
from messaging.i18n import _
from messaging.ui import group_texts
from messaging.ui.keyboards import group_settings as keyboards

router: Final = Router(name=__name__)


async def group_config(groups: GroupDeps, chat: Chat, now: float) -> GroupConfig:
    """The group's state; a group that writes to the bot has it, whatever the store missed."""
    config = await groups.store.get(chat.id)
    if config is None or not config.active:
        kind = ChatKind(chat.type)
        forum = bool(chat.is_forum)
        config = await groups.store.joined(chat.id, kind, chat.title or "", now, is_forum=forum)
    return config


async def group_plan(services: Services, config: GroupConfig) -> Tier:
    """A SuperAdmin's choice, else the plan of the admin who turned alerts on."""
    if config.tier_override is not None:
        return config.tier_override
    if config.enabled_by is None:
        return Tier.FREE
    return (await services.profiles.get(config.enabled_by)).tier


def audit(
    services: Services, user_id: int, chat: Chat, action: str, allowed: bool, answer: str = ""
) -> None:
    services.emit(
        EventName.GROUP_SETTINGS,
        user_id=user_id,
        chat_id=chat.id,
        chat_kind=str(chat.type),
        action=action,
        allowed=allowed,
        answer=answer,
    )


def topic_of(message: Message) -> int | None:
    """The forum topic a message is in (None: General, or no topics)."""
    return message.message_thread_id if message.is_topic_message else None


async def render_menu(
    services: Services, config: GroupConfig, thread_id: int | None, page: str = "main"
) -> tuple[str, InlineKeyboardMarkup]:
    allowed = services.settings.groups.group_types
    text = group_texts.menu(config, await group_plan(services, config), allowed)
    if page == "types":
        return text, keyboards.types(config, allowed)
    if page == "profit":
        return text, keyboards.profit(config)
    if page == "digest":
        return text, keyboards.digest(config)
    if page == "quiet":
        return text, keyboards.quiet(config)
    return text, keyboards.main(config, thread_id)


@router.message(Command("group_settings", ignore_case=True), GROUP_CHAT)
async def group_settings(
    message: Message, command: CommandObject, bot: Bot, services: Services, groups: GroupDeps
) -> None:
    user = message.from_user
    if user is None:
        return
    anonymous = message.sender_chat is not None and message.sender_chat.id == message.chat.id
    admin = True if anonymous else await is_chat_admin(bot, groups, message.chat.id, user.id)
    if admin is None:
        await reply(message, _(group_texts.CANT_CHECK))
        return
    if not admin:
        audit(services, user.id, message.chat, "open", False, "not_admin")
        await reply(message, _(group_texts.NOT_ADMIN))
        return
    now = services.clock.now()
    config = await group_config(groups, message.chat, now)
    args = (command.args or "").strip()
    if args:
        typed = parse_typed(args)
        if typed.changes is None:
            audit(services, user.id, message.chat, f"typed_{typed.name}", True, "bad_value")
            await reply(message, typed.error)
            return
        config = await groups.store.update(message.chat.id, now, **typed.changes)
        audit(services, user.id, message.chat, f"set_{typed.name}", True)
    else:
        audit(services, user.id, message.chat, "open", True)
    text, markup = await render_menu(services, config, topic_of(message))
    await message.answer(text, reply_markup=markup)
