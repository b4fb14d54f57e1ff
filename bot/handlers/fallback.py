"""What no other router took: unknown commands, stray text, stale or forged buttons.

Registered last. Only private chats get here (the session gate answers groups). Every answer
tells the user what to do next; a button no handler took is refused and audited (forged if its
prefix is ours, unknown otherwise), and answered so the client's spinner stops.
"""

from __future__ import annotations

from typing import Final

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.filters import IS_COMMAND, PRIVATE_CHAT
from bot.handlers.refusals import refuse, unparsable_reason
from core.models import UserSession
from core.services import Services
from messaging.i18n import _
from messaging.ui import templates
from messaging.ui.commands import command_name

router: Final = Router(name=__name__)


@router.message(IS_COMMAND, PRIVATE_CHAT)
async def unknown_command(message: Message) -> None:
    name = command_name(message.text) or ""
    await message.answer(
        _(templates.UNKNOWN_COMMAND).format(name=name[:32] or "?"), parse_mode=None
    )


@router.message(PRIVATE_CHAT)
async def stray(message: Message) -> None:
    await message.answer(_(templates.STRAY_TEXT))


@router.callback_query()
async def unknown_button(query: CallbackQuery, services: Services, session: UserSession) -> None:
    reason = unparsable_reason(query.data)
    await refuse(query, services, session.session_id, reason, _(templates.UNKNOWN_BUTTON))
