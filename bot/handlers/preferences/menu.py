"""The main settings page: /settings (alias /preferences), page navigation, Cancel, push on/off.

Its router comes first among the settings routers: a command sent while typed input is awaited
must end the wait before any other handler sees it.
"""

from __future__ import annotations

from typing import Final

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.filters import IS_COMMAND
from bot.handlers.preferences.input_state import SettingsInput, leave_input
from bot.handlers.preferences.render import render
from bot.handlers.preferences.replies import Outcome, handle_buttons
from bot.handlers.preferences.saving import emit_change, save_preferences
from core.models import UserSession
from core.personalisation.store import RelevanceStore
from core.services import Services
from messaging.i18n import _
from messaging.ui import keyboards as kb
from messaging.ui.callbacks import SettingsCB
from messaging.ui.keyboards import Act, Page

router: Final = Router(name=__name__)

ACTIONS: Final = (Act.OPEN, Act.CANCEL, Act.PUSH, Act.RESET_RELEVANCE)


@router.message(StateFilter(SettingsInput), IS_COMMAND)
async def command_while_waiting(message: Message, state: FSMContext) -> None:
    """A command ends the wait for typed input, then goes on to its own handler.

    The typed-input handlers still see the state as it was when the update arrived, so each of
    them refuses commands itself."""
    await leave_input(state)
    raise SkipHandler


@router.message(Command("settings", "preferences", ignore_case=True))
async def show_settings(message: Message, services: Services, session: UserSession) -> None:
    # Private chats only: the session gate answers /settings in a group with a pointer here.
    profile = await services.profiles.get(session.user_id)
    text, markup = render(Page.MAIN, profile, services.settings, services.clock.now())
    await message.answer(text, reply_markup=markup)


async def _apply(
    query: CallbackQuery,
    cb: SettingsCB,
    services: Services,
    session: UserSession,
    state: FSMContext,
) -> Outcome:
    action, value = cb.action, cb.value
    if action == Act.OPEN:
        if value not in kb.PAGES:
            raise ValueError(value)
        return value, ""
    if action == Act.CANCEL:
        await leave_input(state)
        return (value if value in kb.PAGES else Page.MAIN), _("Cancelled")
    if action == Act.PUSH:
        if value not in ("0", "1"):
            raise ValueError(value)
        await save_preferences(services, session, {"push_enabled": value == "1"})
        return Page.MAIN, _("Push alerts on") if value == "1" else _("Push alerts off")
    if action == Act.RESET_RELEVANCE:
        if value:
            raise ValueError(value)
        store = RelevanceStore(services.redis, services.settings.personalisation)
        await store.reset(session.user_id)
        emit_change(services, session, "personalisation", "reset", source="settings")
        return Page.MAIN, _("Personalisation reset: your digests are ordered as for a new user.")
    raise ValueError(action)


handle_buttons(router, ACTIONS, _apply)
