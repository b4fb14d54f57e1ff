"""The daily and hourly caps, and the counters they are measured against: the one place where
cap arithmetic is done.

A chat's use is counted per UTC day and per UTC hour (`Counters`, read from the `core.quota`
keys); on-demand /opportunities and pushes share both counts, pushes alone the cooldown. A cap of
0 means unlimited. Everything that asks "how many more may this chat get" asks `Caps`:
eligibility's layer 4, the user's queue sizing a digest, the /opportunities footer. The two
Redis scripts that take quota atomically (``quota_take.lua``, ``push_release.lua``) do the same
sum where it must be atomic; a test holds them to `Caps.remaining`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from core.settings import TierLimits

DAY_S = 86_400
HOUR_S = 3_600


def utc_day(now: float) -> int:
    return math.floor(now / DAY_S)


def utc_hour(now: float) -> int:
    return math.floor(now / HOUR_S)


@dataclass(frozen=True, slots=True)
class Counters:
    """Quota use of one chat: per UTC day and UTC hour (the `core.quota` keys) and last push.

    ``used_today`` counts only while ``day`` is today's UTC day number (``floor(now/86400)``),
    likewise ``used_this_hour``; stale counts read as 0, so counters roll over by themselves.
    """

    day: int = -1
    used_today: int = 0
    hour: int = -1
    used_this_hour: int = 0
    last_push_at: float | None = None

    @classmethod
    def of(
        cls,
        now: float,
        used_today: int = 0,
        used_this_hour: int = 0,
        last_push_at: float | None = None,
    ) -> Counters:
        return cls(utc_day(now), used_today, utc_hour(now), used_this_hour, last_push_at)

    def today(self, now: float) -> int:
        return self.used_today if self.day == utc_day(now) else 0

    def this_hour(self, now: float) -> int:
        return self.used_this_hour if self.hour == utc_hour(now) else 0


def commit(counters: Counters, now: float, n: int = 1, *, push: bool = True) -> Counters:
    """Counters after `n` opportunities were delivered at `now` (a push, or with push=False an
    on-demand /opportunities reply, which shares the caps but not the push cooldown)."""
    return Counters(
        day=utc_day(now),
        used_today=counters.today(now) + n,
        hour=utc_hour(now),
        used_this_hour=counters.this_hour(now) + n,
        last_push_at=now if push else counters.last_push_at,
    )


CapKind = Literal["daily", "hourly"]


@dataclass(frozen=True, slots=True)
class Caps:
    """A chat's daily and hourly caps (0: unlimited)."""

    daily: int
    hourly: int

    @classmethod
    def of(cls, limits: TierLimits, multiplier: int = 1) -> Caps:
        """The tier's caps, times the group multiplier for a group chat (0 stays unlimited)."""
        return cls(limits.daily_cap * multiplier, limits.hourly_cap * multiplier)

    def left(self, counters: Counters, now: float) -> tuple[int | None, int | None]:
        """What each cap still allows (None: unlimited), never below 0."""
        day = max(0, self.daily - counters.today(now)) if self.daily else None
        hour = max(0, self.hourly - counters.this_hour(now)) if self.hourly else None
        return day, hour

    def remaining(self, counters: Counters, now: float) -> int | None:
        """How many more opportunities both caps allow now (None: no cap)."""
        left = [n for n in self.left(counters, now) if n is not None]
        return min(left) if left else None

    def reached(self, counters: Counters, now: float) -> CapKind | None:
        """The cap that allows nothing more now, the daily one first; None if neither."""
        day, hour = self.left(counters, now)
        if day == 0:
            return "daily"
        if hour == 0:
            return "hourly"
        return None
