"""Thirty days of injectable time for three default (Free) traders, through the bot and a push
shard on real Redis: one who sends a command every third day, one who only reads alerts and
presses the reminder's button, and one who stops. Each day a funding opportunity is published.

The oracle is the product's promise, not the code: a trader with an active session gets that
day's alert; a session lives 7 days after the last interaction; about a day before it ends
the trader is warned with a button that keeps it; after it ends, nothing more arrives.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from actors.user_queue_shard import UserQueueShard
from core.models import Opportunity, OpportunityType, Priority, Tier
from core.settings import Settings
from messaging.outbox.reminders import SessionReminders
from messaging.outbox.store import Outbox
from messaging.ui.callbacks import SessionCB

from .conftest import BotEnv
from .outbox_delivery import deliver

DAY = 86_400.0
DAYS = 30
ACTIVE, READER, QUITTER = 11, 12, 13


def funding(oid: str, now: float) -> Opportunity:
    return Opportunity(
        opportunity_id=oid, type=OpportunityType.FUNDING, symbol="BTC/USDT",
        buy_exchange="binance", sell_exchange="okx", buy_price=100.0, sell_price=100.0,
        net_spread_pct=0.4, expected_profit_pct=0.4, confidence=0.8, priority=Priority.HIGH,
        detected_at=now, updated_at=now, expires_at=now + 3_600,
    )  # fmt: skip


async def _deliver(botenv: BotEnv, outbox: Outbox) -> list[tuple[str, int, int]]:
    """(outgoing id, user, message id) of each message sent."""
    return [(m.outgoing_id, m.user_id, msg.message_id) for m, msg in await deliver(botenv, outbox)]


async def test_thirty_days_alerts_last_as_long_as_the_session_and_a_reminder_keeps_it(
    botenv: BotEnv, settings: Settings, redis_url: str, redis: Any
) -> None:
    clock, services = botenv.clock, botenv.services
    for uid in (ACTIVE, READER, QUITTER):
        await botenv.send(uid, "/start")
    await services.sessions.activity.flush()
    shard = UserQueueShard(0, 1, settings, redis_url)
    outbox = Outbox(redis, settings.distribution.delivery, clock=clock)
    await outbox.ensure_group()
    reminders = SessionReminders(
        services.sessions.store, services.profiles, outbox, settings.session,
        services.events, clock,
    )  # fmt: skip
    delay = settings.tiers[Tier.FREE].delay_seconds
    start = clock.now()
    pushes_by_day: dict[int, Counter[int]] = {}
    reminded: dict[int, list[int]] = {uid: [] for uid in (ACTIVE, READER, QUITTER)}
    for day in range(DAYS):
        # Hourly: the reminders and the sweeper run, as in a live process.
        for _hour in range(24):
            await reminders.run_once()
            for outgoing_id, uid, message_id in await _deliver(botenv, outbox):
                assert outgoing_id.startswith("remind:")
                reminded[uid].append(day)
                if uid == READER:
                    await botenv.press(uid, message_id, SessionCB(action="keep").pack())
            if day % 3 == 0 and _hour == 9:
                await botenv.send(ACTIVE, "/status")
            await services.sessions.activity.flush()
            await services.sweeper.run_once()
            step = 3_600.0
            if _hour == 12:
                opp = funding(f"f{day}", clock.now())
                await services.opportunities.put(opp)
                await shard.fanout(opp, clock.now())
                clock.advance(seconds=delay)  # Free gets it once its delay is over
                step -= delay
                await shard.tick(clock.now())
                pushes_by_day[day] = Counter(uid for _, uid, _ in await _deliver(botenv, outbox))
            clock.advance(seconds=step)
    assert clock.now() == start + DAYS * DAY

    days_with_push = {
        uid: [d for d in range(DAYS) if pushes_by_day[d][uid]] for uid in (ACTIVE, READER, QUITTER)
    }
    assert days_with_push[ACTIVE] == list(range(DAYS))
    assert days_with_push[READER] == list(range(DAYS))
    # The quitter's session ends 7 days after /start: alerts on days 0-6, then none.
    assert days_with_push[QUITTER] == list(range(7))
    # Warned once, about a day before the end (day 6), and never again.
    assert reminded[QUITTER] == [6]
    # The reader was warned a day before each expiry; each press kept the session for another
    # week, so the next warning came six days after it.
    assert reminded[READER] == [6, 12, 18, 24]
    assert reminded[ACTIVE] == []  # a command every third day: never close to the end
    answers = await botenv.callback_answers(READER)
    assert answers
    assert all("Session kept" in (a["text"] or "") for a in answers)
    assert (await services.sessions.current(QUITTER)) is None or not (
        await services.sessions.current(QUITTER)
    ).is_active(clock.now())
