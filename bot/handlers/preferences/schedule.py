"""When alerts may arrive: timezone, active hours, Do Not Disturb and what pierces it.

A timezone may be typed as an IANA name, ``UTC±H[:MM]`` or a city; hours as ``HH-HH``.
"""

from __future__ import annotations

from html import escape
from typing import Final

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.filters import HAS_TEXT, NOT_COMMAND
from bot.handlers.preferences.input_state import SettingsInput, typed_done, wait_for_input
from bot.handlers.preferences.parsing import parse_hours, parse_timezone
from bot.handlers.preferences.render import hours_text
from bot.handlers.preferences.replies import Outcome, handle_buttons
from bot.handlers.preferences.saving import save_preferences
from bot.handlers.preferences.texts import HOURS_EXPECTED, TZ_EXPECTED
from core.distribution.timezone_names import timezone_label
from core.models import UserSession
from core.services import Services
from messaging.i18n import _
from messaging.ui import keyboards as kb
from messaging.ui.callbacks import SettingsCB
from messaging.ui.keyboards import Act, Page

router: Final = Router(name=__name__)

ACTIONS: Final = (Act.TZ, Act.HOURS, Act.DND, Act.PIERCE)


async def _apply(
    query: CallbackQuery,
    cb: SettingsCB,
    services: Services,
    session: UserSession,
    state: FSMContext,
) -> Outcome:
    action, value = cb.action, cb.value
    if action == Act.PIERCE:
        if value not in ("0", "1"):
            raise ValueError(value)
        await save_preferences(services, session, {"high_priority_pierces_dnd": value == "1"})
        return Page.DND, _("Saved")
    if action == Act.TZ:
        if not value:
            prompt = _(
                "🌍 Send your timezone as an IANA name, for example <code>Europe/Paris</code> "
                "or <code>America/Chicago</code>."
            )
            await wait_for_input(query, state, SettingsInput.timezone, Page.TZ, prompt)
            return None
        tz = parse_timezone(value)
        if tz is None:
            raise ValueError(value)
        await save_preferences(services, session, {"timezone": tz})
        return Page.TZ, _("Timezone {tz}").format(tz=timezone_label(tz))
    if action == Act.HOURS:
        if not value:
            prompt = _(
                "🕗 Send your active hours as <code>HH-HH</code>, for example <code>07-23</code>."
            )
            await wait_for_input(query, state, SettingsInput.hours, Page.HOURS, prompt)
            return None
        hours = parse_hours(value)
        if hours is None:
            raise ValueError(value)
        await save_preferences(services, session, {"active_hours": hours})
        return Page.HOURS, _("Active hours {hours}").format(hours=kb.hours_label(hours))
    if action == Act.DND:
        if not value.isdigit() or int(value) not in kb.DND_HOURS:
            raise ValueError(value)
        hours_on = int(value)
        until = services.clock.now() + hours_on * 3_600 if hours_on else None
        await save_preferences(services, session, {"dnd_until": until})
        return Page.DND, (
            _("Do Not Disturb for {n}h").format(n=hours_on) if hours_on else _("Do Not Disturb off")
        )
    raise ValueError(action)


@router.message(StateFilter(SettingsInput.timezone), HAS_TEXT, NOT_COMMAND)
async def typed_timezone(
    message: Message, services: Services, session: UserSession, state: FSMContext
) -> None:
    tz = parse_timezone(message.text or "")
    if tz is None:
        await message.answer(_(TZ_EXPECTED))
        return
    await save_preferences(services, session, {"timezone": tz})
    label = timezone_label(tz)
    shown = label if label == tz else f"{label} ({tz})"
    done = _("Timezone set to {tz}.").format(tz=escape(shown))
    await typed_done(message, services, session, state, done)


@router.message(StateFilter(SettingsInput.hours), HAS_TEXT, NOT_COMMAND)
async def typed_hours(
    message: Message, services: Services, session: UserSession, state: FSMContext
) -> None:
    hours = parse_hours(message.text or "")
    if hours is None:
        await message.answer(_(HOURS_EXPECTED))
        return
    await save_preferences(services, session, {"active_hours": hours})
    done = _("Active hours set to {hours}.").format(hours=hours_text(hours))
    await typed_done(message, services, session, state, done)


handle_buttons(router, ACTIONS, _apply)
