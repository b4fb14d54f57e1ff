"""/help lists the commands the user's session and tier allow."""

from __future__ import annotations

from typing import Final

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from core.models import Tier, UserSession
from core.services import Services
from messaging.ui import templates
from messaging.ui.commands import visible_commands

router: Final = Router(name=__name__)


@router.message(Command("help", ignore_case=True))
async def show_help(message: Message, services: Services, session: UserSession | None) -> None:
    assert message.from_user is not None
    tier = Tier.FREE
    if session is not None:
        tier = (await services.profiles.get(message.from_user.id)).tier
    elif message.from_user.id in services.settings.superadmin_ids:
        tier = Tier.SUPERADMIN
    commands = visible_commands(has_session=session is not None, tier=tier)
    await message.answer(templates.help_text(commands, has_session=session is not None))
