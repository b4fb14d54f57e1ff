"""/subscription explains the tiers, from the one tier table in settings."""

from __future__ import annotations

from typing import Final

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from core.models import UserSession
from core.services import Services
from messaging.ui import templates

router: Final = Router(name=__name__)


@router.message(Command("subscription", ignore_case=True))
async def subscription(message: Message, services: Services, session: UserSession) -> None:
    profile = await services.profiles.get(session.user_id)
    await message.answer(templates.tiers(services.settings.tiers, profile.tier))
