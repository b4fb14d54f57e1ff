"""Issue 15, fair quota: an opportunity a push already charged is free in /opportunities.

A Premium trader (no delay) gets a HIGH opportunity pushed by a queue shard, then asks for
/opportunities within the repeat window: the same opportunity is listed as seen and charged
nothing more; a second, never pushed one costs one. After the window, seeing the pushed one
again costs again. The oracle is the quota counters in Redis and the reply the emulator shows.
"""

from __future__ import annotations

from typing import Any

from actors.user_queue_shard import UserQueueShard
from core.models import Opportunity, OpportunityType, Priority, Tier
from core.settings import Settings
from messaging.outbox.store import Outbox

from .conftest import BotEnv
from .outbox_delivery import deliver

TRADER = 41


def _opp(oid: str, now: float) -> Opportunity:
    return Opportunity(
        opportunity_id=oid, type=OpportunityType.ARBITRAGE, symbol="BTC/USDT",
        buy_exchange="binance", sell_exchange="okx", buy_price=100.0, sell_price=100.5,
        net_spread_pct=0.5, expected_profit_pct=0.45, confidence=0.8, priority=Priority.HIGH,
        detected_at=now, updated_at=now, expires_at=now + 7_200,
    )  # fmt: skip


async def test_a_pushed_opportunity_is_free_when_listed_again_within_the_window(
    botenv: BotEnv, settings: Settings, redis_url: str, redis: Any
) -> None:
    """Pushed: one charge. Listed with a new one inside the window: the pushed one is free, the
    new one costs one. Listed after the window: both cost again."""
    clock, services = botenv.clock, botenv.services
    await botenv.send(TRADER, "/start")
    await services.profiles.set_tier(TRADER, Tier.PREMIUM)
    await services.sessions.activity.flush()
    shard = UserQueueShard(0, 1, settings, redis_url)
    outbox = Outbox(redis, settings.distribution.delivery, clock=clock)
    await outbox.ensure_group()
    await shard.load(clock.now())

    pushed = _opp("p1", clock.now())
    await services.opportunities.put(pushed)
    await shard.fanout(pushed, clock.now())
    await shard.tick(clock.now())
    [(message, _sent)] = await deliver(botenv, outbox)
    assert message.opportunity_ids == ("p1",)
    assert await services.quota.used(TRADER, clock.now()) == (1, 1)

    window = settings.opportunities.repeat_view_free_seconds
    clock.advance(seconds=min(60.0, window / 2))
    await services.opportunities.put(_opp("n1", clock.now()))
    await botenv.send(TRADER, "/opportunities")
    reply = (await botenv.last(TRADER))["text"]
    assert f"1 seen in the last {window / 60:g} min: free." in reply
    assert await services.quota.used(TRADER, clock.now()) == (2, 2)  # only n1 was charged

    clock.advance(seconds=window + 1)
    await botenv.send(TRADER, "/opportunities")
    assert "seen in the last" not in (await botenv.last(TRADER))["text"]
    today, _hour = await services.quota.used(TRADER, clock.now())
    assert today == 4  # both charged again once the window passed
