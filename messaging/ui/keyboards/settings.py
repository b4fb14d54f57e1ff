"""The /settings keyboards: the main page, one per page, typed-input Cancel, "did you mean"."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.models import OnboardingState, OpportunityType, RiskTolerance, UserProfile
from messaging.i18n import LANGUAGE_NAMES, LANGUAGES, _, normalize
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
from messaging.ui.labels import risk_label


def _set(action: str, value: str = "") -> SettingsCB:
    return SettingsCB(action=action, value=value)


def _back() -> list[InlineKeyboardButton]:
    return [button(_(BACK_LABEL), _set(Act.OPEN, Page.MAIN))]


def _count(selected: frozenset[str], every: int) -> str:
    return _("all") if not selected or len(selected) >= every else str(len(selected))


def _on(on: bool) -> str:
    return _("on") if on else _("off")


def settings_main(
    profile: UserProfile, now: float, *, exchanges_offered: int = len(EXCHANGES)
) -> InlineKeyboardMarkup:
    p = profile.preferences
    dnd = _on(p.in_dnd(now))
    rows: Rows = [
        [
            button(
                _("🔔 Push alerts: {state}").format(state=_on(p.push_enabled)),
                _set(Act.PUSH, "0" if p.push_enabled else "1"),
            )
        ],
        [
            button(
                _("📊 Types ({n}/{every}) ›").format(
                    n=len(p.opportunity_types), every=len(OpportunityType)
                ),
                _set(Act.OPEN, Page.TYPES),
            ),
            button(
                _("🔇 Muted pairs ({n}) ›").format(n=len(p.muted_pairs)),
                _set(Act.OPEN, Page.MUTED),
            ),
        ],
        [
            button(
                _("👀 Watchlist: {mode} ({n}) ›").format(
                    mode=_("only these") if p.watch_only else _("off"), n=len(p.watchlist)
                ),
                _set(Act.OPEN, Page.WATCH),
            )
        ],
        [
            button(
                _("💰 Min profit {pct}% ›").format(pct=f"{p.min_profit_pct:g}"),
                _set(Act.OPEN, Page.PROFIT),
            ),
            button(
                _("⚖️ Risk: {risk} ›").format(risk=risk_label(p.risk_tolerance)),
                _set(Act.OPEN, Page.RISK),
            ),
        ],
        [
            button(_("🌍 Timezone: {tz} ›").format(tz=p.timezone), _set(Act.OPEN, Page.TZ)),
            button(
                _("🕗 Hours: {hours} ›").format(hours=hours_label(p.active_hours)),
                _set(Act.OPEN, Page.HOURS),
            ),
        ],
        [button(_("🌙 Do Not Disturb: {state} ›").format(state=dnd), _set(Act.OPEN, Page.DND))],
        [
            button(
                _("🏦 Exchanges: {n} ›").format(n=_count(profile.exchanges, exchanges_offered)),
                _set(Act.OPEN, Page.EXCHANGES),
            ),
        ],
        [
            button(
                _("🌐 Language: {name} ›").format(name=LANGUAGE_NAMES[normalize(profile.language)]),
                _set(Act.OPEN, Page.LANGUAGE),
            ),
        ],
    ]
    # Forgets what the relevance model learned from the user (core.personalisation).
    rows.append([button(_("🧹 Reset personalisation"), _set(Act.RESET_RELEVANCE))])
    if profile.onboarding is not OnboardingState.COMPLETED:
        rows.append([button(_("🚀 Finish onboarding"), _set(Act.FINISH))])
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
    rows = [*chunks(unmute, 2), [button(_("➕ Mute a pair"), _set(Act.MUTE))], _back()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_profit(current: float) -> InlineKeyboardMarkup:
    row = [
        button(f"{'✅ ' if pct == current else ''}{pct:g}%", _set(Act.PROFIT, profit_value(pct)))
        for pct in PROFITS
    ]
    typed = [button(_("⌨️ Type a value"), _set(Act.PROFIT))]
    return InlineKeyboardMarkup(inline_keyboard=[row, typed, _back()])


def settings_watch(pairs: frozenset[str], only: bool) -> InlineKeyboardMarkup:
    """The watchlist: its mode, a remove button per pair, and a way to add one."""
    mode = [
        button(
            ("✅ " if not only else "") + _("Everything except muted"), _set(Act.WATCH_ONLY, "0")
        ),
        button(("✅ " if only else "") + _("Only these pairs"), _set(Act.WATCH_ONLY, "1")),
    ]
    remove = [
        button(f"➖ {pair}", _set(Act.UNWATCH, pair)) for pair in sorted(pairs)[:MAX_UNMUTE_BUTTONS]
    ]
    rows = [mode, *chunks(remove, 2), [button(_("➕ Add a pair"), _set(Act.WATCH))], _back()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_timezone(current: str) -> InlineKeyboardMarkup:
    buttons = [
        button(f"{'✅ ' if name == current else ''}{_(label)}", _set(Act.TZ, name))
        for name, label in TIMEZONES.items()
    ]
    rows = [*chunks(buttons, 3), [button(_("⌨️ Type another timezone"), _set(Act.TZ))], _back()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_hours(current: tuple[int, int]) -> InlineKeyboardMarkup:
    row = [
        button(
            f"{'✅ ' if h == current else ''}{hours_label(h).capitalize()}",
            _set(Act.HOURS, hours_value(h)),
        )
        for h in HOURS
    ]
    rows = [row, [button(_("⌨️ Type hours (HH-HH)"), _set(Act.HOURS))], _back()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def settings_dnd(active: bool, pierce: bool) -> InlineKeyboardMarkup:
    row = [
        button(
            (_("✅ Off") if not active else _("Off")) if h == 0 else _("{n}h").format(n=h),
            _set(Act.DND, str(h)),
        )
        for h in DND_HOURS
    ]
    pierce_row = [
        button(
            f"{mark(pierce)} " + _("High-priority alerts come through DND"),
            _set(Act.PIERCE, "0" if pierce else "1"),
        )
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row, pierce_row, _back()])


def settings_risk(current: RiskTolerance) -> InlineKeyboardMarkup:
    row = [
        button(
            f"{'✅ ' if r is current else ''}{risk_label(r).capitalize()}", _set(Act.RISK, r.value)
        )
        for r in RISKS
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row, _back()])


def settings_language(current: str) -> InlineKeyboardMarkup:
    """One button per language, each named in its own words, the current one ticked."""
    row = [
        button(
            f"{'✅ ' if lang == normalize(current) else ''}{LANGUAGE_NAMES[lang]}",
            _set(Act.LANGUAGE, lang),
        )
        for lang in LANGUAGES
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
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(_("✖️ Cancel"), _set(Act.CANCEL, back_to))]]
    )


def did_you_mean(pair: str, action: str) -> InlineKeyboardMarkup:
    """One button taking the suggested pair (`action`: mute or watch), and Cancel."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(f"✅ {pair}", _set(action, pair))],
            [
                button(
                    _("✖️ Cancel"),
                    _set(Act.CANCEL, Page.MUTED if action == Act.MUTE else Page.WATCH),
                )
            ],
        ]
    )


def finish_onboarding() -> InlineKeyboardMarkup:
    """Offered by a resumed /start while onboarding is unfinished."""
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(_("🚀 Finish onboarding"), _set(Act.FINISH))]]
    )
