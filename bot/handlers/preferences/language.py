"""The language of every text, button and push: /language, and its page in /settings.

The choice is stored in the profile (the push shards hear of it on the users-changed channel,
so the next push is in it too) and takes effect in the same answer: the page is redrawn in the
new language. ``/language ru`` (or ``en``) switches without the page.
"""

from __future__ import annotations

from typing import Final

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.handlers.preferences.render import render
from bot.handlers.preferences.replies import Outcome, handle_buttons
from bot.handlers.preferences.saving import emit_change
from core.models import UserSession
from core.services import Services
from messaging.i18n import LANGUAGE_NAMES, LANGUAGES, _, i18n
from messaging.ui.callbacks import SettingsCB
from messaging.ui.keyboards import Act, Page

router: Final = Router(name=__name__)

ACTIONS: Final = (Act.LANGUAGE,)


async def save_language(services: Services, session: UserSession, language: str) -> None:
    """Store the language and answer the rest of this update in it."""
    await services.profiles.set_language(session.user_id, language)
    emit_change(services, session, "language", language)
    i18n().current_locale = language  # the middleware's context ends with the update


def changed_note(language: str) -> str:
    return _("Language: {name}").format(name=LANGUAGE_NAMES[language])


@router.message(Command("language", ignore_case=True))
async def language(
    message: Message, command: CommandObject, services: Services, session: UserSession
) -> None:
    wanted = (command.args or "").strip().lower()[:8]
    if wanted in LANGUAGES:
        await save_language(services, session, wanted)
        await message.answer("✅ " + changed_note(wanted))
        return
    profile = await services.profiles.get(session.user_id)
    text, markup = render(Page.LANGUAGE, profile, services.settings, services.clock.now())
    await message.answer(text, reply_markup=markup)


async def _apply(
    query: CallbackQuery,
    cb: SettingsCB,
    services: Services,
    session: UserSession,
    state: FSMContext,
) -> Outcome:
    if cb.value not in LANGUAGES:
        raise ValueError(cb.value)
    await save_language(services, session, cb.value)
    return Page.MAIN, changed_note(cb.value)


handle_buttons(router, ACTIONS, _apply)
