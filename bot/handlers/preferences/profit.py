"""The minimum-profit page: a preset, or any value typed within the configured range."""

from __future__ import annotations

from typing import Final

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.filters import HAS_TEXT, NOT_COMMAND
from bot.handlers.preferences.input_state import SettingsInput, typed_done, wait_for_input
from bot.handlers.preferences.parsing import parse_min_profit
from bot.handlers.preferences.render import profit_range
from bot.handlers.preferences.replies import Outcome, handle_buttons
from bot.handlers.preferences.saving import save_preferences
from core.models import UserSession
from core.services import Services
from messaging.i18n import _
from messaging.ui import keyboards as kb
from messaging.ui.callbacks import SettingsCB
from messaging.ui.keyboards import Act, Page

router: Final = Router(name=__name__)


async def _apply(
    query: CallbackQuery,
    cb: SettingsCB,
    services: Services,
    session: UserSession,
    state: FSMContext,
) -> Outcome:
    value = cb.value
    if not value:
        prompt = _(
            "💰 Send your minimum profit in percent, for example <code>0.3</code> "
            "({range}; 0 for no minimum)."
        ).format(range=profit_range(services.settings))
        await wait_for_input(query, state, SettingsInput.min_profit, Page.PROFIT, prompt)
        return None
    if value not in {kb.profit_value(p) for p in kb.PROFITS}:
        raise ValueError(value)
    await save_preferences(services, session, {"min_profit_pct": float(value)})
    return Page.PROFIT, _("Minimum profit {pct}%").format(pct=value)


@router.message(StateFilter(SettingsInput.min_profit), HAS_TEXT, NOT_COMMAND)
async def typed_min_profit(
    message: Message, services: Services, session: UserSession, state: FSMContext
) -> None:
    o = services.settings.opportunities
    value = parse_min_profit(message.text or "", o.min_profit_floor_pct, o.min_profit_ceiling_pct)
    if value is None:
        await message.answer(
            _(
                "Please send a percentage from {range} (for example <code>0.3</code>), or 0 for "
                "no minimum. Or press Cancel."
            ).format(range=profit_range(services.settings))
        )
        return
    await save_preferences(services, session, {"min_profit_pct": value})
    done = _("Minimum profit set to {pct}%.").format(pct=f"{value:g}")
    await typed_done(message, services, session, state, done)


handle_buttons(router, (Act.PROFIT,), _apply)
