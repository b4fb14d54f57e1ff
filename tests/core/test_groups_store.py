"""The group store on real Redis: joining, leaving and re-joining keep what admins chose; the
index sets follow (recipients: enabled groups the bot is in; channels: linked ones); each change
is announced to the push shards; concurrent changes of different fields both stay."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.clock import ManualClock
from core.groups.admin_cache import AdminCache
from core.groups.deeplinks import DeepLinkSource, parse_start_payload, start_payload
from core.groups.models import ChatKind, GroupConfig
from core.groups.store import GroupError, GroupStore
from core.models import OpportunityType, Tier
from core.store import keys

G = -100123


async def test_a_new_group_is_inactive_for_alerts_until_an_admin_enables_it(
    redis: Any, clock: ManualClock
) -> None:
    """Being added records the group but sends nothing; enabling names the admin (the plan)."""
    store = GroupStore(redis)
    added = await store.joined(G, ChatKind.SUPERGROUP, "Traders", clock.now(), is_forum=True)
    assert (added.active, added.enabled, added.is_forum) == (True, False, True)
    assert await store.recipient_ids() == []
    enabled = await store.enable(G, 7, clock.now())
    assert (enabled.enabled, enabled.enabled_by) == (True, 7)
    assert await store.recipient_ids() == [G]
    assert await store.get(G) == enabled


async def test_removal_keeps_the_choices_and_re_adding_resumes_them(
    redis: Any, clock: ManualClock
) -> None:
    """The bot removed: inactive, out of the recipients, every setting kept; added back: the
    same settings, alerts on again."""
    store = GroupStore(redis)
    await store.joined(G, ChatKind.GROUP, "T", clock.now())
    await store.enable(G, 7, clock.now())
    await store.update(
        G,
        clock.now(),
        opportunity_types=frozenset({OpportunityType.FUNDING, OpportunityType.ARBITRAGE}),
        digest_window_seconds=600,
        quiet_hours=(22, 8),
        timezone="Europe/Moscow",
        thread_id=5,
    )
    left = await store.left(G, clock.now())
    assert left is not None and not left.active and left.enabled
    assert await store.recipient_ids() == []
    back = await store.joined(G, ChatKind.SUPERGROUP, "T2", clock.now())
    assert back.receives_pushes and back.digest_window_seconds == 600
    assert (back.quiet_hours, back.thread_id, back.title) == ((22, 8), 5, "T2")
    assert back.active_hours == (8, 22)
    assert await store.recipient_ids() == [G]


async def test_changes_are_announced_to_the_push_shards(redis: Any, clock: ManualClock) -> None:
    """Every write publishes the chat id on the users-changed channel the shards follow."""
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(keys.SESSION_CHANNEL)
    store = GroupStore(redis)
    await store.joined(G, ChatKind.GROUP, "T", clock.now())
    await store.pause(G, clock.now())
    got = []
    while len(got) < 2:
        m = await pubsub.get_message(timeout=5)
        if m is not None:
            got.append(int(m["data"]))
    assert got == [G, G]
    await pubsub.aclose()


async def test_unknown_chats_and_bad_values_are_refused_with_a_message(
    redis: Any, clock: ManualClock
) -> None:
    """Enabling a chat the bot never joined says to add the bot; a group is not a channel;
    quiet hours out of range are refused by validation."""
    store = GroupStore(redis)
    with pytest.raises(GroupError, match="added to it first"):
        await store.enable(G, 7, clock.now())
    await store.joined(G, ChatKind.GROUP, "T", clock.now())
    with pytest.raises(GroupError, match="not a channel"):
        await store.link_channel(G, "T", 1, clock.now())
    with pytest.raises(ValueError, match="quiet hours"):
        await store.update(G, clock.now(), quiet_hours=(25, 3))


async def test_concurrent_changes_of_different_fields_both_stay(
    redis: Any, clock: ManualClock
) -> None:
    """Two admins at once (WATCH/MULTI retries): neither change overwrites the other."""
    store = GroupStore(redis)
    await store.joined(G, ChatKind.GROUP, "T", clock.now())
    await asyncio.gather(
        *[store.update(G, clock.now(), min_profit_pct=0.5) for _ in range(5)],
        *[store.update(G, clock.now(), timezone="Asia/Tokyo") for _ in range(5)],
        store.enable(G, 9, clock.now()),
    )
    got = await store.get(G)
    assert got is not None
    assert (got.min_profit_pct, got.timezone, got.enabled_by) == (0.5, "Asia/Tokyo", 9)


async def test_a_linked_channel_is_indexed_and_a_group_tier_can_be_set(
    redis: Any, clock: ManualClock
) -> None:
    """Channels: linked by a SuperAdmin with a delay, never recipients of pushes; unlinking
    removes it from the broadcaster's index. A SuperAdmin's tier is kept on the group."""
    store = GroupStore(redis)
    ch = await store.link_channel(-100777, "News", 1, clock.now(), delay_seconds=120)
    assert (ch.kind, ch.linked_channel, ch.receives_pushes) == (ChatKind.CHANNEL, True, False)
    assert await store.channel_ids() == [-100777]
    await store.unlink_channel(-100777, clock.now())
    assert await store.channel_ids() == []
    await store.joined(G, ChatKind.GROUP, "T", clock.now())
    assert (await store.set_tier(G, Tier.PREMIUM, clock.now())).tier_override is Tier.PREMIUM
    assert sorted(await store.all_ids()) == [-100777, G]


async def test_the_admin_cache_answers_until_its_ttl(redis: Any) -> None:
    """A cached getChatMember answer is read back; unknown ones and forgotten ones are None."""
    cache = AdminCache(redis, 60)
    assert await cache.get(G, 5) is None
    await cache.put(G, 5, True)
    await cache.put(G, 6, False)
    assert (await cache.get(G, 5), await cache.get(G, 6)) == (True, False)
    assert 0 < await redis.pttl(keys.group_admin(G, 5)) <= 60_000
    await cache.forget(G, 5)
    assert await cache.get(G, 5) is None


def test_deep_link_payloads_round_trip_and_foreign_ones_are_not_ours() -> None:
    """g_/ch_ payloads carry negative ids as 'm'; anything else is not a group link."""
    assert start_payload("channel", -1001234) == "ch_m1001234"
    assert parse_start_payload("ch_m1001234") == DeepLinkSource("channel", -1001234)
    assert parse_start_payload(start_payload("group", -5)) == DeepLinkSource("group", -5)
    for other in (None, "", "ref_abc", "g_", "ch_m12x", "g_m" + "1" * 21):
        assert parse_start_payload(other) is None


def test_quiet_hours_become_the_active_hours_around_them() -> None:
    """Quiet 22-8 means alerts 8-22; none or an empty span means always."""
    assert GroupConfig(chat_id=G, quiet_hours=(22, 8)).active_hours == (8, 22)
    assert GroupConfig(chat_id=G, quiet_hours=(0, 6)).active_hours == (6, 0)
    assert GroupConfig(chat_id=G).active_hours == (0, 24)
    assert GroupConfig(chat_id=G, quiet_hours=(3, 3)).active_hours == (0, 24)
