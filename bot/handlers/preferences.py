"""/settings (alias /preferences): every preference, changed with inline buttons or typed input.

Each change is written at once, one field per write (list fields with the atomic member script),
recorded as a ``preferences.changed`` event, and the menu is re-rendered by editing its message.
Pairs, timezones, hours and a minimum profit can also be typed after pressing their button: the
chat then waits in a `SettingsInput` state, which any command or "Cancel" leaves. Typed input
forgives (issue 15): pairs are matched against the symbols the market knows, with a "did you
mean" button; timezones may be IANA names, ``UTC±H[:MM]`` or city names; only the market's
exchanges are offered; a plan's types can't all be deselected.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Container
from html import escape
from typing import Any, Final

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.filters import HAS_TEXT, IS_COMMAND, NOT_COMMAND
from bot.handlers.refusals import FORGED, refuse
from core.distribution.timezone_names import resolve_timezone, timezone_label
from core.events import EventName
from core.market.catalogue import MarketCatalogue, PairMatch
from core.models import (
    OnboardingState,
    OpportunityType,
    Preferences,
    RiskTolerance,
    UserProfile,
    UserSession,
)
from core.profiles import ListPreference, PreferenceUpdate
from core.services import Services
from core.settings import Settings
from messaging.ui import keyboards as kb
from messaging.ui import templates
from messaging.ui.callbacks import SettingsCB
from messaging.ui.keyboards import Act, Page

log = logging.getLogger(__name__)

router: Final = Router(name=__name__)

PAIR_EXPECTED: Final = (
    "Please send a trading pair as BASE/QUOTE, for example <code>BTC/USDT</code> "
    "(letters and digits only). Or press Cancel."
)
TZ_EXPECTED: Final = (
    "I don't know that timezone. Please send a city (<code>Moscow</code>, <code>New York</code>), "
    "an offset (<code>UTC+3</code>, <code>GMT-5</code>, <code>UTC+5:30</code>) or an IANA name "
    "(<code>Europe/Berlin</code>). Or press Cancel."
)
HOURS_EXPECTED: Final = (
    "Please send active hours as <code>HH-HH</code> in 24-hour time, for example "
    "<code>08-22</code> (0-24 means always; 22-06 runs overnight). Or press Cancel."
)
TEXT_EXPECTED: Final = "I'm waiting for text here. Send it, or press Cancel."
LAST_TYPE: Final = (
    "Keep at least one type your plan includes. To pause every alert, turn push alerts off instead."
)
WATCH_EMPTY: Final = "Add a pair to your watchlist first, then choose “Only these pairs”."
RISK_HELP: Final = {
    RiskTolerance.LOW: "the smallest suggested position size (same alerts at every level)",
    RiskTolerance.MEDIUM: "a middle suggested position size",
    RiskTolerance.HIGH: "the largest suggested position size, never over half the depth",
}
# Alerts are read from public market data, so the bot never needs a trader's exchange keys;
# saying so is the guard against someone posing as the bot to collect them.
API_KEY_GUIDANCE: Final = (
    "🔑 Alerts need no exchange API keys, and this bot never asks for them: "
    "<b>never paste keys into this chat</b>, or give them to anyone who says they are the bot."
)

_PAIR = re.compile(r"^([A-Z0-9]{1,15})\s*[/\-_ ]\s*([A-Z0-9]{1,15})$")
_HOURS = re.compile(r"^(\d{1,2})(?::00)?\s*[-–—]\s*(\d{1,2})(?::00)?$")


class SettingsInput(StatesGroup):
    """Waiting for a typed value after the matching button."""

    muted_pair = State()
    watch_pair = State()
    timezone = State()
    hours = State()
    min_profit = State()


# --- parsing typed input ----------------------------------------------------------------------


def parse_pair(text: str) -> str | None:
    """'btc/usdt' or 'BTC-USDT' -> 'BTC/USDT'; None unless it is a BASE/QUOTE pair."""
    m = _PAIR.match(text.strip().upper())
    if m is None or m.group(1) == m.group(2):
        return None
    return f"{m.group(1)}/{m.group(2)}"


def parse_timezone(text: str) -> str | None:
    """An IANA name ('europe/berlin'), an offset ('UTC+3') or a city ('moscow'), as the IANA
    name stored (see `core.distribution.timezone_names`); None if it is none of them."""
    return resolve_timezone(text)


def parse_min_profit(text: str, low: float, high: float) -> float | None:
    """'0.3', '0,3 %' -> 0.3 if 0 or within [low, high]; None otherwise."""
    raw = text.strip().rstrip("%").strip().replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        return None
    if value != value or not (value == 0 or low <= value <= high):  # NaN is not a number
        return None
    return round(value, 4)


def unknown_pair(text: str, match: PairMatch) -> str:
    said = escape(text.strip()[:40])
    if match.suggestion is None:
        return f"I don't know the pair “{said}” on the market. {PAIR_EXPECTED}"
    return (
        f"I don't know the pair “{said}” on the market. Did you mean "
        f"<code>{escape(match.suggestion)}</code>? Tap it, or send another pair."
    )


def parse_hours(text: str) -> tuple[int, int] | None:
    """'08-22' -> (8, 22), '22-6' -> (22, 6) (overnight), '0-24' -> always; None if invalid."""
    m = _HOURS.match(text.strip())
    if m is None:
        return None
    start, end = int(m.group(1)), int(m.group(2))
    if not (0 <= start <= 23 and 0 <= end <= 24) or start == end:
        return None
    return (start, 24 if end == 0 else end)


def parse_toggle(value: str, allowed: Container[str]) -> tuple[bool, str]:
    """'+binance' -> (True, 'binance'); raises ValueError for anything else."""
    if len(value) < 2 or value[0] not in "+-" or value[1:] not in allowed:
        raise ValueError(value)
    return value[0] == "+", value[1:]


# --- saving -----------------------------------------------------------------------------------


def emit_change(
    services: Services, session: UserSession, field: str, value: str, *, source: str | None = None
) -> None:
    attrs: dict[str, str | None] = {"field": field, "value": value}
    if source is not None:
        attrs["source"] = source
    services.emit(
        EventName.PREFERENCE_CHANGED, attrs, user_id=session.user_id, session_id=session.session_id
    )


async def save_preferences(
    services: Services,
    session: UserSession,
    update: PreferenceUpdate,
    *,
    source: str | None = None,
) -> None:
    """Write the changed preferences in one write and record each change under its name."""
    saved = await services.profiles.update(session.user_id, **update)
    for name, value in saved.items():
        emit_change(services, session, name, value, source=source)


async def save_member(
    services: Services,
    session: UserSession,
    name: ListPreference,
    member: str,
    add: bool,
    *,
    source: str | None = None,
) -> frozenset[str]:
    """Add or remove one member of a list preference atomically; returns the new list."""
    new = await services.profiles.change_member(
        session.user_id, name, member, "add" if add else "remove"
    )
    emit_change(services, session, name, ",".join(sorted(new)), source=source)
    return new


async def save_type(
    services: Services,
    session: UserSession,
    kind: OpportunityType,
    add: bool,
    *,
    source: str | None = None,
    plan_types: frozenset[OpportunityType] = frozenset(),
) -> bool:
    """Turn one opportunity type on or off; False (and nothing changed) if it was the last one,
    or the last of `plan_types` (a plan's types can't all be deselected)."""
    new = await services.profiles.change_member(
        session.user_id,
        "opportunity_types",
        kind.value,
        "add" if add else "remove",
        keep_one=True,
        keep_one_of=[t.value for t in plan_types],
    )
    if not add and kind.value in new:  # the last type: refused, nothing changed
        return False
    emit_change(services, session, "opportunity_types", ",".join(sorted(new)), source=source)
    return True


# --- rendering --------------------------------------------------------------------------------


def _names(items: frozenset[str], labels: dict[str, str] | None = None) -> str:
    return ", ".join(escape((labels or {}).get(i, i)) for i in sorted(items))


def _hours_text(hours: tuple[int, int]) -> str:
    label = kb.hours_label(hours)
    return label + (" (overnight)" if hours[0] > hours[1] else "")


def summary(profile: UserProfile, settings: Settings, now: float) -> str:
    """Every preference of the profile, one line each (Telegram HTML)."""
    p = profile.preferences
    allowed = settings.tier_limits(profile.tier).opportunity_types
    types = ", ".join(t.label for t in OpportunityType if t in p.opportunity_types) or "none"
    locked = [t.label for t in OpportunityType if t in p.opportunity_types and t not in allowed]
    if locked:
        types += f" ({', '.join(locked)} not in your {profile.tier.label} plan: /subscription)"
    dnd = (
        f"on until {templates.when(p.dnd_until, p.timezone)}"
        if p.dnd_until is not None and p.in_dnd(now)
        else "off"
    )
    return "\n".join(
        [
            f"Push alerts: {'on' if p.push_enabled else 'off'}",
            f"Opportunity types: {types}",
            f"Muted pairs: {_names(p.muted_pairs) or 'none'}",
            f"Watchlist: {_watch_text(p.watchlist, p.watch_only)}",
            f"Minimum profit: {p.min_profit_pct:g}%",
            f"Timezone: {escape(timezone_label(p.timezone))}",
            f"Active hours: {_hours_text(p.active_hours)}",
            f"Do Not Disturb: {dnd}",
            f"High-priority alerts through DND: {'on' if p.high_priority_pierces_dnd else 'off'}",
            f"Risk tolerance: {p.risk_tolerance.value}",
            f"Exchanges: {_names(profile.exchanges, kb.EXCHANGES) or 'all'}",
        ]
    )


def _watch_text(pairs: frozenset[str], only: bool) -> str:
    listed = _names(pairs) or "no pairs"
    return f"only {listed}" if only else f"off ({listed})"


def offered_exchanges(settings: Settings) -> tuple[str, ...]:
    return MarketCatalogue.of(settings).exchanges


def render(
    page: str, profile: UserProfile, settings: Settings, now: float
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and keyboard of one settings page."""
    p = profile.preferences
    allowed = settings.tier_limits(profile.tier).opportunity_types
    if page == Page.TYPES:
        return (
            "<b>📊 Opportunity types</b>\nTap a type to turn its alerts on or off. "
            f"🔒 = not in your {profile.tier.label} plan yet (see /subscription).",
            kb.settings_types(p.opportunity_types, allowed),
        )
    if page == Page.MUTED:
        listed = _names(p.muted_pairs) or "none"
        return (
            f"<b>🔇 Muted pairs</b>: {listed}\nMuted pairs never alert you. "
            "Tap a pair to unmute it, or mute another.",
            kb.settings_muted(p.muted_pairs),
        )
    if page == Page.PROFIT:
        return (
            f"<b>💰 Minimum profit</b>: {p.min_profit_pct:g}%\n"
            "Only opportunities with at least this expected profit reach you. Pick one, or type "
            f"any value from {_profit_range(settings)}.",
            kb.settings_profit(p.min_profit_pct),
        )
    if page == Page.WATCH:
        mode = "only these pairs" if p.watch_only else "everything except muted pairs"
        return (
            f"<b>👀 Watchlist</b>: {_names(p.watchlist) or 'empty'}\nYou get: {mode}. "
            "Choose “Only these pairs” to get alerts for your watchlist alone.",
            kb.settings_watch(p.watchlist, p.watch_only),
        )
    if page == Page.TZ:
        return (
            f"<b>🌍 Timezone</b>: {escape(timezone_label(p.timezone))}\n"
            "It sets your active hours and every time I show you.",
            kb.settings_timezone(p.timezone),
        )
    if page == Page.HOURS:
        return (
            f"<b>🕗 Active hours</b>: {_hours_text(p.active_hours)} "
            f"({escape(timezone_label(p.timezone))})\nAlerts arrive only between these hours.",
            kb.settings_hours(p.active_hours),
        )
    if page == Page.DND:
        active = p.dnd_until is not None and p.in_dnd(now)
        state = (
            f"on until {templates.when(p.dnd_until, p.timezone)}"
            if p.dnd_until is not None and active
            else "off"
        )
        return (
            f"<b>🌙 Do Not Disturb</b>: {state}\nIt pauses alerts until it ends "
            "(also /dnd 2h, /dnd off). High-priority alerts can come through if you opt in.",
            kb.settings_dnd(active, p.high_priority_pierces_dnd),
        )
    if page == Page.RISK:
        lines = "\n".join(f"• {r.value.capitalize()}: {RISK_HELP[r]}" for r in RiskTolerance)
        return (
            f"<b>⚖️ Risk tolerance</b>: {p.risk_tolerance.value}\n{lines}",
            kb.settings_risk(p.risk_tolerance),
        )
    if page == Page.EXCHANGES:
        return (
            f"<b>🏦 Exchanges you trade on</b>: {_names(profile.exchanges, kb.EXCHANGES) or 'all'}"
            "\nYou get opportunities on these exchanges only; none selected means all."
            f"\n\n{API_KEY_GUIDANCE}",
            kb.settings_exchanges(profile.exchanges, offered_exchanges(settings)),
        )
    onboarding = (
        ""
        if profile.onboarding is OnboardingState.COMPLETED
        else "\n\nOnboarding isn't finished: tap “Finish onboarding” to complete it."
    )
    return (
        f"<b>⚙️ Your settings</b>\n{summary(profile, settings, now)}\n\n"
        f"Tap a button to change a setting.{onboarding}",
        kb.settings_main(profile, now, exchanges_offered=len(offered_exchanges(settings))),
    )


