"""The inline keyboards of a group's /group_settings menu: a main page and one page per choice
with presets (anything else is typed: /group_settings profit 0.7)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.groups.models import GroupConfig
from core.models import OpportunityType
from messaging.i18n import _
from messaging.ui import group_texts as t
from messaging.ui.callbacks import GroupSettingsCB
from messaging.ui.labels import type_label

Rows = list[list[InlineKeyboardButton]]
PROFIT_PRESETS = ("0", "0.2", "0.5", "1", "2")
DIGEST_PRESETS_MIN = ("5", "10", "30", "60")
QUIET_PRESETS = ("22-8", "23-7", "0-8")


def _b(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=GroupSettingsCB(action=action, value=value).pack()
    )


def _mark(on: bool) -> str:
    return "✅" if on else "⬜"


def _back() -> list[InlineKeyboardButton]:
    return [_b(_(t.B_BACK), "page", "main"), _b(_(t.B_DONE), "close")]


def main(config: GroupConfig, thread_id: int | None) -> InlineKeyboardMarkup:
    """`thread_id`: the forum topic the menu was opened in (offered as where alerts go)."""
    toggle = _b(_(t.B_PAUSE), "off") if config.enabled else _b(_(t.B_ENABLE), "on")
    rows: Rows = [
        [toggle],
        [_b(_(t.B_TYPES), "page", "types"), _b(_(t.B_PROFIT), "page", "profit")],
        [_b(_(t.B_DIGEST), "page", "digest"), _b(_(t.B_QUIET), "page", "quiet")],
    ]
    if config.is_forum:
        topic_row = []
        if thread_id is not None and thread_id != config.thread_id:
            topic_row.append(_b(_(t.B_TOPIC_HERE), "topic", str(thread_id)))
        if config.thread_id is not None:
            topic_row.append(_b(_(t.B_TOPIC_GENERAL), "topic", "general"))
        if topic_row:
            rows.append(topic_row)
    rows.append([_b(_(t.B_DONE), "close")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def types(config: GroupConfig, allowed: frozenset[OpportunityType]) -> InlineKeyboardMarkup:
    rows: Rows = [
        [_b(f"{_mark(kind in config.opportunity_types)} {type_label(kind)}", "type", kind.value)]
        for kind in sorted(allowed)
    ]
    rows.append(_back())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def profit(config: GroupConfig) -> InlineKeyboardMarkup:
    current = f"{config.min_profit_pct:g}"
    presets = [_b(f"{_mark(p == current)} {p}%", "profit", p) for p in PROFIT_PRESETS]
    return InlineKeyboardMarkup(inline_keyboard=[presets, _back()])


def digest(config: GroupConfig) -> InlineKeyboardMarkup:
    window = config.digest_window_seconds
    first = [
        _b(f"{_mark(window is None)} {_(t.B_DEFAULT)}", "digest", "default"),
        _b(f"{_mark(window == 0)} {_(t.B_INSTANT)}", "digest", "0"),
    ]
    minutes = [
        _b(
            f"{_mark(window == int(m) * 60)} " + _("{minutes} min").format(minutes=m),
            "digest",
            str(int(m) * 60),
        )
        for m in DIGEST_PRESETS_MIN
    ]
    return InlineKeyboardMarkup(inline_keyboard=[first, minutes, _back()])


def quiet(config: GroupConfig) -> InlineKeyboardMarkup:
    hours = config.quiet_hours
    current = None if hours is None else f"{hours[0]}-{hours[1]}"
    presets = [_b(f"{_mark(current == q)} {q}", "quiet", q) for q in QUIET_PRESETS]
    off = _b(f"{_mark(current is None)} {_(t.B_OFF)}", "quiet", "off")
    return InlineKeyboardMarkup(inline_keyboard=[[off, *presets], _back()])


PAGES = {"types", "profit", "digest", "quiet"}
