"""/settings (alias /preferences): every preference, changed with inline buttons or typed input.

Each change is written at once, one field per write (list fields with the atomic member script),
recorded as a ``preferences.changed`` event, and the menu is re-rendered by editing its message.
Pairs, timezones, hours and a minimum profit can also be typed after pressing their button: the
chat then waits in a `SettingsInput` state, which any command or "Cancel" leaves. Typed input
forgives (issue 15): pairs are matched against the symbols the market knows, with a "did you
mean" button; timezones may be IANA names, ``UTC±H[:MM]`` or city names; only the market's
exchanges are offered; a plan's types can't all be deselected.

One router per group of pages, combined in `router` in this order: `menu` first (a command
ends the wait for typed input before anything else sees it), `leftovers` last (what no page
took while input is awaited, and forged settings actions).
"""

from __future__ import annotations

from typing import Final

from aiogram import Router

from bot.handlers.preferences import language, leftovers, menu, pairs, profit, schedule, trading
from bot.handlers.preferences.input_state import SettingsInput, leave_input
from bot.handlers.preferences.parsing import (
    parse_hours,
    parse_min_profit,
    parse_pair,
    parse_timezone,
    parse_toggle,
)
from bot.handlers.preferences.render import offered_exchanges, render, summary
from bot.handlers.preferences.replies import edit_or_send
from bot.handlers.preferences.saving import emit_change, save_member, save_preferences, save_type
from bot.handlers.preferences.texts import (
    API_KEY_GUIDANCE,
    HOURS_EXPECTED,
    LAST_TYPE,
    PAIR_EXPECTED,
    RISK_HELP,
    TEXT_EXPECTED,
    TZ_EXPECTED,
    WATCH_EMPTY,
)

router: Final = Router(name=__name__)
router.include_routers(
    menu.router,
    pairs.router,
    profit.router,
    schedule.router,
    trading.router,
    language.router,
    leftovers.router,
)

__all__ = [
    "API_KEY_GUIDANCE",
    "HOURS_EXPECTED",
    "LAST_TYPE",
    "PAIR_EXPECTED",
    "RISK_HELP",
    "TEXT_EXPECTED",
    "TZ_EXPECTED",
    "WATCH_EMPTY",
    "SettingsInput",
    "edit_or_send",
    "emit_change",
    "leave_input",
    "offered_exchanges",
    "parse_hours",
    "parse_min_profit",
    "parse_pair",
    "parse_timezone",
    "parse_toggle",
    "render",
    "router",
    "save_member",
    "save_preferences",
    "save_type",
    "summary",
]
