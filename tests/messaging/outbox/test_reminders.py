"""Session reminders on real Redis: one per session expiry, queued before it is recorded, so a
run that dies in between repeats nothing; an extended session is reminded again later."""

from __future__ import annotations

from typing import Any

from core.clock import ManualClock
from core.services import Services
from core.settings import Settings
from core.store import keys
from core.store.keys import SessionFields as F
from messaging.outbox.reminders import SessionReminders
from messaging.outbox.store import Outbox
from messaging.ui.callbacks import SessionCB

DAY = 86_400.0


def _reminders(services: Services, settings: Settings, outbox: Outbox) -> SessionReminders:
    return SessionReminders(
        services.sessions.store, services.profiles, outbox, settings.session,
        services.events, services.clock,
    )  # fmt: skip


async def test_one_reminder_per_expiry_with_the_keep_button_even_if_a_run_died_midway(
    services: Services, settings: Settings, redis: Any, clock: ManualClock
) -> None:
    outbox = Outbox(redis, settings.distribution.delivery, clock=clock)
    await outbox.ensure_group()
    await services.profiles.ensure(5, "Eve")
    await services.sessions.start(5)
    reminders = _reminders(services, settings, outbox)
    assert await reminders.run_once() == 0  # a fresh session is a week from its end
    clock.advance(seconds=6 * DAY)
    assert await reminders.run_once() == 1
    assert await reminders.run_once() == 0
    # The process died after queueing, before recording: a new one queues it again, and the
    # outbox ignores the repeat.
    await redis.hdel(keys.session(5), F.REMINDED)
    assert await _reminders(services, settings, outbox).run_once() == 1
    (entry,) = await outbox.claim("sender", count=10)
    assert "Your session ends in 1d" in entry.message.text
    assert entry.message.reply_markup is not None
    assert SessionCB(action="keep").pack() in entry.message.reply_markup
    await outbox.ack(entry, 1)
    # Activity extends the session: a day before the new expiry, a new reminder.
    session = await services.sessions.current(5)
    assert session is not None
    services.sessions.record_activity(session, command=True)
    await services.sessions.activity.flush()
    clock.advance(seconds=5 * DAY)
    assert await reminders.run_once() == 0
    clock.advance(seconds=DAY)
    assert await reminders.run_once() == 1
