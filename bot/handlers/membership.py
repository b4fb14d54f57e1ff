"""A user who blocks the bot ends their session: nothing more is sent to them."""

from __future__ import annotations

from typing import Final

from aiogram import Router
from aiogram.filters import KICKED, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from core.models import SessionState
from core.services import Services

router: Final = Router(name=__name__)


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED))
async def blocked(event: ChatMemberUpdated, services: Services) -> None:
    if event.chat.type == "private":
        await services.sessions.end(event.from_user.id, SessionState.TERMINATED, "blocked")
