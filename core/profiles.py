"""User profiles in Redis: tier, preferences and exchanges, one hash per user.

Each change writes only the fields it changes (HSET, or the toggle script for list fields), so
two changes at once never overwrite each other, and announces the user on the users-changed
channel, so that push shards apply a new preference at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis

from core.models import (
    OnboardingState,
    OpportunityType,
    Preferences,
    RiskTolerance,
    Tier,
    UserProfile,
)
from core.store import keys
from core.store.client import answer, store_errors
from core.store.keys import ProfileFields as P
from core.store.scripts import Scripts


def _csv(value: str | None) -> frozenset[str]:
    return frozenset(v for v in (value or "").split(",") if v)


def _hours(value: str | None) -> tuple[int, int]:
    if not value:
        return (0, 24)
    start, _, end = value.partition("-")
    return (int(start), int(end))


def profile_from_hash(
    user_id: int, raw: dict[str, str], superadmins: frozenset[int]
) -> UserProfile:
    types = raw.get(P.TYPES)
    prefs = Preferences(
        push_enabled=raw.get(P.PUSH, "1") == "1",
        opportunity_types=(
            frozenset(OpportunityType(t) for t in _csv(types))
            if types is not None
            else frozenset(OpportunityType)
        ),
        muted_pairs=_csv(raw.get(P.MUTED_PAIRS)),
        min_profit_pct=float(raw.get(P.MIN_PROFIT) or 0),
        timezone=raw.get(P.TIMEZONE) or "UTC",
        active_hours=_hours(raw.get(P.ACTIVE_HOURS)),
        dnd_until=float(raw[P.DND_UNTIL]) if raw.get(P.DND_UNTIL) else None,
        high_priority_pierces_dnd=raw.get(P.PIERCE_DND) == "1",
        risk_tolerance=RiskTolerance(raw.get(P.RISK) or "medium"),
    )
    tier = Tier.SUPERADMIN if user_id in superadmins else Tier(raw.get(P.TIER) or "free")
    return UserProfile(
        user_id=user_id,
        first_name=raw.get(P.NAME, ""),
        tier=tier,
        preferences=prefs,
        exchanges=_csv(raw.get(P.EXCHANGES)),
        api_key_exchanges=_csv(raw.get(P.API_KEYS)),
        onboarding=OnboardingState(raw.get(P.ONBOARDING) or "pending"),
        trading_restricted=raw.get(P.RESTRICTED) == "1",
        region=raw.get(P.REGION, ""),
    )


class ProfileStore:
    def __init__(self, redis: Redis, scripts: Scripts, superadmins: frozenset[int]) -> None:
        self._redis = redis
        self._scripts = scripts
        self.superadmins = superadmins

    async def get(self, user_id: int) -> UserProfile:
        async with store_errors("reading a profile"):
            raw = await answer(self._redis.hgetall(keys.user(user_id)))
        return profile_from_hash(user_id, raw, self.superadmins)

    async def get_many(self, user_ids: Iterable[int]) -> list[UserProfile]:
        ids = list(user_ids)
        async with store_errors("reading profiles"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for uid in ids:
                    pipe.hgetall(keys.user(uid))
                raws = await pipe.execute()
        return [
            profile_from_hash(uid, raw, self.superadmins)
            for uid, raw in zip(ids, raws, strict=True)
        ]

    async def ensure(self, user_id: int, first_name: str) -> bool:
        """Create the profile on first contact (tier Free), keep the name current; True if new."""
        async with store_errors("saving a profile"):
            created = await self._scripts.profile_ensure(
                keys=[keys.user(user_id), keys.users_by_tier(Tier.FREE.value)],
                args=[user_id, first_name],
            )
        return bool(created)

    async def set_fields(self, user_id: int, **fields: str) -> None:
        async with store_errors("saving preferences"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(keys.user(user_id), mapping=fields)
                pipe.publish(keys.SESSION_CHANNEL, str(user_id))
                await pipe.execute()

    async def set_list(self, user_id: int, field: str, members: Iterable[str]) -> None:
        await self.set_fields(user_id, **{field: ",".join(sorted(set(members)))})

    async def change_member(
        self,
        user_id: int,
        field: str,
        member: str,
        how: str = "toggle",
        *,
        absent_means: Iterable[str] = (),
        keep_one: bool = False,
    ) -> frozenset[str]:
        """Add, remove or toggle one member of a list preference, atomically; the list after.

        `absent_means` is what a field never set stands for (for opportunity types: all of them),
        so that the first change starts from it rather than from nothing. With `keep_one`, a
        change that would leave the list empty is not made (in the same script, so concurrent
        presses cannot empty it either): the list comes back unchanged.
        """
        args = [field, member, how, ",".join(sorted(absent_means)), "1" if keep_one else "0"]
        async with store_errors("saving preferences"):
            value = await self._scripts.toggle_member(keys=[keys.user(user_id)], args=args)
            await self._redis.publish(keys.SESSION_CHANNEL, str(user_id))
        return _csv(value)

    async def set_tier(self, user_id: int, tier: Tier) -> None:
        async with store_errors("changing a tier"):
            async with self._redis.pipeline(transaction=True) as pipe:
                for other in Tier:
                    if other is not tier:
                        pipe.srem(keys.users_by_tier(other.value), user_id)
                pipe.sadd(keys.users_by_tier(tier.value), user_id)
                pipe.hset(keys.user(user_id), P.TIER, tier.value)
                pipe.publish(keys.SESSION_CHANNEL, str(user_id))
                await pipe.execute()

    async def set_compliance(
        self, user_id: int, *, restricted: bool | None = None, region: str | None = None
    ) -> None:
        """What compliance decided for a user (layer 6): trading restricted, and the region the
        `distribution.blocked_regions` setting is matched against ("" for none)."""
        fields: dict[str, str] = {}
        if restricted is not None:
            fields[P.RESTRICTED] = "1" if restricted else "0"
        if region is not None:
            fields[P.REGION] = region.strip().upper()
        if fields:
            await self.set_fields(user_id, **fields)

    async def count_by_tier(self) -> dict[Tier, int]:
        async with store_errors("counting users"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for tier in Tier:
                    pipe.scard(keys.users_by_tier(tier.value))
                counts = await pipe.execute()
        return dict(zip(Tier, (int(c) for c in counts), strict=True))
