"""Inline keyboards of onboarding and /settings: pure functions of what the user has chosen.

Every button carries typed callback data (`OnboardingCB`, `SettingsCB`), packed to at most 64
bytes. Toggles say what pressing them does (``+binance`` adds, ``-binance`` removes), so a press
on an outdated keyboard still does what its label promised, and a repeated press is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Final

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.models import OnboardingState, OpportunityType, RiskTolerance, UserProfile
from messaging.ui.callbacks import OnboardingCB, SessionCB, SettingsCB

# Display names of exchanges; which are offered is the market's list (`MarketCatalogue`).
EXCHANGES: Final[dict[str, str]] = {
    "binance": "Binance",
    "bybit": "Bybit",
    "okx": "OKX",
    "kraken": "Kraken",
    "coinbase": "Coinbase",
}
# Timezone presets with short labels; /settings also takes any IANA name typed in.
TIMEZONES: Final[dict[str, str]] = {
    "UTC": "UTC",
    "Europe/London": "London",
    "Europe/Berlin": "Berlin",
    "America/New_York": "New York",
    "Asia/Singapore": "Singapore",
    "Asia/Tokyo": "Tokyo",
}
# Active-hours presets (start hour, end hour); (0, 24) is "always".
HOURS: Final[tuple[tuple[int, int], ...]] = ((0, 24), (8, 22), (9, 18))
PROFITS: Final[tuple[float, ...]] = (0.0, 0.1, 0.25, 0.5, 1.0)
# Do Not Disturb presets in hours; 0 turns it off.
DND_HOURS: Final[tuple[int, ...]] = (0, 1, 8, 24)
RISKS: Final[tuple[RiskTolerance, ...]] = tuple(RiskTolerance)

SKIP_LABEL: Final = "Skip — finish later with /settings"
NEXT_LABEL: Final = "Next ▶"
BACK_LABEL: Final = "‹ Back"


class Step:
    """Onboarding steps, in order (the `step` of `OnboardingCB`)."""

    WELCOME: Final = "welcome"
    TIER: Final = "tier"
    TYPES: Final = "types"
    SCHEDULE: Final = "schedule"
    RISK: Final = "risk"
    EXCHANGES: Final = "exchanges"
    DONE: Final = "done"


ONBOARDING_STEPS: Final[tuple[str, ...]] = (
    Step.WELCOME,
    Step.TIER,
    Step.TYPES,
    Step.SCHEDULE,
    Step.RISK,
    Step.EXCHANGES,
)


class Act:
    """Actions of `SettingsCB`; pages are opened with ``open`` and the page name as value."""

    OPEN: Final = "open"  # value: a Page
    PUSH: Final = "push"  # value: "1" | "0"
    TYPE: Final = "type"  # value: "+arbitrage" | "-arbitrage"
    MUTE: Final = "mute"  # value: "" (asks for a pair to be typed)
    UNMUTE: Final = "unmute"  # value: "BTC/USDT"
    PROFIT: Final = "profit"  # value: "0.25"
    TZ: Final = "tz"  # value: an IANA name, or "" to type one
    HOURS: Final = "hours"  # value: "8-22", or "" to type them
    DND: Final = "dnd"  # value: hours, "0" = off
    PIERCE: Final = "pierce"  # value: "1" | "0"
    RISK: Final = "risk"  # value: low | medium | high
    EXCHANGE: Final = "exch"  # value: "+binance" | "-binance"
    WATCH: Final = "watch"  # value: "" (asks for a pair to be typed)
    UNWATCH: Final = "unwatch"  # value: "BTC/USDT"
    WATCH_ONLY: Final = "wonly"  # value: "1" only the watchlist | "0" everything except muted
    FINISH: Final = "finish"  # value: "" (resumes onboarding)
    CANCEL: Final = "cancel"  # value: "" (stops waiting for typed input)


class Page:
    MAIN: Final = ""
    TYPES: Final = "types"
    MUTED: Final = "muted"
    PROFIT: Final = "profit"
    TZ: Final = "tz"
    HOURS: Final = "hours"
    DND: Final = "dnd"
    RISK: Final = "risk"
    EXCHANGES: Final = "exch"
    WATCH: Final = "watch"


PAGES: Final[frozenset[str]] = frozenset(
    {
        Page.MAIN,
        Page.TYPES,
        Page.MUTED,
        Page.PROFIT,
        Page.TZ,
        Page.HOURS,
        Page.DND,
        Page.RISK,
        Page.EXCHANGES,
        Page.WATCH,
    }
)

MAX_UNMUTE_BUTTONS: Final = 40

Rows = list[list[InlineKeyboardButton]]


def _btn(text: str, data: OnboardingCB | SettingsCB) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _mark(on: bool) -> str:
    return "✅" if on else "⬜"


def _chunks(buttons: Sequence[InlineKeyboardButton], size: int) -> Rows:
    return [list(buttons[i : i + size]) for i in range(0, len(buttons), size)]


def toggle_value(member: str, selected: Iterable[str]) -> str:
    """The value of a toggle button: ``-member`` if selected (pressing removes), else ``+``."""
    return f"-{member}" if member in set(selected) else f"+{member}"


def hours_value(hours: tuple[int, int]) -> str:
    return f"{hours[0]}-{hours[1]}"


def hours_label(hours: tuple[int, int]) -> str:
    start, end = hours
    if (start, end) == (0, 24) or start == end:
        return "always"
    return f"{start:02d}–{end:02d}"


def profit_value(pct: float) -> str:
    return f"{pct:g}"


# --- onboarding -------------------------------------------------------------------------------


def _ob(step: str, value: str) -> OnboardingCB:
    return OnboardingCB(step=step, value=value)


def _ob_nav(step: str) -> Rows:
    return [
        [_btn(NEXT_LABEL, _ob(step, "next"))],
        [_btn(SKIP_LABEL, _ob(step, "skip"))],
    ]


def onboarding_welcome() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=_ob_nav(Step.WELCOME))


def onboarding_tier() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=_ob_nav(Step.TIER))


def _type_rows(
    selected: frozenset[OpportunityType],
    allowed: frozenset[OpportunityType],
    data: Callable[[str], OnboardingCB | SettingsCB],
) -> Rows:
    """One toggle per opportunity type; 🔒 marks the types the user's tier does not deliver."""
    chosen = {t.value for t in selected}
    return [
        [
            _btn(
                f"{_mark(t in selected)} {t.label}" + ("" if t in allowed else " 🔒"),
                data(toggle_value(t.value, chosen)),
            )
        ]
        for t in OpportunityType
    ]


