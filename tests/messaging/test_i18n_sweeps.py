"""The sweeps that message users off the bot read each recipient's language from the profile.

Session reminders (text and button) and operations alerts are queued for several users in one
run, on real Redis; each message is in its recipient's stored language.
"""

from __future__ import annotations

import json
from typing import Any

from core.alerts.mutes import AlertMutes
from core.clock import ManualClock
from core.services import Services
from core.settings import Settings
from core.store.keys import OUTBOX_DEAD
from messaging.ops_figures import read_figures
from messaging.outbox.ops_alerts import OpsAlerts
from messaging.outbox.reminders import SessionReminders
from messaging.outbox.store import Outbox

DAY = 86_400.0


async def test_one_reminder_run_writes_each_user_in_their_language(
    services: Services, settings: Settings, redis: Any, clock: ManualClock
) -> None:
    """Two sessions due in the same run: the Russian user's reminder and its button are in
    Russian, the English user's in English."""
    outbox = Outbox(redis, settings.distribution.delivery, clock=clock)
    await outbox.ensure_group()
    for uid, language in ((5, "ru"), (6, "en")):
        await services.profiles.ensure(uid, "Eve")
        await services.profiles.set_language(uid, language)
        await services.sessions.start(uid)
    reminders = SessionReminders(
        services.sessions.store, services.profiles, outbox, settings.session,
        services.events, services.clock,
    )  # fmt: skip
    clock.advance(seconds=6 * DAY)
    assert await reminders.run_once() == 2
    sent = {e.message.user_id: e.message for e in await outbox.claim("sender", count=10)}
    assert sent[5].text.startswith("⏳ Ваша сессия закончится через 1д")
    assert sent[6].text.startswith("⏳ Your session ends in 1d")
    assert sent[5].reply_markup is not None and "Продлить сессию" in sent[5].reply_markup
    assert sent[6].reply_markup is not None and "Keep my session" in sent[6].reply_markup


async def test_operations_alerts_reach_each_superadmin_in_their_language(
    services: Services, settings: Settings, redis: Any, clock: ManualClock
) -> None:
    """An alert due for two SuperAdmins is queued once per admin, each in their language."""
    admins = {901: "ru", 902: "en"}
    for uid, language in admins.items():
        await services.profiles.ensure(uid, "Op")
        await services.profiles.set_language(uid, language)
    s = settings.model_copy(update={"superadmin_ids": frozenset(admins)})
    outbox = Outbox(redis, s.distribution.delivery, clock=clock)
    await outbox.ensure_group()
    await redis.xadd(OUTBOX_DEAD, {"m": "{}", "reason": "bad_request: test"})
    alerts = OpsAlerts(
        lambda: read_figures(redis, s, clock), outbox, AlertMutes(redis, clock), s,
        services.events, clock, profiles=services.profiles,
    )  # fmt: skip
    assert await alerts.run_once()
    sent = {e.message.user_id: e.message for e in await outbox.claim("sender", count=10)}
    assert "Ждут письма в «мёртвой» очереди" in sent[901].text
    assert "Dead letters waiting" in sent[902].text
    markup = json.loads(sent[901].reply_markup or "{}")
    assert markup["inline_keyboard"][0][0]["text"].startswith("🔕 Заглушить на")
