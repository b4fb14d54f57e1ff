"""Typed settings input, forgiven where it can be (issue 15): pairs, timezones, hours, profit."""

from __future__ import annotations

import re
from collections.abc import Container
from html import escape

from bot.handlers.preferences.texts import PAIR_EXPECTED
from core.distribution.timezone_names import resolve_timezone
from core.market.catalogue import PairMatch
from messaging.i18n import _

_PAIR = re.compile(r"^([A-Z0-9]{1,15})\s*[/\-_ ]\s*([A-Z0-9]{1,15})$")
_HOURS = re.compile(r"^(\d{1,2})(?::00)?\s*[-–—]\s*(\d{1,2})(?::00)?$")


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
        return _("I don't know the pair “{said}” on the market.").format(said=said) + (
            " " + _(PAIR_EXPECTED)
        )
    return _(
        "I don't know the pair “{said}” on the market. Did you mean <code>{pair}</code>? Tap "
        "it, or send another pair."
    ).format(said=said, pair=escape(match.suggestion))


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
