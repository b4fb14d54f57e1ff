"""The /settings keyboards: the main page, one per page, typed-input Cancel, "did you mean"."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.models import OnboardingState, OpportunityType, RiskTolerance, UserProfile
from messaging.ui.callbacks import SettingsCB
from messaging.ui.keyboards.buttons import Rows, button, chunks, mark, type_rows
from messaging.ui.keyboards.vocabulary import (
    BACK_LABEL,
    DND_HOURS,
    EXCHANGES,
    HOURS,
    MAX_UNMUTE_BUTTONS,
    PROFITS,
    RISKS,
    TIMEZONES,
    Act,
    Page,
    exchange_label,
    hours_label,
    hours_value,
    profit_value,
    toggle_value,
)


def _set(action: str, value: str = "") -> SettingsCB:
    return SettingsCB(action=action, value=value)


def _back() -> list[InlineKeyboardButton]:
    return [button(BACK_LABEL, _set(Act.OPEN, Page.MAIN))]


def _count(selected: frozenset[str], every: int) -> str:
    return "all" if not selected or len(selected) >= every else str(len(selected))


def settings_main(
    profile: UserProfile, now: float, *, exchanges_offered: int = len(EXCHANGES)
) -> InlineKeyboardMarkup:
    p = profile.preferences
    dnd = "on" if p.in_dnd(now) else "off"
    rows: Rows = [
        [
            button(
                f"🔔 Push alerts: {'on' if p.push_enabled else 'off'}",
                _set(Act.PUSH, "0" if p.push_enabled else "1"),
            )
        ],
        [
            button(
                f"📊 Types ({len(p.opportunity_types)}/{len(OpportunityType)}) ›",
                _set(Act.OPEN, Page.TYPES),
            ),
            button(f"🔇 Muted pairs ({len(p.muted_pairs)}) ›", _set(Act.OPEN, Page.MUTED)),
        ],
        [
            button(
                f"👀 Watchlist: {'only these' if p.watch_only else 'off'} ({len(p.watchlist)}) ›",
                _set(Act.OPEN, Page.WATCH),
            )
        ],
        [
            button(f"💰 Min profit {p.min_profit_pct:g}% ›", _set(Act.OPEN, Page.PROFIT)),
            button(f"⚖️ Risk: {p.risk_tolerance.value} ›", _set(Act.OPEN, Page.RISK)),
        ],
        [
            button(f"🌍 Timezone: {p.timezone} ›", _set(Act.OPEN, Page.TZ)),
            button(f"🕗 Hours: {hours_label(p.active_hours)} ›", _set(Act.OPEN, Page.HOURS)),
        ],
        [button(f"🌙 Do Not Disturb: {dnd} ›", _set(Act.OPEN, Page.DND))],
        [
            button(
                f"🏦 Exchanges: {_count(profile.exchanges, exchanges_offered)} ›",
                _set(Act.OPEN, Page.EXCHANGES),
            ),
        ],
    ]
    if profile.onboarding is not OnboardingState.COMPLETED:
        rows.append([button("🚀 Finish onboarding", _set(Act.FINISH))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_types(
    selected: frozenset[OpportunityType], allowed: frozenset[OpportunityType]
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[*type_rows(selected, allowed, lambda v: _set(Act.TYPE, v)), _back()]
    )


def settings_muted(pairs: frozenset[str]) -> InlineKeyboardMarkup:
    unmute = [
        button(f"🔊 {pair}", _set(Act.UNMUTE, pair)) for pair in sorted(pairs)[:MAX_UNMUTE_BUTTONS]
    ]
    rows = [*chunks(unmute, 2), [button("➕ Mute a pair", _set(Act.MUTE))], _back()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_profit(current: float) -> InlineKeyboardMarkup:
    row = [
        button(f"{'✅ ' if pct == current else ''}{pct:g}%", _set(Act.PROFIT, profit_value(pct)))
        for pct in PROFITS
    ]
    typed = [button("⌨️ Type a value", _set(Act.PROFIT))]
    return InlineKeyboardMarkup(inline_keyboard=[row, typed, _back()])


def settings_watch(pairs: frozenset[str], only: bool) -> InlineKeyboardMarkup:
    """The watchlist: its mode, a remove button per pair, and a way to add one."""
    mode = [
        button(f"{'✅ ' if not only else ''}Everything except muted", _set(Act.WATCH_ONLY, "0")),
        button(f"{'✅ ' if only else ''}Only these pairs", _set(Act.WATCH_ONLY, "1")),
    ]
    remove = [
        button(f"➖ {pair}", _set(Act.UNWATCH, pair)) for pair in sorted(pairs)[:MAX_UNMUTE_BUTTONS]
    ]
    rows = [mode, *chunks(remove, 2), [button("➕ Add a pair", _set(Act.WATCH))], _back()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_timezone(current: str) -> InlineKeyboardMarkup:
    buttons = [
        button(f"{'✅ ' if name == current else ''}{label}", _set(Act.TZ, name))
        for name, label in TIMEZONES.items()
    ]
    rows = [*chunks(buttons, 3), [button("⌨️ Type another timezone", _set(Act.TZ))], _back()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_hours(current: tuple[int, int]) -> InlineKeyboardMarkup:
    row = [
        button(
            f"{'✅ ' if h == current else ''}{hours_label(h).capitalize()}",
            _set(Act.HOURS, hours_value(h)),
        )
        for h in HOURS
    ]
    rows = [row, [button("⌨️ Type hours (HH-HH)", _set(Act.HOURS))], _back()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_dnd(active: bool, pierce: bool) -> InlineKeyboardMarkup:
    row = [
        button(("✅ Off" if not active else "Off") if h == 0 else f"{h}h", _set(Act.DND, str(h)))
        for h in DND_HOURS
    ]
    pierce_row = [
        button(
            f"{mark(pierce)} High-priority alerts come through DND",
            _set(Act.PIERCE, "0" if pierce else "1"),
        )
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row, pierce_row, _back()])


def settings_risk(current: RiskTolerance) -> InlineKeyboardMarkup:
    row = [
        button(f"{'✅ ' if r is current else ''}{r.value.capitalize()}", _set(Act.RISK, r.value))
        for r in RISKS
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row, _back()])


def _exchange_toggles(action: str, selected: frozenset[str], offered: Sequence[str]) -> Rows:
    buttons = [
        button(
            f"{mark(ex in selected)} {exchange_label(ex)}",
            _set(action, toggle_value(ex, selected)),
        )
        for ex in offered
    ]
    return chunks(buttons, 3)


def settings_exchanges(selected: frozenset[str], offered: Sequence[str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[*_exchange_toggles(Act.EXCHANGE, selected, offered), _back()]
    )


def settings_input(back_to: str) -> InlineKeyboardMarkup:
    """Shown while waiting for typed input: a way out."""
    return InlineKeyboardMarkup(inline_keyboard=[[button("✖️ Cancel", _set(Act.CANCEL, back_to))]])


def did_you_mean(pair: str, action: str) -> InlineKeyboardMarkup:
    """One button taking the suggested pair (`action`: mute or watch), and Cancel."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(f"✅ {pair}", _set(action, pair))],
            [
                button(
                    "✖️ Cancel", _set(Act.CANCEL, Page.MUTED if action == Act.MUTE else Page.WATCH)
                )
            ],
        ]
    )


def finish_onboarding() -> InlineKeyboardMarkup:
    """Offered by a resumed /start while onboarding is unfinished."""
    return InlineKeyboardMarkup(
        inline_keyboard=[[button("🚀 Finish onboarding", _set(Act.FINISH))]]
    )
