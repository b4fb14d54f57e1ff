"""What the keyboards offer and how their callback data is spelled: presets, actions, pages,
steps and value formats. Handlers import these too, so a button and its handler share one name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from core.models import RiskTolerance
from messaging.i18n import N_, _

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
    "Europe/London": N_("London"),
    "Europe/Berlin": N_("Berlin"),
    "America/New_York": N_("New York"),
    "Asia/Singapore": N_("Singapore"),
    "Asia/Tokyo": N_("Tokyo"),
}
# Active-hours presets (start hour, end hour); (0, 24) is "always".
HOURS: Final[tuple[tuple[int, int], ...]] = ((0, 24), (8, 22), (9, 18))
PROFITS: Final[tuple[float, ...]] = (0.0, 0.1, 0.25, 0.5, 1.0)
# Do Not Disturb presets in hours; 0 turns it off.
DND_HOURS: Final[tuple[int, ...]] = (0, 1, 8, 24)
RISKS: Final[tuple[RiskTolerance, ...]] = tuple(RiskTolerance)

# English constants, translated where the button is built (`_(NEXT_LABEL)`).
SKIP_LABEL: Final = N_("Skip — finish later with /settings")
NEXT_LABEL: Final = N_("Next ▶")
BACK_LABEL: Final = N_("‹ Back")


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
    LANGUAGE: Final = "lang"  # value: "en" | "ru"
    RESET_RELEVANCE: Final = "relreset"  # value: "" (forgets what relevance learned)


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
    LANGUAGE: Final = "lang"


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
        Page.LANGUAGE,
    }
)

MAX_UNMUTE_BUTTONS: Final = 40


def toggle_value(member: str, selected: Iterable[str]) -> str:
    """The value of a toggle button: ``-member`` if selected (pressing removes), else ``+``."""
    return f"-{member}" if member in set(selected) else f"+{member}"


def hours_value(hours: tuple[int, int]) -> str:
    return f"{hours[0]}-{hours[1]}"


def hours_label(hours: tuple[int, int]) -> str:
    start, end = hours
    if (start, end) == (0, 24) or start == end:
        return _("always")
    return f"{start:02d}–{end:02d}"


def profit_value(pct: float) -> str:
    return f"{pct:g}"


def exchange_label(name: str) -> str:
    return EXCHANGES.get(name, name.capitalize())
