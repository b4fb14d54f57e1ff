"""User profiles in Redis: tier, preferences and exchanges, one hash per user.

Each change writes only the fields it changes (HSET, or the toggle script for list fields), so
two changes at once never overwrite each other, and announces the user on the users-changed
channel, so that push shards apply a new preference at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, TypedDict, Unpack

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
from core.store.client import answer, hgetall_many, store_errors
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
        watchlist=_csv(raw.get(P.WATCHLIST)),
        watch_only=raw.get(P.WATCH_ONLY) == "1",
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
        onboarding=OnboardingState(raw.get(P.ONBOARDING) or "pending"),
        trading_restricted=raw.get(P.RESTRICTED) == "1",
        region=raw.get(P.REGION, ""),
        language=raw.get(P.LANGUAGE, ""),
    )


class PreferenceUpdate(TypedDict, total=False):
    """The scalar preferences one change sets; those left out are kept. ``dnd_until=None``
    ends Do Not Disturb."""

    push_enabled: bool
    high_priority_pierces_dnd: bool
    watch_only: bool
    min_profit_pct: float
    timezone: str
    active_hours: tuple[int, int]
    dnd_until: float | None
    risk_tolerance: RiskTolerance


ListPreference = Literal["opportunity_types", "muted_pairs", "watchlist", "exchanges"]

_LIST_FIELD: dict[ListPreference, str] = {
    "opportunity_types": P.TYPES,
    "muted_pairs": P.MUTED_PAIRS,
    "watchlist": P.WATCHLIST,
    "exchanges": P.EXCHANGES,
}
# What a list never set stands for: every opportunity type (a new user wants them all).
_ABSENT_MEANS: dict[ListPreference, frozenset[str]] = {
    "opportunity_types": frozenset(t.value for t in OpportunityType)
}


def _flag(on: bool) -> str:
    return "1" if on else "0"


def encode_update(update: PreferenceUpdate) -> dict[str, tuple[str, str]]:
    """Each preference of `update` as (hash field, stored value), by preference name; the
    inverse of `profile_from_hash` for these fields."""
    out: dict[str, tuple[str, str]] = {}
    if "push_enabled" in update:
        out["push_enabled"] = (P.PUSH, _flag(update["push_enabled"]))
    if "high_priority_pierces_dnd" in update:
        out["high_priority_pierces_dnd"] = (
            P.PIERCE_DND,
            _flag(update["high_priority_pierces_dnd"]),
        )
    if "watch_only" in update:
        out["watch_only"] = (P.WATCH_ONLY, _flag(update["watch_only"]))
    if "min_profit_pct" in update:
        out["min_profit_pct"] = (P.MIN_PROFIT, f"{update['min_profit_pct']:g}")
    if "timezone" in update:
        out["timezone"] = (P.TIMEZONE, update["timezone"])
    if "active_hours" in update:
        start, end = update["active_hours"]
        out["active_hours"] = (P.ACTIVE_HOURS, f"{start}-{end}")
    if "dnd_until" in update:
        until = update["dnd_until"]
        out["dnd_until"] = (P.DND_UNTIL, "" if until is None else repr(until))
    if "risk_tolerance" in update:
        out["risk_tolerance"] = (P.RISK, update["risk_tolerance"].value)
    return out


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
        raws = await hgetall_many(self._redis, [keys.user(u) for u in ids], "reading profiles")
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

    async def update(self, user_id: int, **update: Unpack[PreferenceUpdate]) -> dict[str, str]:
        """Set the given preferences in one write; returns each one's stored value by name
        (what a preference-changed event records)."""
        encoded = encode_update(update)
        if encoded:
            await self._set_fields(user_id, **dict(encoded.values()))
        return {name: value for name, (_, value) in encoded.items()}

    async def _set_fields(self, user_id: int, **fields: str) -> None:
        async with store_errors("saving preferences"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(keys.user(user_id), mapping=fields)
                pipe.publish(keys.SESSION_CHANNEL, str(user_id))
                await pipe.execute()

    async def set_list(self, user_id: int, name: ListPreference, members: Iterable[str]) -> None:
        await self._set_fields(user_id, **{_LIST_FIELD[name]: ",".join(sorted(set(members)))})

    async def change_member(
        self,
        user_id: int,
        name: ListPreference,
        member: str,
        how: Literal["add", "remove", "toggle"] = "toggle",
        *,
        keep_one: bool = False,
        keep_one_of: Iterable[str] = (),
    ) -> frozenset[str]:
        """Add, remove or toggle one member of a list preference, atomically; the list after.

        A list never set starts from what it stands for (opportunity types: all of them). With
        `keep_one`, a change that would leave the list empty is not made (in the same script,
        so concurrent presses cannot empty it either): the list comes back unchanged. Likewise
        removing the last member that is in `keep_one_of` (the types a plan includes).
        """
        absent = ",".join(sorted(_ABSENT_MEANS.get(name, frozenset())))
        keep_of = ",".join(sorted(set(keep_one_of)))
        args = [_LIST_FIELD[name], member, how, absent, "1" if keep_one else "0", keep_of]
        async with store_errors("saving preferences"):
            value = await self._scripts.toggle_member(keys=[keys.user(user_id)], args=args)
            await self._redis.publish(keys.SESSION_CHANNEL, str(user_id))
        return _csv(value)

    async def language(self, user_id: int) -> str:
        """The user's chosen language ("" while none is), one field read per update."""
        async with store_errors("reading a profile"):
            value = await answer(self._redis.hget(keys.user(user_id), P.LANGUAGE))
        return value or ""

    async def set_language(self, user_id: int, language: str) -> None:
        await self._set_fields(user_id, **{P.LANGUAGE: language})

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
            await self._set_fields(user_id, **fields)

    async def count_by_tier(self) -> dict[Tier, int]:
        async with store_errors("counting users"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for tier in Tier:
                    pipe.scard(keys.users_by_tier(tier.value))
                counts = await pipe.execute()
        return dict(zip(Tier, (int(c) for c in counts), strict=True))
