"""A UserQueueActor shard's logic on real Redis, driven without Ray: loading users, fan-out of one
opportunity through the six layers, batching, quota taken only for what is sent, closing edits,
and a restart that loses nothing. Delivery itself (the outbox) is tested in tests/messaging."""

from __future__ import annotations

from typing import Any

import pytest

from actors.user_queue_shard import UserQueueShard, shard_of
from core.clock import ManualClock
from core.distribution.caps import Caps
from core.distribution.release import ReleaseStore
from core.errors import StoreUnavailableError
from core.models import Opportunity, OpportunityType, Priority, Tier
from core.services import Services
from core.settings import Settings
from core.store import keys
from core.store.keys import ProfileFields as P
from messaging.outbox.message import OutboxMessage


async def released(redis: Any) -> list[OutboxMessage]:
    """What the shard put in the outbox (one partition: one sender; HIGH in its own lane),
    oldest first."""
    rows = [
        *await redis.xrange(keys.outbox_stream(0)),
        *await redis.xrange(keys.outbox_stream(0, high=True)),
    ]
    rows.sort(key=lambda r: tuple(int(x) for x in r[0].split("-")))
    return [OutboxMessage.from_json(f["m"]) for _, f in rows]


def opp(now: float, oid: str = "o1", **kw: Any) -> Opportunity:
    base: dict[str, Any] = {
        "opportunity_id": oid, "type": OpportunityType.FUNDING, "symbol": "BTC/USDT",
        "buy_exchange": "binance", "sell_exchange": "okx", "buy_price": 100.0,
        "sell_price": 100.5, "net_spread_pct": 0.4, "expected_profit_pct": 0.4,
        "confidence": 0.8, "priority": Priority.HIGH, "detected_at": now - 600,
        "updated_at": now, "expires_at": now + 900,
    }  # fmt: skip
    base.update(kw)
    return Opportunity.model_validate(base)


async def _users(services: Services, ids: list[int]) -> None:
    for uid in ids:
        await services.profiles.ensure(uid, f"u{uid}")
        await services.sessions.start(uid)


def _mine(n: int, count: int = 2, index: int = 0) -> list[int]:
    return [u for u in range(1, 10 * n) if shard_of(u, count) == index][:n]


async def test_load_takes_this_shards_active_users_only(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock
) -> None:
    mine, theirs = _mine(3), [u for u in range(1, 20) if shard_of(u, 2) == 1][:2]
    await _users(services, mine + theirs)
    shard = UserQueueShard(0, 2, settings, redis_url)
    assert await shard.load(clock.now()) == 3
    clock.advance(days=8)
    await shard.refresh(mine, clock.now())  # sessions lapsed: rows go
    assert len(shard.columns) == 0


