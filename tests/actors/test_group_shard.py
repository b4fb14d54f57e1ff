"""Groups in the push shards, on real Redis without Ray: a group enabled by an admin is a row
and a queue of the same machinery as a user's: it gets the alerts its admins chose, with the
admin's plan and the group's own counters under 2x caps, its digest window, never a
private-only type, a card without anyone's personal data in its forum topic; a pause stops
even what is already queued."""

from __future__ import annotations

from typing import Any

from actors.user_queue_shard import UserQueueShard, shard_of
from core.clock import ManualClock
from core.groups.models import ChatKind
from core.groups.store import GroupStore
from core.models import OpportunityType, Priority, Tier
from core.services import Services
from core.settings import Settings, TierLimits
from tests.actors.test_user_queue_shard import opp, released

ADMIN = 4242


def _group(index: int = 0, count: int = 2) -> int:
    return next(g for g in range(-1001000, -1002000, -1) if shard_of(g, count) == index)


async def _enabled_group(
    services: Services, clock: ManualClock, tier: Tier = Tier.PREMIUM, **changes: Any
) -> int:
    g = _group()
    await services.profiles.ensure(ADMIN, "Alice")
    await services.profiles.set_tier(ADMIN, tier)
    store = GroupStore(services.redis)
    await store.joined(g, ChatKind.SUPERGROUP, "Traders", clock.now(), is_forum=True)
    await store.enable(g, ADMIN, clock.now())
    await store.update(g, clock.now(), thread_id=77, **changes)
    return g


async def test_an_enabled_group_gets_a_public_card_in_its_topic_on_its_own_counters(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    """The admin's plan applies, the message goes to the group's topic, without the admin's
    name or a position size, and counts against the group, not the admin."""
    g = await _enabled_group(services, clock)
    shard = UserQueueShard(0, 2, settings, redis_url)
    assert await shard.load(clock.now()) == 1
    assert (await shard.stats())["groups"] == 1
    o = opp(clock.now(), recommended_position_usd=5000, position_usd_medium=4000)
    result = await shard.fanout(o, clock.now())
    assert (result.eligible, result.messages) == (1, 1)
    [m] = await released(redis)
    assert (m.chat_id, m.user_id, m.thread_id, m.chat_kind, m.tier) == (
        g,
        g,
        77,
        "supergroup",
        "premium",
    )
    assert "Alice" not in m.text and "Size for your" not in m.text and "4,000" not in m.text
    assert "grp:details:o1" in (m.reply_markup or "")
    assert await services.quota.used(g, clock.now()) == (1, 1)
    assert await services.quota.used(ADMIN, clock.now()) == (0, 0)


async def test_private_only_types_and_unchosen_types_never_reach_a_group(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    """Technical signals are private-only (even with every type chosen); a type the admins left
    out is refused as unwanted; pairs narrow what is sent."""
    await _enabled_group(services, clock, pairs=frozenset({"BTC/USDT"}))
    shard = UserQueueShard(0, 2, settings, redis_url)
    await shard.load(clock.now())
    tech = await shard.fanout(opp(clock.now(), "t1", type=OpportunityType.TECHNICAL), clock.now())
    other_pair = await shard.fanout(opp(clock.now(), "e1", symbol="ETH/USDT"), clock.now())
    assert tech.rejected == {"L3:type_unwanted": 1}
    assert other_pair.rejected == {"L3:not_watched": 1}
    assert await released(redis) == []


async def test_the_group_caps_are_the_plans_times_the_multiplier(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    """With an hourly cap of 2 and no cooldown, a group gets 4 alerts this hour (2x), the fifth
    is refused by the release on the group's own counters."""
    tiers = dict(settings.tiers)
    tiers[Tier.BASIC] = TierLimits(
        daily_cap=50,
        hourly_cap=2,
        push_cooldown_seconds=0,
        opportunity_types=frozenset(OpportunityType),
    )
    settings = settings.model_copy(update={"tiers": tiers})
    g = await _enabled_group(services, clock, tier=Tier.BASIC)
    shard = UserQueueShard(0, 2, settings, redis_url)
    await shard.load(clock.now())
    for i in range(5):
        await shard.fanout(opp(clock.now(), f"h{i}"), clock.now())
    assert [m.opportunity_ids for m in await released(redis)] == [(f"h{i}",) for i in range(4)]
    assert await services.quota.used(g, clock.now()) == (4, 4)


async def test_the_groups_digest_window_batches_medium_alerts(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    """A 10-minute digest window: MEDIUM alerts wait 600 s (not the default 30 s), then go as
    one digest."""
    g = await _enabled_group(services, clock, digest_window_seconds=600)
    shard = UserQueueShard(0, 2, settings, redis_url)
    await shard.load(clock.now())
    now = clock.now()
    for i in range(2):
        o = opp(now, f"m{i}", priority=Priority.MEDIUM, expires_at=now + 3600)
        await services.opportunities.put(o)
        await shard.fanout(o, now)
    clock.advance(seconds=settings.distribution.medium_window_seconds)
    assert await shard.tick(clock.now()) == 0
    clock.advance(seconds=600)
    assert await shard.tick(clock.now()) == 1
    [digest] = await released(redis)
    assert (digest.chat_id, len(digest.opportunity_ids)) == (g, 2)
    assert "📬 2 opportunities" in digest.text


async def test_a_pause_stops_what_is_already_queued(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    """Paused after alerts were queued: the row goes, and the release (which checks the
    group's gate in Redis) sends nothing; enabled again, the row comes back."""
    g = await _enabled_group(services, clock, digest_window_seconds=600)
    shard = UserQueueShard(0, 2, settings, redis_url)
    await shard.load(clock.now())
    o = opp(clock.now(), "m0", priority=Priority.MEDIUM, expires_at=clock.now() + 3600)
    await services.opportunities.put(o)
    await shard.fanout(o, clock.now())
    store = GroupStore(redis)
    await store.pause(g, clock.now())  # the shard is not told yet: the release still refuses
    clock.advance(seconds=700)
    assert await shard.tick(clock.now()) == 0
    assert await released(redis) == []
    await shard.refresh([g], clock.now())
    assert g not in shard.columns
    await store.enable(g, ADMIN, clock.now())
    await shard.refresh([g], clock.now())
    assert g in shard.columns


async def test_the_groups_quiet_hours_hold_alerts_until_they_end(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    """Quiet hours in the group's time zone: a HIGH alert during them is held (nothing sent);
    once they end it goes out, to the group."""
    hour = int(clock.now() // 3600) % 24
    g = await _enabled_group(services, clock, quiet_hours=(hour, (hour + 2) % 24), timezone="UTC")
    shard = UserQueueShard(0, 2, settings, redis_url)
    await shard.load(clock.now())
    o = opp(clock.now(), "q1", expires_at=clock.now() + 4 * 3600)
    await services.opportunities.put(o)
    result = await shard.fanout(o, clock.now())
    assert (result.eligible, result.messages) == (1, 0)
    assert await released(redis) == []
    clock.advance(seconds=2 * 3600 + 60)
    assert await shard.tick(clock.now()) == 1
    [m] = await released(redis)
    assert (m.chat_id, m.opportunity_ids) == (g, ("q1",))
