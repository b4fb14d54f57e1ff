"""Is this user an admin of this group? getChatMember, remembered for
`groups.admin_cache_seconds` so a menu's every press costs no API call."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramAPIError

from bot.handlers.groups.deps import GroupDeps

log = logging.getLogger(__name__)
ADMIN_STATUSES = frozenset({ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR})


async def is_chat_admin(bot: Bot, groups: GroupDeps, chat_id: int, user_id: int) -> bool | None:
    """True or False; None when Telegram could not be asked (the caller says try again)."""
    cached = await groups.admins.get(chat_id, user_id)
    if cached is not None:
        return cached
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramAPIError as exc:
        log.warning("getChatMember(%s, %s) failed: %s", chat_id, user_id, exc)
        return None
    is_admin = member.status in ADMIN_STATUSES
    await groups.admins.put(chat_id, user_id, is_admin)
    return is_admin