def _profit_range(settings: Settings) -> str:
    o = settings.opportunities
    return f"{o.min_profit_floor_pct:g}% to {o.min_profit_ceiling_pct:g}%"


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


async def _edit_by_id(
    bot: Bot | None, chat_id: int, message_id: int | None, text: str, markup: InlineKeyboardMarkup
) -> bool:
    if bot is None or message_id is None:
        return False
    try:
        await bot.edit_message_text(
            text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
        )
    except TelegramBadRequest as exc:
        return "not modified" in str(exc)
    return True


async def _rerender(
    query: CallbackQuery, services: Services, session: UserSession, page: str
) -> None:
    profile = await services.profiles.get(session.user_id)
    text, markup = render(page, profile, services.settings, services.clock.now())
    await edit_or_send(query, text, markup)


# --- typed input state ------------------------------------------------------------------------


async def _wait_for_input(
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


# --- handlers ---------------------------------------------------------------------------------


@router.message(StateFilter(SettingsInput), IS_COMMAND)
async def command_while_waiting(message: Message, state: FSMContext) -> None:
    """A command ends the wait for typed input, then goes on to its own handler.

    The handlers below still see the state as it was when the update arrived, so each of them
    refuses commands itself."""
    await leave_input(state)
    raise SkipHandler


@router.message(Command("settings", "preferences", ignore_case=True))
async def show_settings(message: Message, services: Services, session: UserSession) -> None:
    # Private chats only: the session gate answers /settings in a group with a pointer here.
    profile = await services.profiles.get(session.user_id)
    text, markup = render(Page.MAIN, profile, services.settings, services.clock.now())
    await message.answer(text, reply_markup=markup)


@router.callback_query(SettingsCB.filter(F.action != Act.FINISH))
async def on_settings_button(
    query: CallbackQuery,
    callback_data: SettingsCB,
    services: Services,
    session: UserSession,
    state: FSMContext,
) -> None:
    try:
        outcome = await _apply(query, callback_data, services, session, state)
    except ValueError:
        await refuse(query, services, session.session_id, FORGED, templates.UNKNOWN_BUTTON)
        return
    if outcome is None:  # now waiting for typed input: the prompt is shown
        await query.answer()
        return
    page, note = outcome
    await _rerender(query, services, session, page)
    await query.answer(note or None)


async def _apply(
    query: CallbackQuery,
    cb: SettingsCB,
    services: Services,
    session: UserSession,
    state: FSMContext,
) -> tuple[str, str] | None:
    """Carry out one settings button; the page to show and a short note. ValueError if forged."""
    action, value = cb.action, cb.value
    now = services.clock.now()
    if action == Act.OPEN:
        if value not in kb.PAGES:
            raise ValueError(value)
        return value, ""
    if action == Act.CANCEL:
        await leave_input(state)
        return (value if value in kb.PAGES else Page.MAIN), "Cancelled"
    if action == Act.PUSH:
        if value not in ("0", "1"):
            raise ValueError(value)
        await save_preferences(services, session, {"push_enabled": value == "1"})
        return Page.MAIN, "Push alerts on" if value == "1" else "Push alerts off"
    if action == Act.PIERCE:
        if value not in ("0", "1"):
            raise ValueError(value)
        await save_preferences(services, session, {"high_priority_pierces_dnd": value == "1"})
        return Page.DND, "Saved"
    if action == Act.TYPE:
        add, member = parse_toggle(value, {t.value for t in OpportunityType})
        profile = await services.profiles.get(session.user_id)
        plan = services.settings.tier_limits(profile.tier).opportunity_types
        if not await save_type(services, session, OpportunityType(member), add, plan_types=plan):
            return Page.TYPES, LAST_TYPE
        return Page.TYPES, "Saved"
    if action == Act.UNMUTE:
        pair = _listed_pair(value, (await services.profiles.get(session.user_id)).preferences)
        await save_member(services, session, "muted_pairs", pair, False)
        return Page.MUTED, f"Unmuted {pair}"
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
            return page, f"{'Muted' if muting else 'Watching'} {value}"
        prompt = (
            f"{'🔇' if muting else '👀'} Send the pair to {'mute' if muting else 'watch'}, "
            "for example <code>BTC/USDT</code> or just <code>btc</code>."
        )
        wanted = SettingsInput.muted_pair if muting else SettingsInput.watch_pair
        await _wait_for_input(query, state, wanted, page, prompt)
        return None
    if action == Act.UNWATCH:
        pair = _listed_pair(value, (await services.profiles.get(session.user_id)).preferences)
        left = await save_member(services, session, "watchlist", pair, False)
        profile = await services.profiles.get(session.user_id)
        if not left and profile.preferences.watch_only:
            await save_preferences(services, session, {"watch_only": False})
            return Page.WATCH, f"Removed {pair}; watchlist empty, so every pair reaches you again"
        return Page.WATCH, f"Removed {pair}"
    if action == Act.WATCH_ONLY:
        if value not in ("0", "1"):
            raise ValueError(value)
        profile = await services.profiles.get(session.user_id)
        if value == "1" and not profile.preferences.watchlist:
            return Page.WATCH, WATCH_EMPTY
        await save_preferences(services, session, {"watch_only": value == "1"})
        return Page.WATCH, "Only your watchlist" if value == "1" else "Every pair except muted"
    if action == Act.PROFIT:
        if not value:
            prompt = (
                "💰 Send your minimum profit in percent, for example <code>0.3</code> "
                f"({_profit_range(services.settings)}; 0 for no minimum)."
            )
            await _wait_for_input(query, state, SettingsInput.min_profit, Page.PROFIT, prompt)
            return None
        if value not in {kb.profit_value(p) for p in kb.PROFITS}:
            raise ValueError(value)
        await save_preferences(services, session, {"min_profit_pct": float(value)})
        return Page.PROFIT, f"Minimum profit {value}%"
    if action == Act.TZ:
        if not value:
            prompt = (
                "🌍 Send your timezone as an IANA name, for example <code>Europe/Paris</code> "
                "or <code>America/Chicago</code>."
            )
            await _wait_for_input(query, state, SettingsInput.timezone, Page.TZ, prompt)
            return None
        tz = parse_timezone(value)
        if tz is None:
            raise ValueError(value)
        await save_preferences(services, session, {"timezone": tz})
        return Page.TZ, f"Timezone {timezone_label(tz)}"
    if action == Act.HOURS:
        if not value:
            prompt = (
                "🕗 Send your active hours as <code>HH-HH</code>, for example <code>07-23</code>."
            )
            await _wait_for_input(query, state, SettingsInput.hours, Page.HOURS, prompt)
            return None
        hours = parse_hours(value)
        if hours is None:
            raise ValueError(value)
        await save_preferences(services, session, {"active_hours": hours})
        return Page.HOURS, f"Active hours {kb.hours_label(hours)}"
    if action == Act.DND:
        if not value.isdigit() or int(value) not in kb.DND_HOURS:
            raise ValueError(value)
        hours_on = int(value)
        until = now + hours_on * 3_600 if hours_on else None
        await save_preferences(services, session, {"dnd_until": until})
        return Page.DND, f"Do Not Disturb for {hours_on}h" if hours_on else "Do Not Disturb off"
    if action == Act.RISK:
        risk = RiskTolerance(value)  # ValueError if forged
        await save_preferences(services, session, {"risk_tolerance": risk})
        return Page.RISK, f"Risk tolerance {risk.value}"
    if action == Act.EXCHANGE:
        add, member = parse_toggle(value, offered_exchanges(services.settings))
        await save_member(services, session, "exchanges", member, add)
        return Page.EXCHANGES, "Saved"
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


async def _typed_done(
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
    edited = await _edit_by_id(message.bot, message.chat.id, data.get("input_msg"), text, markup)
    if edited:
        await message.answer(f"✅ {note}")
    else:
        await message.answer(f"✅ {note}\n\n{text}", reply_markup=markup)


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
    done = "Muted" if muting else "Added to your watchlist:"
    await _typed_done(message, services, session, state, f"{done} {escape(match.pair)}.")


@router.message(StateFilter(SettingsInput.min_profit), HAS_TEXT, NOT_COMMAND)
async def typed_min_profit(
    message: Message, services: Services, session: UserSession, state: FSMContext
) -> None:
    o = services.settings.opportunities
    value = parse_min_profit(message.text or "", o.min_profit_floor_pct, o.min_profit_ceiling_pct)
    if value is None:
        await message.answer(
            f"Please send a percentage from {_profit_range(services.settings)} (for example "
            "<code>0.3</code>), or 0 for no minimum. Or press Cancel."
        )
        return
    await save_preferences(services, session, {"min_profit_pct": value})
    await _typed_done(message, services, session, state, f"Minimum profit set to {value:g}%.")


@router.message(StateFilter(SettingsInput.timezone), HAS_TEXT, NOT_COMMAND)
async def typed_timezone(
    message: Message, services: Services, session: UserSession, state: FSMContext
) -> None:
    tz = parse_timezone(message.text or "")
    if tz is None:
        await message.answer(TZ_EXPECTED)
        return
    await save_preferences(services, session, {"timezone": tz})
    label = timezone_label(tz)
    shown = label if label == tz else f"{label} ({tz})"
    await _typed_done(message, services, session, state, f"Timezone set to {escape(shown)}.")


@router.message(StateFilter(SettingsInput.hours), HAS_TEXT, NOT_COMMAND)
async def typed_hours(
    message: Message, services: Services, session: UserSession, state: FSMContext
) -> None:
    hours = parse_hours(message.text or "")
    if hours is None:
        await message.answer(HOURS_EXPECTED)
        return
    await save_preferences(services, session, {"active_hours": hours})
    await _typed_done(
        message, services, session, state, f"Active hours set to {_hours_text(hours)}."
    )


@router.message(StateFilter(SettingsInput), NOT_COMMAND)
async def not_text_while_waiting(message: Message) -> None:
    await message.answer(TEXT_EXPECTED)
