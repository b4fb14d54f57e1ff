"""From /subscription to the first Premium-only push: a Free trader pays in Stars (the emulator
plays the payer) and the next technical signal, a type only Premium and above receive, reaches
them from a queue shard at once, where the same signal before the purchase did not.

Real dispatcher over HTTP to the emulator, real Redis, a real `UserQueueShard` (without Ray).
The shard learns of the new plan the way a live one does: the purchase announces the user on
the users channel, and the shard re-reads the users it hears of. The oracle is the emulator's
chat and the tier table written out here (Free: funding only, delayed; Premium: every type).
"""

from __future__ import annotations

from typing import Any

from actors.user_queue_shard import UserQueueShard
from core.models import Opportunity, OpportunityType, Priority, Tier
from core.settings import Settings
from core.store import keys
from messaging.outbox.store import Outbox
from tests.bot.conftest import BotEnv
from tests.bot.outbox_delivery import deliver
from tests.bot.test_stars_payments import _buy, _pay

TRADER = 4343


def _signal(oid: str, now: float) -> Opportunity:
    return Opportunity(
        opportunity_id=oid, type=OpportunityType.TECHNICAL, symbol="SOL/USDT",
        buy_exchange="binance", sell_exchange="binance", buy_price=100.0, sell_price=101.2,
        net_spread_pct=1.2, expected_profit_pct=1.2, confidence=0.8, priority=Priority.HIGH,
        detected_at=now, updated_at=now, expires_at=now + 3_600,
    )  # fmt: skip


async def _announced(pubsub: Any) -> set[int]:
    """User ids published on the users channel so far (what a live shard would re-read)."""
    seen: set[int] = set()
    while (message := await pubsub.get_message(timeout=0.2)) is not None:
        if message["type"] == "message":
            seen.add(int(message["data"]))
    return seen


async def test_a_free_trader_buys_premium_and_gets_the_first_premium_only_push(
    botenv: BotEnv, settings: Settings, redis_url: str, redis: Any
) -> None:
    """Before paying, a HIGH technical signal is refused by the plan and nothing reaches the
    chat; after paying, the purchase is announced to the shards, and the next technical signal
    is delivered at once (Premium has no delay) as the chat's next message."""
    clock, services = botenv.clock, botenv.services
    await botenv.send(TRADER, "/start")
    await services.sessions.activity.flush()
    shard = UserQueueShard(0, 1, settings, redis_url)
    outbox = Outbox(redis, settings.distribution.delivery, clock=clock)
    await outbox.ensure_group()
    await shard.load(clock.now())

    now = clock.now()
    before = _signal("tech-before", now)
    await services.opportunities.put(before)
    await shard.fanout(before, now)
    await shard.tick(clock.now())
    assert await deliver(botenv, outbox) == [], "a Free plan receives no technical signal"
    why = await shard.explain(TRADER, before, clock.now())
    assert why.reason == "L2:tier_type", why

    # Subscribe confirmations are read, not skipped: a skipped one reads as None, "nothing yet".
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.SESSION_CHANNEL)
    link = await _buy(botenv, TRADER, Tier.PREMIUM)
    paid = await _pay(botenv, TRADER, link)
    assert paid["status"] == "paid" and paid["delivered"], paid
    receipt = (await botenv.last(TRADER))["text"]
    assert "you are on <b>Premium</b> now" in receipt
    announced = await _announced(pubsub)
    await pubsub.aclose()
    assert TRADER in announced, "the purchase is announced to the shards"
    await shard.refresh(sorted(announced), clock.now())

    clock.advance(seconds=60)
    now = clock.now()
    after = _signal("tech-after", now)
    await services.opportunities.put(after)
    await shard.fanout(after, now)
    await shard.tick(clock.now())
    sent = await deliver(botenv, outbox)
    assert [m.chat_id for m, _msg in sent] == [TRADER]
    push = (await botenv.last(TRADER))["text"]
    assert "SOL/USDT" in push and "Technical" in push, push
    assert "tech-before" not in push
    # The chat as the trader saw it (pytest -s prints it; the closing note quotes it).
    for text in await botenv.texts(TRADER):
        print("bot:", text.splitlines()[0] if text else text)
