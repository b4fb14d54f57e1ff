"""Profiles and opportunity caps on real Redis."""

from __future__ import annotations

import asyncio

from core.clock import ManualClock
from core.models import OpportunityType, Tier
from core.services import Services
from core.settings import TierLimits
from core.store.keys import ProfileFields


async def test_a_new_profile_is_free_with_default_preferences(services: Services) -> None:
    assert await services.profiles.ensure(1, "Ann") is True
    assert await services.profiles.ensure(1, "Ann B") is False
    p = await services.profiles.get(1)
    assert p.tier is Tier.FREE
    assert p.first_name == "Ann B"
    assert p.preferences.push_enabled
    assert p.preferences.opportunity_types == frozenset(OpportunityType)
    assert (await services.profiles.count_by_tier())[Tier.FREE] == 1


async def test_superadmin_ids_from_settings_are_superadmins(services: Services) -> None:
    await services.profiles.ensure(999, "Root")
    assert (await services.profiles.get(999)).tier is Tier.SUPERADMIN


async def test_concurrent_toggles_of_one_list_lose_nothing(services: Services) -> None:
    pairs = [f"P{i}/USDT" for i in range(50)]
    await asyncio.gather(
        *(services.profiles.change_member(1, ProfileFields.MUTED_PAIRS, p, "add") for p in pairs)
    )
    assert (await services.profiles.get(1)).preferences.muted_pairs == frozenset(pairs)
    await services.profiles.change_member(1, ProfileFields.MUTED_PAIRS, "P0/USDT", "toggle")
    assert "P0/USDT" not in (await services.profiles.get(1)).preferences.muted_pairs


async def test_concurrent_removals_of_every_type_keep_one(services: Services) -> None:
    """Keep at least one type, under concurrent presses: each removal is checked and
    made in one script, so removing every type at once leaves exactly one, whichever."""
    every = [t.value for t in OpportunityType]
    results = await asyncio.gather(
        *(
            services.profiles.change_member(
                1, ProfileFields.TYPES, t, "remove", absent_means=every, keep_one=True
            )
            for t in every
        )
    )
    left = (await services.profiles.get(1)).preferences.opportunity_types
    assert len(left) == 1
    [kept] = left
    refused = [t for t, after in zip(every, results, strict=True) if t in after]
    assert refused == [kept.value], "only the last removal is refused, and it says so"


async def test_set_tier_moves_the_user_between_tier_sets(services: Services) -> None:
    await services.profiles.ensure(1, "Ann")
    await services.profiles.set_tier(1, Tier.PREMIUM)
    counts = await services.profiles.count_by_tier()
    assert counts[Tier.FREE] == 0
    assert counts[Tier.PREMIUM] == 1


async def test_quota_grants_what_daily_and_hourly_caps_allow(
    services: Services, clock: ManualClock
) -> None:
    limits = TierLimits(
        daily_cap=5, hourly_cap=2, push_cooldown_seconds=0, opportunity_types=frozenset()
    )
    now = clock.now()
    assert (await services.quota.take(1, 3, limits, now)).granted == 2
    assert (await services.quota.take(1, 1, limits, now)).exhausted
    clock.advance(hours=1)
    g = await services.quota.take(1, 5, limits, clock.now())
    assert (g.granted, g.used_today) == (2, 4)
    clock.advance(hours=1)
    g = await services.quota.take(1, 5, limits, clock.now())
    assert (g.granted, g.used_today) == (1, 5)
    clock.advance(days=1)
    assert (await services.quota.take(1, 1, limits, clock.now())).granted == 1


async def test_concurrent_takes_never_exceed_the_cap(
    services: Services, clock: ManualClock
) -> None:
    limits = TierLimits(
        daily_cap=10, hourly_cap=0, push_cooldown_seconds=0, opportunity_types=frozenset()
    )
    grants = await asyncio.gather(
        *(services.quota.take(1, 1, limits, clock.now()) for _ in range(50))
    )
    assert sum(g.granted for g in grants) == 10
