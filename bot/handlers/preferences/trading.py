"""What a trader gets alerts about: opportunity types, risk tolerance, exchanges.

A plan's own types can't all be deselected; only the market's exchanges are offered.
"""

from __future__ import annotations

from typing import Final

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery

from bot.handlers.preferences.parsing import parse_toggle
from bot.handlers.preferences.render import offered_exchanges
from bot.handlers.preferences.replies import Outcome, handle_buttons
from bot.handlers.preferences.saving import save_member, save_preferences, save_type
from bot.handlers.preferences.texts import LAST_TYPE
from core.models import OpportunityType, RiskTolerance, UserSession
from core.services import Services
from messaging.i18n import _
from messaging.ui.callbacks import SettingsCB
from messaging.ui.keyboards import Act, Page
from messaging.ui.labels import risk_label

router: Final = Router(name=__name__)

ACTIONS: Final = (Act.TYPE, Act.RISK, Act.EXCHANGE)


async def _apply(
    query: CallbackQuery,
    cb: SettingsCB,
    services: Services,
    session: UserSession,
    state: FSMContext,
) -> Outcome:
    action, value = cb.action, cb.value
    if action == Act.TYPE:
        add, member = parse_toggle(value, {t.value for t in OpportunityType})
        profile = await services.profiles.get(session.user_id)
        plan = services.settings.tier_limits(profile.tier).opportunity_types
        if not await save_type(services, session, OpportunityType(member), add, plan_types=plan):
            return Page.TYPES, _(LAST_TYPE)
        return Page.TYPES, _("Saved")
    if action == Act.RISK:
        risk = RiskTolerance(value)  # ValueError if forged
        await save_preferences(services, session, {"risk_tolerance": risk})
        return Page.RISK, _("Risk tolerance {risk}").format(risk=risk_label(risk))
    if action == Act.EXCHANGE:
        add, member = parse_toggle(value, offered_exchanges(services.settings))
        await save_member(services, session, "exchanges", member, add)
        return Page.EXCHANGES, _("Saved")
    raise ValueError(action)


handle_buttons(router, ACTIONS, _apply)
