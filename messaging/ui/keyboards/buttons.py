"""Building blocks shared by every keyboard: a button with typed data, marks, rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram.types import InlineKeyboardButton

from core.models import OpportunityType
from messaging.ui.callbacks import OnboardingCB, SettingsCB
from messaging.ui.keyboards.vocabulary import toggle_value
from messaging.ui.labels import type_label

Rows = list[list[InlineKeyboardButton]]


def button(text: str, data: OnboardingCB | SettingsCB) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def mark(on: bool) -> str:
    return "✅" if on else "⬜"


def chunks(buttons: Sequence[InlineKeyboardButton], size: int) -> Rows:
    return [list(buttons[i : i + size]) for i in range(0, len(buttons), size)]


def type_rows(
    selected: frozenset[OpportunityType],
    allowed: frozenset[OpportunityType],
    data: Callable[[str], OnboardingCB | SettingsCB],
) -> Rows:
    """One toggle per opportunity type; 🔒 marks the types the user's tier does not deliver."""
    chosen = {t.value for t in selected}
    return [
        [
            button(
                f"{mark(t in selected)} {type_label(t)}" + ("" if t in allowed else " 🔒"),
                data(toggle_value(t.value, chosen)),
            )
        ]
        for t in OpportunityType
    ]
