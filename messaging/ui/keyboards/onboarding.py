"""Onboarding's keyboards: one per step, each with Next and Skip."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup

from core.models import OpportunityType, RiskTolerance
from messaging.i18n import _
from messaging.ui.callbacks import OnboardingCB, SettingsCB
from messaging.ui.keyboards.buttons import Rows, button, chunks, mark, type_rows
from messaging.ui.keyboards.vocabulary import (
    HOURS,
    NEXT_LABEL,
    RISKS,
    SKIP_LABEL,
    TIMEZONES,
    Act,
    Page,
    Step,
    exchange_label,
    hours_label,
    hours_value,
    toggle_value,
)
from messaging.ui.labels import risk_label


def _ob(step: str, value: str) -> OnboardingCB:
    return OnboardingCB(step=step, value=value)


def _ob_nav(step: str) -> Rows:
    return [
        [button(_(NEXT_LABEL), _ob(step, "next"))],
        [button(_(SKIP_LABEL), _ob(step, "skip"))],
    ]


def onboarding_welcome() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=_ob_nav(Step.WELCOME))


def onboarding_tier() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=_ob_nav(Step.TIER))


def onboarding_types(
    selected: frozenset[OpportunityType], allowed: frozenset[OpportunityType]
) -> InlineKeyboardMarkup:
    rows = type_rows(selected, allowed, lambda v: _ob(Step.TYPES, v))
    return InlineKeyboardMarkup(inline_keyboard=rows + _ob_nav(Step.TYPES))


def onboarding_schedule(hours: tuple[int, int], tz: str) -> InlineKeyboardMarkup:
    hour_row = [
        button(
            f"{'✅ ' if h == hours else ''}{hours_label(h).capitalize()}",
            _ob(Step.SCHEDULE, f"h={hours_value(h)}"),
        )
        for h in HOURS
    ]
    tz_buttons = [
        button(f"{'✅ ' if name == tz else ''}{_(label)}", _ob(Step.SCHEDULE, f"tz={name}"))
        for name, label in TIMEZONES.items()
    ]
    rows = [hour_row, *chunks(tz_buttons, 3)]
    return InlineKeyboardMarkup(inline_keyboard=rows + _ob_nav(Step.SCHEDULE))


def onboarding_risk(risk: RiskTolerance) -> InlineKeyboardMarkup:
    row = [
        button(f"{'✅ ' if r is risk else ''}{risk_label(r).capitalize()}", _ob(Step.RISK, r.value))
        for r in RISKS
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row, *_ob_nav(Step.RISK)])


def onboarding_exchanges(selected: frozenset[str], offered: Sequence[str]) -> InlineKeyboardMarkup:
    """Toggles for the exchanges the market has (`offered`), not every name we can label."""
    buttons = [
        button(
            f"{mark(ex in selected)} {exchange_label(ex)}",
            _ob(Step.EXCHANGES, toggle_value(ex, selected)),
        )
        for ex in offered
    ]
    rows = chunks(buttons, 3)
    return InlineKeyboardMarkup(inline_keyboard=rows + _ob_nav(Step.EXCHANGES))


def onboarding_done() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("⚙️ Open settings"), SettingsCB(action=Act.OPEN, value=Page.MAIN))]
        ]
    )
