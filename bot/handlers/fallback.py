"""What no other router took: unknown commands, stray text, stale or forged buttons.

Registered last. Every answer tells the user what to do next; unknown buttons are answered so
the client's spinner stops.
"""

from __future__ import annotations

from typing import Final

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.filters import IS_COMMAND, PRIVATE_CHAT
from core.events import Event, EventName
from core.services import Services
from messaging import templates
from messaging.commands import command_name

router: Final = Router(name=__name__)


@router.message(IS_COMMAND)
async def unknown_command(message: Message) -> None:
    name = command_name(message.text) or ""
    await message.answer(templates.UNKNOWN_COMMAND.format(name=name[:32] or "?"), parse_mode=None)


@router.message(PRIVATE_CHAT)
async def stray(message: Message) -> None:
    await message.answer(templates.STRAY_TEXT)


@router.callback_query()
async def unknown_button(query: CallbackQuery, services: Services) -> None:
    services.events.emit(
        Event(
            name=EventName.CALLBACK,
            ts=services.clock.now(),
            user_id=query.from_user.id,
            attrs={"data": (query.data or "")[:64], "allowed": True, "reason": "unknown"},
        )
    )
    await query.answer(templates.UNKNOWN_BUTTON, show_alert=True)
