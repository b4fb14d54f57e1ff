"""Pair pages: muted pairs, the watchlist and its mode, and pairs typed or suggested for them.

A typed pair is matched against the symbols the market knows; an unknown one gets a "did you
mean" button when a close symbol exists, and only a known symbol is taken from that button.
"""

from __future__ import annotations

from html import escape
from typing import Final

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.filters import HAS_TEXT, NOT_COMMAND
from bot.handlers.preferences.input_state import (
    SettingsInput,
    leave_input,
    typed_done,
    wait_for_input,
)
from bot.handlers.preferences.parsing import parse_pair, unknown_pair
from bot.handlers.preferences.replies import Outcome, handle_buttons
from bot.handlers.preferences.saving import save_member, save_preferences
from bot.handlers.preferences.texts import WATCH_EMPTY
from core.market.catalogue import MarketCatalogue
from core.models import Preferences, UserSession
from core.profiles import ListPreference
from core.services import Services
from messaging.i18n import _
from messaging.ui import keyboards as kb
from messaging.ui.callbacks import SettingsCB
from messaging.ui.keyboards import Act, Page

router: Final = Router(name=__name__)

ACTIONS: Final = (Act.MUTE, Act.UNMUTE, Act.WATCH, Act.UNWATCH, Act.WATCH_ONLY)


async def _apply(
    query: CallbackQuery,
    cb: SettingsCB,
    services: Services,
    session: UserSession,
    state: FSMContext,
) -> Outcome:
    action, value = cb.action, cb.value
    if action == Act.UNMUTE:
        pair = _listed_pair(value, (await services.profiles.get(session.user_id)).preferences)
        await save_member(services, session, "muted_pairs", pair, False)
        return Page.MUTED, _("Unmuted {pair}").format(pair=pair)
    if action in (Act.MUTE, Act.WATCH):
        muting = action == Act.MUTE
        page = Page.MUTED if muting else Page.WATCH
        if value:  # a "did you mean" button: only a pair the market knows
            if value not in MarketCatalogue.of(services.settings).symbols:
                raise ValueError(value)
            await leave_input(state)
            await save_member(
                services, session, "muted_pairs" if muting else "watchlist", value, True
            )
            done = _("Muted {pair}") if muting else _("Watching {pair}")
            return page, done.format(pair=value)
        prompt = (
            _(
                "🔇 Send the pair to mute, for example <code>BTC/USDT</code> or just "
                "<code>btc</code>."
            )
            if muting
            else _(
                "👀 Send the pair to watch, for example <code>BTC/USDT</code> or just "
                "<code>btc</code>."
            )
        )
        wanted = SettingsInput.muted_pair if muting else SettingsInput.watch_pair
        await wait_for_input(query, state, wanted, page, prompt)
        return None
    if action == Act.UNWATCH:
        pair = _listed_pair(value, (await services.profiles.get(session.user_id)).preferences)
        left = await save_member(services, session, "watchlist", pair, False)
        profile = await services.profiles.get(session.user_id)
        if not left and profile.preferences.watch_only:
            await save_preferences(services, session, {"watch_only": False})
            return Page.WATCH, _(
                "Removed {pair}; watchlist empty, so every pair reaches you again"
            ).format(pair=pair)
        return Page.WATCH, _("Removed {pair}").format(pair=pair)
    if action == Act.WATCH_ONLY:
        if value not in ("0", "1"):
            raise ValueError(value)
        profile = await services.profiles.get(session.user_id)
        if value == "1" and not profile.preferences.watchlist:
            return Page.WATCH, _(WATCH_EMPTY)
        await save_preferences(services, session, {"watch_only": value == "1"})
        return Page.WATCH, _("Only your watchlist") if value == "1" else _(
            "Every pair except muted"
        )
    raise ValueError(action)


def _listed_pair(value: str, prefs: Preferences) -> str:
    """The pair an unmute or unwatch button names: one on the user's lists as stored (a ccxt
    symbol such as PEPE/USDT:USDT included), or any BASE/QUOTE (an outdated button is harmless:
    removing what is not there changes nothing). ValueError for anything else (forged)."""
    if value in prefs.muted_pairs or value in prefs.watchlist:
        return value
    pair = parse_pair(value)
    if pair is None:
        raise ValueError(value)
    return pair


@router.message(
    StateFilter(SettingsInput.muted_pair, SettingsInput.watch_pair), HAS_TEXT, NOT_COMMAND
)
async def typed_pair(
    message: Message, services: Services, session: UserSession, state: FSMContext
) -> None:
    muting = await state.get_state() == SettingsInput.muted_pair.state
    text = message.text or ""
    match = MarketCatalogue.of(services.settings).resolve_pair(text)
    if match.pair is None:
        markup = None
        if match.suggestion is not None:
            action = Act.MUTE if muting else Act.WATCH
            markup = kb.did_you_mean(match.suggestion, action)
        await message.answer(unknown_pair(text, match), reply_markup=markup)
        return
    name: ListPreference = "muted_pairs" if muting else "watchlist"
    await save_member(services, session, name, match.pair, True)
    done = _("Muted {pair}.") if muting else _("Added to your watchlist: {pair}.")
    await typed_done(message, services, session, state, done.format(pair=escape(match.pair)))


handle_buttons(router, ACTIONS, _apply)