def onboarding_types(
    selected: frozenset[OpportunityType], allowed: frozenset[OpportunityType]
) -> InlineKeyboardMarkup:
    rows = _type_rows(selected, allowed, lambda v: _ob(Step.TYPES, v))
    return InlineKeyboardMarkup(inline_keyboard=rows + _ob_nav(Step.TYPES))


def onboarding_schedule(hours: tuple[int, int], tz: str) -> InlineKeyboardMarkup:
    hour_row = [
        _btn(
            f"{'✅ ' if h == hours else ''}{hours_label(h).capitalize()}",
            _ob(Step.SCHEDULE, f"h={hours_value(h)}"),
        )
        for h in HOURS
    ]
    tz_buttons = [
        _btn(f"{'✅ ' if name == tz else ''}{label}", _ob(Step.SCHEDULE, f"tz={name}"))
        for name, label in TIMEZONES.items()
    ]
    rows = [hour_row, *_chunks(tz_buttons, 3)]
    return InlineKeyboardMarkup(inline_keyboard=rows + _ob_nav(Step.SCHEDULE))


def onboarding_risk(risk: RiskTolerance) -> InlineKeyboardMarkup:
    row = [
        _btn(f"{'✅ ' if r is risk else ''}{r.value.capitalize()}", _ob(Step.RISK, r.value))
        for r in RISKS
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row, *_ob_nav(Step.RISK)])


def exchange_label(name: str) -> str:
    return EXCHANGES.get(name, name.capitalize())


