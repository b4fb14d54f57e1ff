"""/start opens a session or resumes the active one, then offers onboarding to new users, and
to a returning user whose onboarding is unfinished a button to finish it."""

from __future__ import annotations

from typing import Final

from aiogram import Router
from aiogram.enums import ChatType
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.handlers.deep_links import record_deep_link_start
from bot.handlers.onboarding import begin_onboarding
from core.models import OnboardingState
from core.services import Services
from messaging.i18n import _, i18n, pick_language
from messaging.ui import keyboards as kb
from messaging.ui import templates

router: Final = Router(name=__name__)


@router.message(CommandStart(ignore_case=True))
async def start(message: Message, services: Services, state: FSMContext) -> None:
    user = message.from_user
    assert user is not None  # the session gate lets no user-less message through
    await services.profiles.ensure(user.id, user.first_name)
    if not await services.profiles.language(user.id):
        # First contact: the language Telegram says the user's app is in, until they choose.
        chosen = pick_language(user.language_code)
        await services.profiles.set_language(user.id, chosen)
        i18n().current_locale = chosen
    result = await services.sessions.start(user.id)
    record_deep_link_start(services, message, user.id, result.session.session_id, result.outcome)
    if result.outcome == "started":
        # The gate counted nothing (there was no session yet): this /start is the first command.
        services.sessions.record_activity(result.session, command=True)
    await message.answer(
        templates.welcome(
            user.first_name,
            resumed=result.outcome == "resumed",
            previous=result.previous,
            ttl_seconds=services.settings.session.ttl_seconds,
        )
    )
    unfinished = (
        result.session.onboarding is not OnboardingState.COMPLETED
        and message.chat.type == ChatType.PRIVATE
    )
    if unfinished and result.outcome == "started":
        await begin_onboarding(message, state, services)
    elif unfinished:
        await message.answer(
            _("Your setup isn't finished yet: a few taps choose what reaches you."),
            reply_markup=kb.finish_onboarding(),
        )
    else:
        await message.answer(_("Send /opportunities for what's live now, or /help for everything."))
