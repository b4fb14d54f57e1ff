"""Waiting for a typed value after its button: the `SettingsInput` state, entered and left.

Any command or "Cancel" leaves the wait; whatever state came before (an onboarding step, say)
is restored afterwards.
"""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.handlers.preferences.render import render
from bot.handlers.preferences.replies import edit_by_id, edit_or_send
from core.models import UserSession
from core.services import Services
from messaging.ui import keyboards as kb
from messaging.ui.keyboards import Page


class SettingsInput(StatesGroup):
    """Waiting for a typed value after the matching button."""

    muted_pair = State()
    watch_pair = State()
    timezone = State()
    hours = State()
    min_profit = State()


async def wait_for_input(
    query: CallbackQuery, state: FSMContext, wanted: State, page: str, prompt: str
) -> None:
    current = await state.get_state()
    data: dict[str, Any] = {"input_page": page}
    if isinstance(query.message, Message):
        data["input_msg"] = query.message.message_id
    if current not in SettingsInput.__all_states_names__:
        data["resume"] = current  # e.g. an onboarding step, restored afterwards
    await state.update_data(**data)
    await state.set_state(wanted)
    await edit_or_send(query, prompt, kb.settings_input(page))


async def leave_input(state: FSMContext) -> dict[str, Any]:
    """Stop waiting for typed input, back to whatever state came before; returns the data."""
    data = await state.get_data()
    if await state.get_state() in SettingsInput.__all_states_names__:
        await state.set_state(data.get("resume"))
        await state.update_data(input_page=None, input_msg=None, resume=None)
    return data


async def typed_done(
    message: Message,
    services: Services,
    session: UserSession,
    state: FSMContext,
    note: str,
) -> None:
    """After a valid typed value: leave the input state, re-render the menu, confirm."""
    data = await leave_input(state)
    page = data.get("input_page") or Page.MAIN
    profile = await services.profiles.get(session.user_id)
    text, markup = render(page, profile, services.settings, services.clock.now())
    edited = await edit_by_id(message.bot, message.chat.id, data.get("input_msg"), text, markup)
    if edited:
        await message.answer(f"✅ {note}")
    else:
        await message.answer(f"✅ {note}\n\n{text}", reply_markup=markup)
