"""The bot added to, re-added to or removed from a group, supergroup or channel
(`my_chat_member`): the group's state is created, re-activated or kept inactive in the groups
store, and a group is told once, briefly, what the bot does and who turns alerts on."""

from __future__ import annotations

import logging
from typing import Final

from aiogram import Bot, Router
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ChatMemberUpdated

from bot.filters import NOT_PRIVATE_CHAT
from bot.handlers.groups.commands import my_username
from bot.handlers.groups.deps import GroupDeps
from core.events import EventName
from core.groups.models import ChatKind
from core.services import Services
from messaging.i18n import _
from messaging.ui import group_texts

router: Final = Router(name=__name__)
log = logging.getLogger(__name__)

PRESENT: Final = frozenset(
    {ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
)


def _present(update: ChatMemberUpdated, new: bool) -> bool:
    member = update.new_chat_member if new else update.old_chat_member
    if member.status == ChatMemberStatus.RESTRICTED:
        return bool(getattr(member, "is_member", False))
    return member.status in PRESENT


def _emit(
    services: Services, name: str, event: ChatMemberUpdated, kind: ChatKind, action: str
) -> None:
    # The group's event, not the admin's activity: who acted is admin_id.
    services.emit(
        name,
        chat_id=event.chat.id,
        chat_kind=kind.value,
        admin_id=event.from_user.id,
        action=action,
    )


@router.my_chat_member(NOT_PRIVATE_CHAT)
async def bot_membership(
    event: ChatMemberUpdated, bot: Bot, services: Services, groups: GroupDeps
) -> None:
    chat = event.chat
    kind = ChatKind(chat.type)
    now = services.clock.now()
    was, now_in = _present(event, new=False), _present(event, new=True)
    if now_in and not was:
        before = await groups.store.get(chat.id)
        config = await groups.store.joined(
            chat.id, kind, chat.title or "", now, is_forum=bool(chat.is_forum)
        )
        action = "added" if before is None else "readded"
        _emit(services, EventName.GROUP_JOINED, event, kind, action)
        if kind.is_channel:
            return  # a channel gets only what a SuperAdmin links it for
        if config.enabled:
            text = _(group_texts.READDED_ENABLED)
        else:
            text = group_texts.joined(await my_username(bot))
        try:
            await bot.send_message(chat.id, text)
        except TelegramAPIError as exc:  # restricted from writing: nothing more to do
            log.info("could not greet group %s: %s", chat.id, exc)
    elif was and not now_in:
        await groups.store.left(chat.id, now)
        _emit(services, EventName.GROUP_LEFT, event, kind, str(event.new_chat_member.status))
