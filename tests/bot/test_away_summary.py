"""A default (Free) trader turns on Do Not Disturb with /dnd; the alerts that come meanwhile
expire before it ends. When it ends the trader is told, once, how many came and went, through
the bot and the emulator, and the next alert still goes out at once: the summary took no quota
and started no cooldown.

The oracle is the product's promise (issue #11: held alerts that expire are summarised once the
window opens, not lost without a word), counted from what the emulator's chat shows.
"""

from __future__ import annotations

from typing import Any

from actors.user_queue_shard import UserQueueShard
from core.models import Opportunity, OpportunityType, Priority, Tier
from core.settings import Settings
from core.store import keys
from messaging.outbox.store import Outbox

from .conftest import BotEnv
from .outbox_delivery import deliver

TRADER = 21


def funding(oid: str, now: float, lifetime: float) -> Opportunity:
    return Opportunity(
        opportunity_id=oid, type=OpportunityType.FUNDING, symbol="ETH/USDT",
        buy_exchange="binance", sell_exchange="okx", buy_price=100.0, sell_price=100.0,
        net_spread_pct=0.4, expected_profit_pct=0.4, confidence=0.8, priority=Priority.MEDIUM,
        detected_at=now, updated_at=now, expires_at=now + lifetime,
    )  # fmt: skip


async def _deliver(botenv: BotEnv, outbox: Outbox) -> list[str]:
    """The texts of the messages sent."""
    return [msg.text or "" for _, msg in await deliver(botenv, outbox)]


async def test_alerts_that_expire_during_dnd_are_told_once_when_it_ends(
    botenv: BotEnv, settings: Settings, redis_url: str, redis: Any
) -> None:
    clock, services = botenv.clock, botenv.services
    await botenv.send(TRADER, "/start")
    await services.sessions.activity.flush()
    shard = UserQueueShard(0, 1, settings, redis_url)
    outbox = Outbox(redis, settings.distribution.delivery, clock=clock)
    await outbox.ensure_group()
    await shard.load(clock.now())

    # /dnd announces the change on the users channel; a live shard refreshes the user from it.
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(keys.SESSION_CHANNEL)
    await botenv.send(TRADER, "/dnd 2h")
    message = None
    for _ in range(3):  # the first read may only consume the subscription's confirmation
        if (message := await pubsub.get_message(timeout=10)) is not None:
            break
    assert message is not None and int(message["data"]) == TRADER
    await pubsub.aclose()
    await shard.refresh([TRADER], clock.now())
    dnd_ends = clock.now() + 2 * 3_600

    for oid in ("f1", "f2"):
        o = funding(oid, clock.now(), lifetime=1_800)
        await services.opportunities.put(o)
        await shard.fanout(o, clock.now())
    # Every 5 minutes for the two hours, as the shard's tick loop would: nothing arrives.
    sent: list[str] = []
    while clock.now() < dnd_ends:
        clock.advance(seconds=300)
        await shard.tick(clock.now())
        sent += await _deliver(botenv, outbox)
    assert clock.now() == dnd_ends
    [summary] = sent
    assert "While you were away, 2 opportunities came and went" in summary
    assert await services.quota.used(TRADER, clock.now()) == (0, 0)

    # Told once; the next alert goes out after the Free delay, not held by a cooldown.
    delay = settings.tiers[Tier.FREE].delay_seconds
    later = funding("f3", clock.now(), lifetime=3_600)
    await services.opportunities.put(later)
    await shard.fanout(later, clock.now())
    clock.advance(seconds=delay)
    await shard.tick(clock.now())
    [alert] = await _deliver(botenv, outbox)
    assert "ETH/USDT" in alert and "While you were away" not in alert
    chat = [m["text"] for m in await botenv.messages(TRADER)]
    assert sum("While you were away" in t for t in chat) == 1


async def test_four_weeks_of_dnd_every_other_day_each_window_told_once_the_rest_pushed(
    botenv: BotEnv, settings: Settings, redis_url: str, redis: Any
) -> None:
    """Four weeks of injectable time for a default (Free) trader who turns on `/dnd 6h` at 10:00
    every other day and does nothing else. A funding alert is published at noon each day and
    lives an hour. The oracle is the promise, day by day: on a quiet day the alert arrives
    (after the Free delay); on a DND day it expires unseen and, when DND ends at 16:00, exactly
    one summary says one opportunity came and went. /dnd is an interaction, so the session
    lives the whole four weeks, and nothing is held over from one window to the next."""
    clock, services = botenv.clock, botenv.services
    days = 28
    await botenv.send(TRADER, "/start")
    await services.sessions.activity.flush()
    shard = UserQueueShard(0, 1, settings, redis_url)
    outbox = Outbox(redis, settings.distribution.delivery, clock=clock)
    await outbox.ensure_group()
    await shard.load(clock.now())
    delay = settings.tiers[Tier.FREE].delay_seconds
    day_start = clock.now()
    got: dict[int, list[str]] = {}
    for day in range(days):
        texts: list[str] = []
        for hour in range(24):
            if hour == 10 and day % 2 == 0:
                await botenv.send(TRADER, "/dnd 6h")
                await services.sessions.activity.flush()
                # What the shard does on the users channel's announcement (first test above).
                await shard.refresh([TRADER], clock.now())
            await services.sweeper.run_once()
            step = 3_600.0
            if hour == 12:
                o = funding(f"d{day}", clock.now(), lifetime=3_600)
                await services.opportunities.put(o)
                await shard.fanout(o, clock.now())
                clock.advance(seconds=delay)
                step -= delay
            await shard.tick(clock.now())
            texts += await _deliver(botenv, outbox)
            clock.advance(seconds=step)
        got[day] = texts
    assert clock.now() == day_start + days * 86_400

    for day, texts in got.items():
        if day % 2 == 0:
            assert len(texts) == 1, (day, texts)
            assert "While you were away, 1 opportunity came and went" in texts[0], (day, texts)
        else:
            assert len(texts) == 1, (day, texts)
            assert "ETH/USDT" in texts[0] and "While you were away" not in texts[0], (day, texts)
    session = await services.sessions.current(TRADER)
    assert session is not None and session.is_active(clock.now())