async def test_a_high_opportunity_goes_out_at_once_and_takes_quota(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    [uid, muted] = _mine(2)
    await _users(services, [uid, muted])
    await services.profiles.update(muted, push_enabled=False)
    shard = UserQueueShard(0, 2, settings, redis_url)
    await shard.load(clock.now())
    result = await shard.fanout(opp(clock.now()), clock.now())
    assert (result.eligible, result.messages) == (1, 1)
    assert result.rejected == {"L3:push_off": 1}
    assert [(m.user_id, m.kind, m.opportunity_ids) for m in await released(redis)] == [
        (uid, "send", ("o1",))
    ]
    assert await services.quota.used(uid, clock.now()) == (1, 1)
    assert await services.quota.used(muted, clock.now()) == (0, 0)
    assert await redis.smembers(keys.recipients("o1")) == {str(uid)}
    # The same opportunity again, not improved: nothing more is sent, nothing more is taken.
    await shard.fanout(opp(clock.now()), clock.now())
    assert len(await released(redis)) == 1
    assert await services.quota.used(uid, clock.now()) == (1, 1)


async def test_medium_ones_wait_for_the_window_and_go_out_as_one_digest(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    [uid] = _mine(1)
    await _users(services, [uid])
    await services.profiles.set_tier(uid, __import__("core.models", fromlist=["Tier"]).Tier.PREMIUM)
    shard = UserQueueShard(0, 2, settings, redis_url)
    await shard.load(clock.now())
    now = clock.now()
    for i in range(3):
        o = opp(now, f"m{i}", priority=Priority.MEDIUM, expected_profit_pct=0.3 + i / 10)
        await services.opportunities.put(o)
        await shard.fanout(o, now)
    assert await released(redis) == []
    clock.advance(seconds=settings.distribution.medium_window_seconds)
    assert await shard.tick(clock.now()) == 1
    [digest] = await released(redis)
    assert digest.opportunity_ids == ("m2", "m1", "m0")  # best first
    assert await services.quota.used(uid, clock.now()) == (3, 3)


async def test_a_closed_opportunity_edits_the_messages_that_carried_it(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    [uid] = _mine(1)
    await _users(services, [uid])
    shard = UserQueueShard(0, 2, settings, redis_url)
    await shard.load(clock.now())
    await shard.fanout(opp(clock.now()), clock.now())
    [sent] = await released(redis)
    await shard.record_sent(uid, sent.outgoing_id, 4242)
    await shard.fanout(opp(clock.now(), closed=True), clock.now())
    edit = (await released(redis))[-1]
    assert (edit.kind, edit.message_id, edit.opportunity_ids) == ("edit", 4242, ("o1",))


async def test_a_restarted_shard_resumes_its_queues_from_redis(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    [uid] = _mine(1)
    await _users(services, [uid])
    first = UserQueueShard(0, 2, settings, redis_url)
    await first.load(clock.now())
    low = opp(clock.now(), "l1", priority=Priority.LOW)
    await services.opportunities.put(low)
    await first.fanout(low, clock.now())
    del first  # the process dies; its queue was saved after the turn
    second = UserQueueShard(0, 2, settings, redis_url)
    await second.load(clock.now())  # resumes the queues that still hold work
    assert uid in second.queues
    clock.advance(seconds=settings.distribution.low_window_seconds)
    assert await second.tick(clock.now()) == 1
    assert [m.opportunity_ids for m in await released(redis)] == [("l1",)]


async def test_explain_names_the_first_failing_layer(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock
) -> None:
    [uid] = _mine(1)
    await _users(services, [uid])
    shard = UserQueueShard(0, 2, settings, redis_url)
    verdict = await shard.explain(
        uid, opp(clock.now(), type=OpportunityType.TECHNICAL), clock.now()
    )
    assert (verdict.eligible, verdict.layer) == (False, 2)
    ok = await shard.explain(uid, opp(clock.now()), clock.now())
    assert ok.eligible


async def test_a_default_free_user_gets_a_funding_alert_after_the_tiers_delay(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    """The default user (Free, default preferences) is offered a funding opportunity the moment
    it is published; it reaches them once the Free delay is over, not refused as too fresh."""
    [uid] = _mine(1)
    await _users(services, [uid])
    shard = UserQueueShard(0, 2, settings, redis_url)
    await shard.load(clock.now())
    now = clock.now()
    fresh = opp(now, "f1", detected_at=now, priority=Priority.HIGH)
    await services.opportunities.put(fresh)
    result = await shard.fanout(fresh, now)
    assert (result.eligible, result.messages, result.rejected) == (1, 0, {})
    delay = settings.tiers[Tier.FREE].delay_seconds
    clock.advance(seconds=delay - 1)
    assert await shard.tick(clock.now()) == 0
    clock.advance(seconds=1)
    assert await shard.tick(clock.now()) == 1
    assert [(m.user_id, m.opportunity_ids) for m in await released(redis)] == [(uid, ("f1",))]
    spread = opp(now, "a1", detected_at=now, type=OpportunityType.ARBITRAGE)
    assert (await shard.fanout(spread, clock.now())).rejected == {"L2:tier_type": 1}


# The release step: checked again, atomic, idempotent ------------------------------------------


async def _basic_shard(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, tier: Tier
) -> tuple[int, UserQueueShard]:
    [uid] = _mine(1)
    await _users(services, [uid])
    await services.profiles.set_tier(uid, tier)
    shard = UserQueueShard(0, 2, settings, redis_url)
    await shard.load(clock.now())
    return uid, shard


async def test_a_digest_due_inside_the_cooldown_waits_for_it_instead_of_following_a_single(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    _, shard = await _basic_shard(services, settings, redis_url, clock, Tier.BASIC)
    now = clock.now()
    medium = opp(now, "m1", priority=Priority.MEDIUM, expires_at=now + 7_200)
    await services.opportunities.put(medium)
    await shard.fanout(medium, now)  # waits for its digest window
    await shard.fanout(opp(now, "h1"), now)  # a HIGH goes at once
    clock.advance(seconds=settings.distribution.medium_window_seconds)
    assert await shard.tick(clock.now()) == 0  # the cooldown refused the digest: it waits
    assert [m.opportunity_ids for m in await released(redis)] == [("h1",)]
    cooldown = settings.tiers[Tier.BASIC].push_cooldown_seconds
    clock.advance(seconds=cooldown - settings.distribution.medium_window_seconds)
    assert await shard.tick(clock.now()) == 1
    assert [m.opportunity_ids for m in await released(redis)] == [("h1",), ("m1",)]


async def test_push_switched_off_while_a_digest_waits_means_no_digest_and_an_event(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    uid, shard = await _basic_shard(services, settings, redis_url, clock, Tier.PREMIUM)
    now = clock.now()
    medium = opp(now, "m1", priority=Priority.MEDIUM)
    await services.opportunities.put(medium)
    await shard.fanout(medium, now)
    # Switched off in Redis; the shard has not heard of it (its change loop is not running).
    await redis.hset(keys.user(uid), P.PUSH, "0")
    clock.advance(seconds=settings.distribution.medium_window_seconds)
    assert await shard.tick(clock.now()) == 0
    assert await released(redis) == []
    assert await services.quota.used(uid, clock.now()) == (0, 0)
    stats = await redis.hgetall(keys.PUSH_STATS)
    assert stats["dropped:release:push_off"] == "1"


async def test_on_demand_use_shrinks_a_digest_to_what_the_cap_leaves_and_counts_the_rest(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    uid, shard = await _basic_shard(services, settings, redis_url, clock, Tier.PREMIUM)
    now = clock.now()
    for i in range(3):
        o = opp(now, f"m{i}", priority=Priority.MEDIUM, expected_profit_pct=0.3 + i / 10)
        await services.opportunities.put(o)
        await shard.fanout(o, now)
    # /opportunities used all but one of the hourly cap meanwhile (the shard was not told).
    limits = settings.tiers[Tier.PREMIUM]
    grant = await services.quota.take(uid, limits.hourly_cap - 1, Caps.of(limits), now)
    assert grant.granted == limits.hourly_cap - 1
    clock.advance(seconds=settings.distribution.medium_window_seconds)
    assert await shard.tick(clock.now()) == 1
    [digest] = await released(redis)
    assert digest.opportunity_ids == ("m2",)  # the best one fits
    assert await services.quota.used(uid, clock.now()) == (limits.hourly_cap, limits.hourly_cap)
    stats = await redis.hgetall(keys.PUSH_STATS)
    assert stats["dropped:quota"] == "2"


class LostReply(ReleaseStore):
    """The release is done in Redis, then the connection drops before the reply arrives."""

    failures = 1

    async def release_many(self, requests: Any, now: float) -> Any:
        results = await super().release_many(requests, now)
        if self.failures:
            self.failures -= 1
            raise StoreUnavailableError("connection lost")
        return results


async def test_a_release_whose_reply_was_lost_is_retried_without_a_duplicate(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    uid, shard = await _basic_shard(services, settings, redis_url, clock, Tier.PREMIUM)
    real = shard._release
    shard._release = LostReply(real._redis, real._scripts, real._ttls)
    now = clock.now()
    medium = opp(now, "m1", priority=Priority.MEDIUM)
    await services.opportunities.put(medium)
    await shard.fanout(medium, now)
    clock.advance(seconds=settings.distribution.medium_window_seconds)
    with pytest.raises(StoreUnavailableError):
        await shard.tick(clock.now())
    # The next tick tries again: the outbox already has it, nothing more goes, quota once.
    await shard.tick(clock.now())
    clock.advance(seconds=60)
    await shard.tick(clock.now())
    assert [m.opportunity_ids for m in await released(redis)] == [("m1",)]
    assert await services.quota.used(uid, clock.now()) == (1, 1)


async def test_alerts_lost_during_dnd_are_told_once_when_it_ends_at_no_quota(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    """Two digest items held by Do Not Disturb expire before it ends: when it ends the user gets
    one "while you were away" message (even when the first release's reply is lost), which takes
    no quota and starts no cooldown, so a HIGH alert right after still goes at once."""
    uid, shard = await _basic_shard(services, settings, redis_url, clock, Tier.BASIC)
    real = shard._release
    shard._release = LostReply(real._redis, real._scripts, real._ttls)
    shard._release.failures = 0
    now = clock.now()
    await services.profiles.update(uid, dnd_until=now + 600)
    await shard.refresh([uid], now)
    for oid in ("m1", "m2"):
        o = opp(now, oid, priority=Priority.MEDIUM, expires_at=now + 300)
        await services.opportunities.put(o)
        await shard.fanout(o, now)
    clock.advance(seconds=settings.distribution.medium_window_seconds)
    await shard.tick(clock.now())  # held
    clock.advance(seconds=300)
    await shard.tick(clock.now())  # expired while held; still in DND
    assert await released(redis) == []
    clock.advance(seconds=now + 600 - clock.now())  # Do Not Disturb ends
    shard._release.failures = 1
    with pytest.raises(StoreUnavailableError):
        await shard.tick(clock.now())
    await shard.tick(clock.now())
    [away] = await released(redis)
    assert away.opportunity_ids == ()
    assert "While you were away, 2 opportunities came and went" in away.text
    assert await services.quota.used(uid, clock.now()) == (0, 0)
    [counters] = await services.quota.counters_many([uid], clock.now())
    assert counters.last_push_at is None
    high = opp(clock.now(), "h1")
    await services.opportunities.put(high)
    await shard.fanout(high, clock.now())
    assert [m.opportunity_ids for m in await released(redis)] == [(), ("h1",)]


async def test_a_release_larger_than_one_pipeline_goes_in_several_and_releases_everyone(
    services: Services, settings: Settings, redis_url: str, clock: ManualClock, redis: Any
) -> None:
    """`distribution.release_batch` bounds one pipeline (a 100,000-user HIGH in one write
    outlasted the socket timeout); every user is still released exactly once."""
    users = _mine(7)
    await _users(services, users)
    small = settings.model_copy(
        update={"distribution": settings.distribution.model_copy(update={"release_batch": 3})}
    )
    shard = UserQueueShard(0, 2, small, redis_url)
    await shard.load(clock.now())
    result = await shard.fanout(opp(clock.now()), clock.now())
    assert (result.eligible, result.messages) == (7, 7)
    assert sorted(m.user_id for m in await released(redis)) == sorted(users)