def onboarding_exchanges(selected: frozenset[str], offered: Sequence[str]) -> InlineKeyboardMarkup:
    """Toggles for the exchanges the market has (`offered`), not every name we can label."""
    buttons = [
        _btn(
            f"{_mark(ex in selected)} {exchange_label(ex)}",
            _ob(Step.EXCHANGES, toggle_value(ex, selected)),
        )
        for ex in offered
    ]
    rows = _chunks(buttons, 3)
    return InlineKeyboardMarkup(inline_keyboard=rows + _ob_nav(Step.EXCHANGES))


def onboarding_done() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[_btn("⚙️ Open settings", SettingsCB(action=Act.OPEN, value=Page.MAIN))]]
    )


# --- settings ---------------------------------------------------------------------------------


def _set(action: str, value: str = "") -> SettingsCB:
    return SettingsCB(action=action, value=value)


def _back() -> list[InlineKeyboardButton]:
    return [_btn(BACK_LABEL, _set(Act.OPEN, Page.MAIN))]


def _count(selected: frozenset[str], every: int) -> str:
    return "all" if not selected or len(selected) >= every else str(len(selected))


def settings_main(
    profile: UserProfile, now: float, *, exchanges_offered: int = len(EXCHANGES)
) -> InlineKeyboardMarkup:
    p = profile.preferences
    dnd = "on" if p.in_dnd(now) else "off"
    rows: Rows = [
        [
            _btn(
                f"🔔 Push alerts: {'on' if p.push_enabled else 'off'}",
                _set(Act.PUSH, "0" if p.push_enabled else "1"),
            )
        ],
        [
            _btn(
                f"📊 Types ({len(p.opportunity_types)}/{len(OpportunityType)}) ›",
                _set(Act.OPEN, Page.TYPES),
            ),
            _btn(f"🔇 Muted pairs ({len(p.muted_pairs)}) ›", _set(Act.OPEN, Page.MUTED)),
        ],
        [
            _btn(
                f"👀 Watchlist: {'only these' if p.watch_only else 'off'} ({len(p.watchlist)}) ›",
                _set(Act.OPEN, Page.WATCH),
            )
        ],
        [
            _btn(f"💰 Min profit {p.min_profit_pct:g}% ›", _set(Act.OPEN, Page.PROFIT)),
            _btn(f"⚖️ Risk: {p.risk_tolerance.value} ›", _set(Act.OPEN, Page.RISK)),
        ],
        [
            _btn(f"🌍 Timezone: {p.timezone} ›", _set(Act.OPEN, Page.TZ)),
            _btn(f"🕗 Hours: {hours_label(p.active_hours)} ›", _set(Act.OPEN, Page.HOURS)),
        ],
        [_btn(f"🌙 Do Not Disturb: {dnd} ›", _set(Act.OPEN, Page.DND))],
        [
            _btn(
                f"🏦 Exchanges: {_count(profile.exchanges, exchanges_offered)} ›",
                _set(Act.OPEN, Page.EXCHANGES),
            ),
        ],
    ]
    if profile.onboarding is not OnboardingState.COMPLETED:
        rows.append([_btn("🚀 Finish onboarding", _set(Act.FINISH))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_types(
    selected: frozenset[OpportunityType], allowed: frozenset[OpportunityType]
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[*_type_rows(selected, allowed, lambda v: _set(Act.TYPE, v)), _back()]
    )


def settings_muted(pairs: frozenset[str]) -> InlineKeyboardMarkup:
    unmute = [
        _btn(f"🔊 {pair}", _set(Act.UNMUTE, pair)) for pair in sorted(pairs)[:MAX_UNMUTE_BUTTONS]
    ]
    rows = [*_chunks(unmute, 2), [_btn("➕ Mute a pair", _set(Act.MUTE))], _back()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_profit(current: float) -> InlineKeyboardMarkup:
    row = [
        _btn(f"{'✅ ' if pct == current else ''}{pct:g}%", _set(Act.PROFIT, profit_value(pct)))
        for pct in PROFITS
    ]
    typed = [_btn("⌨️ Type a value", _set(Act.PROFIT))]
    return InlineKeyboardMarkup(inline_keyboard=[row, typed, _back()])


def settings_watch(pairs: frozenset[str], only: bool) -> InlineKeyboardMarkup:
    """The watchlist: its mode, a remove button per pair, and a way to add one."""
    mode = [
        _btn(f"{'✅ ' if not only else ''}Everything except muted", _set(Act.WATCH_ONLY, "0")),
        _btn(f"{'✅ ' if only else ''}Only these pairs", _set(Act.WATCH_ONLY, "1")),
    ]
    remove = [
        _btn(f"➖ {pair}", _set(Act.UNWATCH, pair)) for pair in sorted(pairs)[:MAX_UNMUTE_BUTTONS]
    ]
    rows = [mode, *_chunks(remove, 2), [_btn("➕ Add a pair", _set(Act.WATCH))], _back()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_timezone(current: str) -> InlineKeyboardMarkup:
    buttons = [
        _btn(f"{'✅ ' if name == current else ''}{label}", _set(Act.TZ, name))
        for name, label in TIMEZONES.items()
    ]
    rows = [*_chunks(buttons, 3), [_btn("⌨️ Type another timezone", _set(Act.TZ))], _back()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_hours(current: tuple[int, int]) -> InlineKeyboardMarkup:
    row = [
        _btn(
            f"{'✅ ' if h == current else ''}{hours_label(h).capitalize()}",
            _set(Act.HOURS, hours_value(h)),
        )
        for h in HOURS
    ]
    rows = [row, [_btn("⌨️ Type hours (HH-HH)", _set(Act.HOURS))], _back()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_dnd(active: bool, pierce: bool) -> InlineKeyboardMarkup:
    row = [
        _btn(("✅ Off" if not active else "Off") if h == 0 else f"{h}h", _set(Act.DND, str(h)))
        for h in DND_HOURS
    ]
    pierce_row = [
        _btn(
            f"{_mark(pierce)} High-priority alerts come through DND",
            _set(Act.PIERCE, "0" if pierce else "1"),
        )
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row, pierce_row, _back()])


def settings_risk(current: RiskTolerance) -> InlineKeyboardMarkup:
    row = [
        _btn(f"{'✅ ' if r is current else ''}{r.value.capitalize()}", _set(Act.RISK, r.value))
        for r in RISKS
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row, _back()])


def _exchange_toggles(action: str, selected: frozenset[str], offered: Sequence[str]) -> Rows:
    buttons = [
        _btn(
            f"{_mark(ex in selected)} {exchange_label(ex)}",
            _set(action, toggle_value(ex, selected)),
        )
        for ex in offered
    ]
    return _chunks(buttons, 3)


def settings_exchanges(selected: frozenset[str], offered: Sequence[str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[*_exchange_toggles(Act.EXCHANGE, selected, offered), _back()]
    )


def settings_input(back_to: str) -> InlineKeyboardMarkup:
    """Shown while waiting for typed input: a way out."""
    return InlineKeyboardMarkup(inline_keyboard=[[_btn("✖️ Cancel", _set(Act.CANCEL, back_to))]])


def did_you_mean(pair: str, action: str) -> InlineKeyboardMarkup:
    """One button taking the suggested pair (`action`: mute or watch), and Cancel."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_btn(f"✅ {pair}", _set(action, pair))],
            [_btn("✖️ Cancel", _set(Act.CANCEL, Page.MUTED if action == Act.MUTE else Page.WATCH))],
        ]
    )


def confirm_logout() -> InlineKeyboardMarkup:
    """/logout asks first: ending the session stops every alert."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text="👋 Yes, log me out", callback_data=SessionCB(action="logout").pack()
                ),
                InlineKeyboardButton(
                    text="✖️ Stay logged in", callback_data=SessionCB(action="stay").pack()
                ),
            ]
        ]
    )


def finish_onboarding() -> InlineKeyboardMarkup:
    """Offered by a resumed /start while onboarding is unfinished."""
    return InlineKeyboardMarkup(inline_keyboard=[[_btn("🚀 Finish onboarding", _set(Act.FINISH))]])


def keep_session() -> InlineKeyboardMarkup:
    """The expiry reminder's one button: pressing it is activity, which extends the session."""
    keep = SessionCB(action="keep").pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="✅ Keep my session", callback_data=keep)]]
    )
