"""Inline keyboards of onboarding and /settings: pure functions of what the user has chosen.

Every button carries typed callback data (`OnboardingCB`, `SettingsCB`), packed to at most 64
bytes. Toggles say what pressing them does (``+binance`` adds, ``-binance`` removes), so a press
on an outdated keyboard still does what its label promised, and a repeated press is harmless.

`vocabulary` holds the presets, actions, pages and steps; `onboarding`, `settings` and `session`
the keyboards of each; every public name is re-exported here (``keyboards.settings_main``).
"""

from __future__ import annotations

from messaging.ui.keyboards.onboarding import (
    onboarding_done,
    onboarding_exchanges,
    onboarding_risk,
    onboarding_schedule,
    onboarding_tier,
    onboarding_types,
    onboarding_welcome,
)
from messaging.ui.keyboards.session import confirm_logout, keep_session
from messaging.ui.keyboards.settings import (
    did_you_mean,
    finish_onboarding,
    settings_dnd,
    settings_exchanges,
    settings_hours,
    settings_input,
    settings_language,
    settings_main,
    settings_muted,
    settings_profit,
    settings_risk,
    settings_timezone,
    settings_types,
    settings_watch,
)
from messaging.ui.keyboards.vocabulary import (
    BACK_LABEL,
    DND_HOURS,
    EXCHANGES,
    HOURS,
    MAX_UNMUTE_BUTTONS,
    NEXT_LABEL,
    ONBOARDING_STEPS,
    PAGES,
    PROFITS,
    RISKS,
    SKIP_LABEL,
    TIMEZONES,
    Act,
    Page,
    Step,
    exchange_label,
    hours_label,
    hours_value,
    profit_value,
    toggle_value,
)

__all__ = [
    "BACK_LABEL",
    "DND_HOURS",
    "EXCHANGES",
    "HOURS",
    "MAX_UNMUTE_BUTTONS",
    "NEXT_LABEL",
    "ONBOARDING_STEPS",
    "PAGES",
    "PROFITS",
    "RISKS",
    "SKIP_LABEL",
    "TIMEZONES",
    "Act",
    "Page",
    "Step",
    "confirm_logout",
    "did_you_mean",
    "exchange_label",
    "finish_onboarding",
    "hours_label",
    "hours_value",
    "keep_session",
    "onboarding_done",
    "onboarding_exchanges",
    "onboarding_risk",
    "onboarding_schedule",
    "onboarding_tier",
    "onboarding_types",
    "onboarding_welcome",
    "profit_value",
    "settings_dnd",
    "settings_exchanges",
    "settings_hours",
    "settings_input",
    "settings_language",
    "settings_main",
    "settings_muted",
    "settings_profit",
    "settings_risk",
    "settings_timezone",
    "settings_types",
    "settings_watch",
    "toggle_value",
]
