"""Typed values after /group_settings (a group's bot reads commands, not free text):
`profit 0.5`, `digest 10`, `quiet 22-8`, `tz Europe/Moscow`, `pairs BTC/USDT ETH/USDT`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.handlers.preferences.parsing import (
    parse_hours,
    parse_min_profit,
    parse_pair,
    parse_timezone,
)
from core.groups.store import GroupChanges
from messaging.i18n import _
from messaging.ui import group_texts as t

MAX_PROFIT_PCT = 20.0
MAX_DIGEST_MINUTES = 1440
MAX_PAIRS = 50


@dataclass(frozen=True, slots=True)
class Typed:
    """What a typed value asks for: the changes to save (and their name), or why not."""

    name: str
    changes: GroupChanges | None = None
    error: str = ""


def parse_typed(args: str) -> Typed:
    name, _sep, rest = args.strip().partition(" ")
    name, rest = name.lower(), rest.strip()
    if name == "profit":
        value = parse_min_profit(rest, 0.0, MAX_PROFIT_PCT)
        if value is None:
            return Typed(name, error=_(t.BAD_PROFIT))
        return Typed(name, {"min_profit_pct": value})
    if name == "digest":
        if rest.lower() == "default":
            return Typed(name, {"digest_window_seconds": None})
        try:
            minutes = float(rest.replace(",", "."))
        except ValueError:
            minutes = -1.0
        if not 0 <= minutes <= MAX_DIGEST_MINUTES:
            return Typed(name, error=_(t.BAD_DIGEST))
        return Typed(name, {"digest_window_seconds": minutes * 60})
    if name == "quiet":
        if rest.lower() in ("off", "none", "no"):
            return Typed(name, {"quiet_hours": None})
        hours = parse_hours(rest)
        if hours is None:
            return Typed(name, error=_(t.BAD_QUIET))
        return Typed(name, {"quiet_hours": hours})
    if name in ("tz", "timezone"):
        zone = parse_timezone(rest)
        if zone is None:
            return Typed("tz", error=_(t.BAD_TZ))
        return Typed("tz", {"timezone": zone})
    if name == "pairs":
        if rest.lower() in ("all", "any", "*"):
            return Typed(name, {"pairs": frozenset()})
        pairs = [parse_pair(word) for word in rest.replace(",", " ").split()]
        if not pairs or None in pairs or len(pairs) > MAX_PAIRS:
            return Typed(name, error=_(t.BAD_PAIRS))
        return Typed(name, {"pairs": frozenset(p for p in pairs if p is not None)})
    return Typed("help", error=_(t.ARGS_USAGE))
