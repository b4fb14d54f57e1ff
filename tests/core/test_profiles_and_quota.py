"""Profiles and opportunity caps on real Redis."""

from __future__ import annotations

import asyncio
import random

from core.clock import ManualClock
from core.distribution.caps import Caps, Counters
from core.models import OpportunityType, RiskTolerance, Tier
from core.quota import next_day_start, next_hour_start
from core.services import Services


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
        *(services.profiles.change_member(1, "muted_pairs", p, "add") for p in pairs)
    )
    assert (await services.profiles.get(1)).preferences.muted_pairs == frozenset(pairs)
    await services.profiles.change_member(1, "muted_pairs", "P0/USDT", "toggle")
    assert "P0/USDT" not in (await services.profiles.get(1)).preferences.muted_pairs


async def test_concurrent_removals_of_every_type_keep_one(services: Services) -> None:
    """Keep at least one type, under concurrent presses: each removal is checked and
    made in one script, so removing every type at once leaves exactly one, whichever."""
    every = [t.value for t in OpportunityType]
    results = await asyncio.gather(
        *(
            services.profiles.change_member(1, "opportunity_types", t, "remove", keep_one=True)
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
    limits = Caps(daily=5, hourly=2)
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
    limits = Caps(daily=10, hourly=0)
    grants = await asyncio.gather(
        *(services.quota.take(1, 1, limits, clock.now()) for _ in range(50))
    )
    assert sum(g.granted for g in grants) == 10


async def test_the_take_script_grants_exactly_what_caps_say_remains(
    services: Services, clock: ManualClock
) -> None:
    """quota_take.lua does the cap sum atomically; it must be the sum `Caps.remaining` does, for
    every mix of caps (0 = unlimited), prior use and wish, across an hour and a day rolling."""
    rng = random.Random(7)
    for case in range(200):
        uid = 10_000 + case
        caps = Caps(daily=rng.choice([0, 1, 3, 5, 20]), hourly=rng.choice([0, 1, 2, 4]))
        used = rng.randint(0, 6)
        for _ in range(used):
            await services.quota.take(uid, 1, Caps(0, 0), clock.now())
        before = Counters.of(clock.now(), *await services.quota.used(uid, clock.now()))
        wanted = rng.randint(1, 8)
        grant = await services.quota.take(uid, wanted, caps, clock.now())
        left = caps.remaining(before, clock.now())
        assert grant.granted == (wanted if left is None else min(wanted, left)), (caps, used)
        assert grant.left == caps.left(grant.counters, clock.now())
        if case % 50 == 49:
            clock.advance(hours=rng.choice([1, 24]))


async def test_an_exhausted_grant_says_when_it_resets(
    services: Services, clock: ManualClock
) -> None:
    """The hourly cap reopens at the next hour; the daily one at the next UTC midnight."""
    clock.set(1_800_000_000.0 + 600)  # 10 minutes past an hour
    caps = Caps(daily=3, hourly=2)
    await services.quota.take(1, 2, caps, clock.now())
    hour_full = await services.quota.take(1, 1, caps, clock.now())
    assert hour_full.exhausted and hour_full.resets_at == next_hour_start(clock.now())
    clock.advance(hours=1)
    await services.quota.take(1, 1, caps, clock.now())
    day_full = await services.quota.take(1, 1, caps, clock.now())
    assert day_full.exhausted and day_full.resets_at == next_day_start(clock.now())


async def test_a_typed_update_reads_back_as_it_was_given(services: Services) -> None:
    """Each preference a handler sets is stored so the profile reads it back unchanged, and
    the update answers what a preference-changed event records; None ends Do Not Disturb."""
    saved = await services.profiles.update(
        1,
        push_enabled=False,
        high_priority_pierces_dnd=True,
        min_profit_pct=0.25,
        timezone="Asia/Tokyo",
        active_hours=(22, 6),
        dnd_until=1_800_000_000.5,
        risk_tolerance=RiskTolerance.HIGH,
    )
    prefs = (await services.profiles.get(1)).preferences
    assert (prefs.push_enabled, prefs.high_priority_pierces_dnd) == (False, True)
    assert (prefs.min_profit_pct, prefs.timezone) == (0.25, "Asia/Tokyo")
    assert (prefs.active_hours, prefs.dnd_until) == ((22, 6), 1_800_000_000.5)
    assert prefs.risk_tolerance is RiskTolerance.HIGH
    assert saved["push_enabled"] == "0" and saved["active_hours"] == "22-6"
    assert await services.profiles.update(1, dnd_until=None) == {"dnd_until": ""}
    after = (await services.profiles.get(1)).preferences
    assert after.dnd_until is None and after.timezone == "Asia/Tokyo", "only DND changed"
