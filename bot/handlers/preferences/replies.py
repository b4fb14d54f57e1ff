"""How a settings button is answered: the change carried out, then the page edited in place.

Each page group's router carries out its own buttons (an `Apply`) and hands the outcome here,
so a forged value is refused, and the menu re-rendered, the same way on every page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.handlers.preferences.render import render
from bot.handlers.refusals import FORGED, refuse
from core.models import UserSession
from core.services import Services
from messaging.i18n import _
from messaging.ui import templates
from messaging.ui.callbacks import SettingsCB

log = logging.getLogger(__name__)

# The page to show and a short note; None when the chat now waits for typed input.
Outcome = tuple[str, str] | None
# Carries out one settings button; raises ValueError if its value is forged.
Apply = Callable[[CallbackQuery, SettingsCB, Services, UserSession, FSMContext], Awaitable[Outcome]]


async def edit_or_send(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Show text in the pressed button's message; a new message if that one can't be edited."""
    msg = query.message
    if isinstance(msg, Message):
        try:
            await msg.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return
            log.info("could not edit message %s: %s", msg.message_id, exc)
    if query.bot is not None:
        await query.bot.send_message(query.from_user.id, text, reply_markup=markup)


async def edit_by_id(
    bot: Bot | None, chat_id: int, message_id: int | None, text: str, markup: InlineKeyboardMarkup
) -> bool:
    """Edit a message not attached to this update (the menu a typed value was asked from)."""
    if bot is None or message_id is None:
        return False
    try:
        await bot.edit_message_text(
            text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
        )
    except TelegramBadRequest as exc:
        return "not modified" in str(exc)
    return True


async def rerender(
    query: CallbackQuery, services: Services, session: UserSession, page: str
) -> None:
    profile = await services.profiles.get(session.user_id)
    text, markup = render(page, profile, services.settings, services.clock.now())
    await edit_or_send(query, text, markup)


async def answer_button(
    query: CallbackQuery,
    callback_data: SettingsCB,
    services: Services,
    session: UserSession,
    state: FSMContext,
    apply: Apply,
) -> None:
    """Carry out a settings button with `apply`, then show its page and note (or the prompt)."""
    try:
        outcome = await apply(query, callback_data, services, session, state)
    except ValueError:
        await refuse(query, services, session.session_id, FORGED, _(templates.UNKNOWN_BUTTON))
        return
    if outcome is None:  # now waiting for typed input: the prompt is shown
        await query.answer()
        return
    page, note = outcome
    await rerender(query, services, session, page)
    await query.answer(note or None)


def handle_buttons(router: Router, actions: Collection[str], apply: Apply) -> None:
    """Give `router` its one settings-button handler: presses of `actions`, carried out by
    `apply` (each group of pages has its own router, the answering is the same)."""

    async def on_button(
        query: CallbackQuery,
        callback_data: SettingsCB,
        services: Services,
        session: UserSession,
        state: FSMContext,
    ) -> None:
        await answer_button(query, callback_data, services, session, state, apply)

    router.callback_query(SettingsCB.filter(F.action.in_(tuple(actions))))(on_button)
