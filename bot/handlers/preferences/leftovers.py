"""What the settings routers before this one did not take: its router is included last.

A message that is not text while typed input is awaited gets a reminder; a settings button
with an action no page knows is forged, and refused as the pages refuse a forged value.
"""

from __future__ import annotations

from typing import Final

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message

from bot.filters import NOT_COMMAND
from bot.handlers.preferences.input_state import SettingsInput
from bot.handlers.preferences.texts import TEXT_EXPECTED
from bot.handlers.refusals import FORGED, refuse
from core.models import UserSession
from core.services import Services
from messaging.i18n import _
from messaging.ui import templates
from messaging.ui.callbacks import SettingsCB
from messaging.ui.keyboards import Act

router: Final = Router(name=__name__)


@router.callback_query(SettingsCB.filter(F.action != Act.FINISH))
async def unknown_settings_action(
    query: CallbackQuery, services: Services, session: UserSession
) -> None:
    # Act.FINISH belongs to onboarding, whose router comes before this package's.
    await refuse(query, services, session.session_id, FORGED, _(templates.UNKNOWN_BUTTON))


@router.message(StateFilter(SettingsInput), NOT_COMMAND)
async def not_text_while_waiting(message: Message) -> None:
    await message.answer(_(TEXT_EXPECTED))
