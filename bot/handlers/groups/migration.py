"""A basic group upgraded to a supergroup takes a new chat id (Telegram's
`migrate_to_chat_id` service message): the group's choices move to the new id, the old one is
kept inactive, so alerts go on in the supergroup as the admins left them."""

from __future__ import annotations

from typing import Final

from aiogram import F, Router
from aiogram.types import Message

from bot.filters import GROUP_CHAT, Magic
from bot.handlers.groups.deps import GroupDeps
from core.events import EventName
from core.groups.models import ChatKind, GroupConfig
from core.groups.store import GroupStore
from core.services import Services

router: Final = Router(name=__name__)


async def move_group(store: GroupStore, old_id: int, new_id: int, now: float) -> GroupConfig | None:
    """Copy what `old_id` chose to `new_id` (a supergroup) and make `old_id` inactive; None if
    the old group was never known."""
    old = await store.get(old_id)
    if old is None:
        return None
    await store.joined(new_id, ChatKind.SUPERGROUP, old.title, now)
    new = await store.update(
        new_id,
        now,
        opportunity_types=old.opportunity_types,
        pairs=old.pairs,
        min_profit_pct=old.min_profit_pct,
        digest_window_seconds=old.digest_window_seconds,
        quiet_hours=old.quiet_hours,
        timezone=old.timezone,
        language=old.language,
    )
    if old.enabled and old.enabled_by is not None:
        new = await store.enable(new_id, old.enabled_by, now)
    if old.tier_override is not None:
        new = await store.set_tier(new_id, old.tier_override, now)
    await store.left(old_id, now)
    return new


@router.message(Magic(F.migrate_to_chat_id), GROUP_CHAT)
async def group_upgraded(message: Message, services: Services, groups: GroupDeps) -> None:
    new_id = message.migrate_to_chat_id
    if new_id is None:
        return
    moved = await move_group(groups.store, message.chat.id, new_id, services.clock.now())
    if moved is not None:
        services.emit(
            EventName.GROUP_JOINED,
            chat_id=new_id,
            chat_kind=ChatKind.SUPERGROUP.value,
            action="migrated",
            from_chat_id=message.chat.id,
        )
