"""Daily and hourly opportunity caps per user, shared by on-demand /opportunities and pushes.

Counters are per UTC day and hour; one script checks both caps and takes what both allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from core.settings import TierLimits
from core.store import keys
from core.store.client import store_errors
from core.store.scripts import Scripts


@dataclass(frozen=True, slots=True)
class Grant:
    granted: int
    used_today: int
    used_this_hour: int

    @property
    def exhausted(self) -> bool:
        return self.granted == 0


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

    async def take(self, user_id: int, wanted: int, limits: TierLimits, now: float) -> Grant:
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
                    limits.daily_cap,
                    limits.hourly_cap,
                    keys.QUOTA_DAY_TTL_S,
                    keys.QUOTA_HOUR_TTL_S,
                ],
            )
        return Grant(int(granted), int(day), int(hour))

    async def used(self, user_id: int, now: float) -> tuple[int, int]:
        d = datetime.fromtimestamp(now, tz=UTC)
        async with store_errors("reading counters"):
            day, hour = await self._redis.mget(
                keys.quota_day(user_id, d.strftime("%Y%m%d")),
                keys.quota_hour(user_id, d.strftime("%Y%m%d%H")),
            )
        return int(day or 0), int(hour or 0)
