"""End to end: two traders with opposite tastes vote through Telegram (the emulator, over HTTP)
for two weeks of simulated time (ManualClock), the learner learns from the events the bot
emitted, and the next digest a push shard releases (real Redis, the shard's logic without Ray)
lists the same two opportunities in opposite orders: each trader's preferred type first. With
ranking switched off the same shard releases both in the one best-first order, so the
difference is the personalisation's. The expected orders come from the traders' scripted
tastes, not from the model."""

from __future__ import annotations

from typing import Any

from actors.user_queue_shard import UserQueueShard
from core.events import MemoryEventLog
from core.models import Opportunity, OpportunityType, Priority, Tier
from core.personalisation.learner import Learner
from core.personalisation.store import RelevanceStore
from core.settings import Settings
from core.store import keys
from messaging.outbox.message import OutboxMessage
from tests.bot.conftest import BotEnv

F, A = OpportunityType.FUNDING, OpportunityType.ARBITRAGE
LIKES = {1: F, 2: A}


def _opp(now: float, oid: str, kind: OpportunityType, profit: float) -> Opportunity:
    return Opportunity(
        opportunity_id=oid, type=kind, symbol="BTC/USDT", buy_exchange="binance",
        sell_exchange="okx", buy_price=100.0, sell_price=100.5, net_spread_pct=0.4,
        expected_profit_pct=profit, confidence=0.8, priority=Priority.MEDIUM,
        detected_at=now - 60, updated_at=now, expires_at=now + 3 * 3600,
    )  # fmt: skip


async def _digests(redis: Any) -> dict[int, tuple[str, ...]]:
    rows = await redis.xrange(keys.outbox_stream(0))
    msgs = [OutboxMessage.from_json(f["m"]) for _, f in rows]
    return {m.user_id: m.opportunity_ids for m in msgs if m.kind == "send"}


async def _release(env: BotEnv, settings: Settings, redis_url: str, ids: tuple[str, str]) -> None:
    now = env.clock.now()
    shard = UserQueueShard(0, 1, settings, redis_url)
    await shard.load(now)
    for oid, kind, profit in ((ids[0], A, 0.9), (ids[1], F, 0.5)):  # arbitrage: best first
        o = _opp(now, oid, kind, profit)
        await env.services.opportunities.put(o)
        await shard.fanout(o, now)
    env.clock.advance(seconds=settings.distribution.medium_window_seconds)
    assert await shard.tick(env.clock.now()) == 2
    await shard.flush()


async def test_opposite_tastes_voted_for_two_weeks_get_opposite_digest_orders(
    botenv: BotEnv, settings: Settings, redis_url: str
) -> None:
    env, redis = botenv, botenv.services.redis
    log = env.services.events
    assert isinstance(log, MemoryEventLog)
    for day in range(14):
        now = env.clock.now()
        pair = {F: _opp(now, f"f{day}", F, 0.5), A: _opp(now, f"a{day}", A, 0.9)}
        for o in pair.values():
            await env.services.opportunities.put(o)
        for uid, liked in LIKES.items():
            await env.send(uid, "/start")  # also keeps the session going
            await env.services.profiles.set_tier(uid, Tier.PREMIUM)  # both types in the plan
            mid = int((await env.last(uid))["message_id"])
            for kind, o in pair.items():
                await env.press(
                    uid, mid, f"op:{'up' if kind is liked else 'down'}:{o.opportunity_id}"
                )
        env.clock.advance(days=1)
    answers = [a["text"] for a in await env.callback_answers(1)]
    assert sum("placed higher in your digests" in a for a in answers) == 14

    store = RelevanceStore(redis, settings.personalisation)
    learner = Learner(store, env.services.profiles, env.services.opportunities)
    assert await learner.apply([e.__dict__ for e in log.events]) == 2 * 2 * 14

    await _release(env, settings, redis_url, ("arb-1", "fund-1"))
    assert await _digests(redis) == {1: ("fund-1", "arb-1"), 2: ("arb-1", "fund-1")}

    await redis.delete(keys.outbox_stream(0))
    env.clock.advance(hours=2)  # past the cooldown
    off = settings.model_copy(
        update={"personalisation": settings.personalisation.model_copy(
            update={"ranking_enabled": False})}
    )  # fmt: skip
    await _release(env, off, redis_url, ("arb-2", "fund-2"))
    assert await _digests(redis) == {1: ("arb-2", "fund-2"), 2: ("arb-2", "fund-2")}
