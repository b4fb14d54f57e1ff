"""Members' commands in a group: the restricted list the bot answers there (`GROUP_COMMANDS`).

/start points to the private chat with a deep link whose payload names the
group (counted by bot/handlers/start.py when the member taps it) and opens no session here.
/group_settings is bot/handlers/groups/settings.py. Every other command (/help too: it
lists what the member's own plan allows) is personal: the session gate answers it with a pointer
to the private chat.
"""

from __future__ import annotations

import logging
from typing import Final

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import Message, ReplyParameters

from bot.filters import GROUP_CHAT, PRIVATE_CHAT
from core.groups.deeplinks import start_url
from messaging.i18n import _
from messaging.ui import group_texts

router: Final = Router(name=__name__)

# What the bot answers in a group; the session gate lets these through without a session.
GROUP_COMMANDS: Final = frozenset({"start", "group_settings"})
log = logging.getLogger(__name__)


async def reply(message: Message, text: str) -> None:
    """Answer a member's message as a reply (in its topic); sent all the same if it is gone."""
    quote = ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)
    await message.answer(text, reply_parameters=quote)


async def my_username(bot: Bot) -> str | None:
    """The bot's username (getMe, cached by aiogram); None if Telegram can't be asked now."""
    try:
        me = await bot.me()
    except TelegramAPIError as exc:
        log.warning("getMe failed, so the bot's username is unknown: %s", exc)
        return None
    return me.username


async def group_link(bot: Bot, chat_id: int) -> str | None:
    """The deep link to the private chat whose /start payload names this group."""
    username = await my_username(bot)
    return None if username is None else start_url(username, "group", chat_id)


@router.message(Command("start", ignore_case=True), GROUP_CHAT)
async def start_in_group(message: Message, bot: Bot) -> None:
    await reply(message, group_texts.start_in_group(await group_link(bot, message.chat.id)))


@router.message(Command("group_settings", ignore_case=True), PRIVATE_CHAT)
async def group_settings_in_private(message: Message) -> None:
    """A session's user asking in private: the menu is the group's, so it opens there."""
    await message.answer(_(group_texts.SETTINGS_IN_PRIVATE))
