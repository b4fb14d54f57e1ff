"""Local time for active hours, shared by the scalar and the columnar eligibility paths.

All arithmetic is on whole seconds: ``local = floor(now) + 60 * utc_offset_minutes`` and
``hour = (local // 3600) % 24``, so both paths agree bit for bit.

DST handling: the scalar path asks `zoneinfo` for the offset at ``now`` every time. The
columnar path keeps one `TzTable` entry per distinct timezone (not per user) holding the offset
at refresh time, the exact instant of the next transition within ``horizon`` seconds (found to
the second: hourly scan, then bisection) and the offset after it; an entry is recomputed when
``now`` leaves ``[valid_from, valid_until)``. So offsets are exact at any ``now``, including
across a DST change, and a refresh costs one scan per timezone, not per user. Unknown timezone
names count as UTC in both paths.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

DAY_S = 86_400
HOUR_S = 3_600


@lru_cache(maxsize=4096)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def offset_minutes_at(name: str, second: int) -> int:
    """UTC offset, in whole minutes, of timezone `name` at the whole second `second`."""
    zone = _zone(name)
    if zone is None:
        return 0
    off = datetime.fromtimestamp(second, tz=zone).utcoffset()
    return 0 if off is None else int(off.total_seconds()) // 60


def utc_offset_minutes(name: str, now: float) -> int:
    return offset_minutes_at(name, math.floor(now))


def local_hour(now: float, offset_minutes: int) -> int:
    return ((math.floor(now) + 60 * offset_minutes) // HOUR_S) % 24


def normalise_hours(active_hours: tuple[int, int]) -> tuple[int, int, bool]:
    """(start, end, always). ``(0, 24)``, any span of 24 h or more, and start == end (mod 24)
    mean always; otherwise hours ``start <= h < end``, wrapping past midnight if start > end."""
    start, end = active_hours
    if end - start >= 24 or start % 24 == end % 24:
        return 0, 24, True
    return start % 24, end % 24, False


def hour_in_window(hour: int, start: int, end: int, always: bool) -> bool:
    if always:
        return True
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def in_active_hours(active_hours: tuple[int, int], timezone: str, now: float) -> bool:
    start, end, always = normalise_hours(active_hours)
    return hour_in_window(local_hour(now, utc_offset_minutes(timezone, now)), start, end, always)


def next_active_start(active_hours: tuple[int, int], timezone: str, t: float) -> float:
    """The first instant >= t inside the active hours (t itself if it is inside).

    Uses the offset at `t`; if a DST change falls in between, the answer may be an hour off and
    the caller, re-checking at that time, simply asks again (it always moves forward)."""
    start, end, always = normalise_hours(active_hours)
    off = utc_offset_minutes(timezone, t)
    if hour_in_window(local_hour(t, off), start, end, always):
        return t
    local = math.floor(t) + 60 * off
    day_start = local - local % DAY_S
    opening = day_start + start * HOUR_S
    if opening <= local:
        opening += DAY_S
    return float(opening - 60 * off)


class TzTable:
    """Timezone name -> small int code, with exact, lazily refreshed offsets for a `now`."""

    def __init__(self, horizon_seconds: float = 86_400.0) -> None:
        self.horizon = max(HOUR_S, int(horizon_seconds))
        self.names: list[str] = []
        self._codes: dict[str, int] = {}
        self._before = np.zeros(0, dtype=np.int64)
        self._after = np.zeros(0, dtype=np.int64)
        self._transition = np.zeros(0, dtype=np.int64)
        self._valid_from = np.zeros(0, dtype=np.int64)
        self._valid_until = np.zeros(0, dtype=np.int64)

    def code(self, name: str) -> int:
        code = self._codes.get(name)
        if code is None:
            code = len(self.names)
            self.names.append(name)
            self._codes[name] = code
            self._before = np.append(self._before, 0)
            self._after = np.append(self._after, 0)
            self._transition = np.append(self._transition, 0)
            self._valid_from = np.append(self._valid_from, 1)  # empty range: stale
            self._valid_until = np.append(self._valid_until, 0)
        return code

    def _first_change(self, name: str, base: int, lo: int, hi: int) -> int | None:
        """Smallest second in (lo, hi] whose offset differs from `base`, if any."""
        prev = lo
        step_end = lo
        while step_end < hi:
            step_end = min(hi, step_end + HOUR_S)
            if offset_minutes_at(name, step_end) != base:
                a, b = prev, step_end  # offset(a) == base, offset(b) != base
                while b - a > 1:
                    mid = (a + b) // 2
                    if offset_minutes_at(name, mid) == base:
                        a = mid
                    else:
                        b = mid
                return b
            prev = step_end
        return None

    def _refresh(self, code: int, second: int) -> None:
        name = self.names[code]
        base = offset_minutes_at(name, second)
        until = second + self.horizon
        change = self._first_change(name, base, second, until)
        after = base
        transition = until
        if change is not None:
            transition = change
            after = offset_minutes_at(name, change)
            second_change = self._first_change(name, after, change, until)
            if second_change is not None:
                until = second_change
        self._before[code] = base
        self._after[code] = after
        self._transition[code] = transition
        self._valid_from[code] = second
        self._valid_until[code] = until

    def offsets(self, now: float) -> npt.NDArray[np.int64]:
        """Offset in minutes at `now` of every timezone, indexed by code."""
        second = math.floor(now)
        stale = np.flatnonzero((second < self._valid_from) | (second >= self._valid_until))
        for code in stale.tolist():
            self._refresh(int(code), second)
        return np.where(second >= self._transition, self._after, self._before)
