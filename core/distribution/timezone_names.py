"""Timezones as users type them, resolved to IANA names that every part of arbcast reads.

Accepted: IANA names (any case, spaces for underscores), ``UTC±H[:MM]`` / ``GMT±H[:MM]``, and
city names taken from the IANA names themselves ("moscow" -> Europe/Moscow, "new york" ->
America/New_York). Offsets become fixed zones: whole hours are ``Etc/GMT∓H`` (IANA inverts the
sign: UTC+3 is Etc/GMT-3), other offsets the first IANA zone that keeps exactly that offset all
year. Storing IANA names keeps one timezone path (`core.distribution.timezones`) for the quiet
hours, the columnar push check and every displayed time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_OFFSET = re.compile(r"^(?:UTC|GMT|Z)?\s*([+-−])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_ETC = re.compile(r"^Etc/GMT([+-])(\d{1,2})$")
_MAX_LEN = 64
# Reference instants to tell a fixed zone from one with daylight saving time.
_PROBES = (
    datetime(2026, 1, 15, tzinfo=UTC),
    datetime(2026, 7, 15, tzinfo=UTC),
)


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() if _loads(name)}


def _loads(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _key(text: str) -> str:
    return re.sub(r"[\s_]+", "_", text.strip()).lower()


@lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    """City part of each area/city IANA name, lower case -> the name; shorter names first, so
    'Europe/Moscow' wins over a longer alias with the same city."""
    out: dict[str, str] = {}
    for name in sorted(_names().values(), key=lambda n: (n.count("/"), n)):
        area, _, city = name.rpartition("/")
        if area and not area.startswith(("Etc", "SystemV", "posix", "right")):
            out.setdefault(city.lower(), name)
    return out


def _fixed_zone(minutes: int) -> str | None:
    if minutes % 60 == 0 and -12 <= minutes // 60 <= 14:
        hours = minutes // 60
        return "UTC" if hours == 0 else f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"
    for name in sorted(_names().values()):
        zone = ZoneInfo(name)
        offsets = {p.astimezone(zone).utcoffset() for p in _PROBES}
        off = offsets.pop() if len(offsets) == 1 else None
        if off is not None and int(off.total_seconds()) // 60 == minutes and "/" in name:
            return name
    return None


def resolve_timezone(text: str) -> str | None:
    """The IANA name `text` stands for, or None if it is none of the accepted forms."""
    raw = text.strip()
    if not raw or len(raw) > _MAX_LEN:
        return None
    if raw.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    m = _OFFSET.match(raw)
    if m is not None:
        sign = -1 if m.group(1) in "-−" else 1
        hours, mins = int(m.group(2)), int(m.group(3) or 0)
        if mins >= 60 or hours > 14:
            return None
        return _fixed_zone(sign * (hours * 60 + mins))
    key = _key(raw)
    return _names().get(key) or _cities().get(key)


def timezone_label(name: str) -> str:
    """How to show a stored timezone: Etc/GMT-3 reads as UTC+3 (IANA's sign is inverted)."""
    m = _ETC.match(name)
    if m is None:
        return name
    return f"UTC{'-' if m.group(1) == '+' else '+'}{int(m.group(2))}"
