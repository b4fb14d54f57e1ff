"""Daily and hourly opportunity counters per user, shared by on-demand /opportunities and pushes.

This store owns the counter keys (per UTC day and hour) and the last push time, and their TTLs.
One script checks both caps and takes what both allow; the arithmetic is `Caps`'s. For
/opportunities the same script also owns the user's recent views (issue 15, fair quota): an
opportunity charged within `opportunities.repeat_view_free_seconds` is shown again for free, and
only new ones are charged, so five /opportunities in a row on the same list cost one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from core.distribution.caps import Caps, Counters
from core.store import keys
from core.store.client import store_errors
from core.store.scripts import Scripts


@dataclass(frozen=True, slots=True)
class Grant:
    """What a take granted, and the counts and caps after it (at `at`)."""

    granted: int
    used_today: int
    used_this_hour: int
    caps: Caps
    at: float

    @property
    def exhausted(self) -> bool:
        return self.granted == 0

    @property
    def counters(self) -> Counters:
        return Counters.of(self.at, self.used_today, self.used_this_hour)

    @property
    def left(self) -> tuple[int | None, int | None]:
        """What the daily and the hourly cap still allow (None: unlimited)."""
        return self.caps.left(self.counters, self.at)

    @property
    def resets_at(self) -> float:
        """When more is allowed again: tomorrow if the daily cap is reached, else next hour."""
        if self.caps.reached(self.counters, self.at) == "daily":
            return next_day_start(self.at)
        return next_hour_start(self.at)


@dataclass(frozen=True, slots=True)
class ViewGrant:
    """What /opportunities may show (ids in the asked order) and what it charged for them."""

    shown: tuple[str, ...]
    free: frozenset[str]  # shown again within the window: not charged
    grant: Grant

    @property
    def refused(self) -> bool:
        return not self.shown


def next_day_start(ts: float) -> float:
    d = datetime.fromtimestamp(ts, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (d + timedelta(days=1)).timestamp()


def next_hour_start(ts: float) -> float:
    d = datetime.fromtimestamp(ts, tz=UTC).replace(minute=0, second=0, microsecond=0)
    return (d + timedelta(hours=1)).timestamp()


class QuotaStore:
    def __init__(self, redis: Redis, scripts: Scripts) -> None:
        self._redis = redis
        self._scripts = scripts

    async def take(self, user_id: int, wanted: int, caps: Caps, now: float) -> Grant:
        d = datetime.fromtimestamp(now, tz=UTC)
        async with store_errors("counting opportunities"):
            granted, day, hour = await self._scripts.quota_take(
                keys=[
                    keys.quota_day(user_id, d.strftime("%Y%m%d")),
                    keys.quota_hour(user_id, d.strftime("%Y%m%d%H")),
                    keys.session(user_id),
                ],
                args=[
                    wanted,
                    caps.daily,
                    caps.hourly,
                    keys.QUOTA_DAY_TTL_S,
                    keys.QUOTA_HOUR_TTL_S,
                ],
            )
        return Grant(int(granted), int(day), int(hour), caps, now)

    async def take_views(
        self, user_id: int, ids: list[str], caps: Caps, now: float, window_s: float
    ) -> ViewGrant:
        """Show `ids` (best first): those charged within `window_s` free, new ones as far as
        the caps allow, each charged once. A refused view (nothing shown) charges nothing."""
        d = datetime.fromtimestamp(now, tz=UTC)
        async with store_errors("counting opportunities"):
            granted, day, hour, *shown = await self._scripts.quota_take(
                keys=[
                    keys.quota_day(user_id, d.strftime("%Y%m%d")),
                    keys.quota_hour(user_id, d.strftime("%Y%m%d%H")),
                    keys.session(user_id),
                    keys.quota_views(user_id),
                ],
                args=[
                    0,
                    caps.daily,
                    caps.hourly,
                    keys.QUOTA_DAY_TTL_S,
                    keys.QUOTA_HOUR_TTL_S,
                    repr(now),
                    repr(window_s),
                    *ids,
                ],
            )
        pairs = [str(s) for s in shown]
        shown_ids, flags = tuple(pairs[::2]), pairs[1::2]
        free = frozenset(i for i, f in zip(shown_ids, flags, strict=True) if f == "1")
        return ViewGrant(shown_ids, free, Grant(int(granted), int(day), int(hour), caps, now))

    async def used(self, user_id: int, now: float) -> tuple[int, int]:
        (c,) = await self.counters_many([user_id], now)
        return c.today(now), c.this_hour(now)

    async def counters_many(self, user_ids: list[int], now: float) -> list[Counters]:
        """Each user's counts this UTC day and hour, and their last push, in one round trip."""
        d = datetime.fromtimestamp(now, tz=UTC)
        day, hour = d.strftime("%Y%m%d"), d.strftime("%Y%m%d%H")
        async with store_errors("reading counters"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for uid in user_ids:
                    pipe.mget(keys.quota_day(uid, day), keys.quota_hour(uid, hour))
                    pipe.get(keys.last_push(uid))
                raw = await pipe.execute()
        return [
            Counters.of(now, int(used_day or 0), int(used_hour or 0), float(last) if last else None)
            for (used_day, used_hour), last in zip(raw[::2], raw[1::2], strict=True)
        ]
