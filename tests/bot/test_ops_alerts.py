"""Operations alerts end to end through the emulator: a tripped threshold reaches every
SuperAdmin through the outbox with a Mute button; pressing it mutes that kind (and only it) until
the mute ends, by the injected clock; a non-admin's (forged) press is refused and audited."""

from __future__ import annotations

import json
from typing import Any

from core.alerts.mutes import AlertMutes
from core.alerts.rules import AlertKind
from core.events import EventName, MemoryEventLog
from core.store.keys import OUTBOX_DEAD
from messaging.ops_figures import read_figures
from messaging.outbox.ops_alerts import OpsAlerts
from messaging.outbox.store import Outbox
from messaging.ui.callbacks import OpsAlertCB
from tests.core.distribution.factories import opportunity

from .conftest import BotEnv
from .outbox_delivery import deliver

ADMIN = 999  # the suite's settings make 999 a SuperAdmin


def button_data(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_a_superadmin_is_alerted_and_mutes_the_alert_with_its_button(
    botenv: BotEnv, redis: Any, events: MemoryEventLog
) -> None:
    services, clock = botenv.services, botenv.clock
    settings = services.settings
    await botenv.send(ADMIN, "/start")
    await botenv.send(42, "/start")
    await redis.xadd(OUTBOX_DEAD, {"m": "{}", "reason": "bad_request: test"})
    outbox = Outbox(redis, settings.distribution.delivery, clock=clock)
    mutes = AlertMutes(redis, clock)
    alerts = OpsAlerts(
        lambda: read_figures(redis, settings, clock), outbox, mutes, settings, events, clock
    )

    queued = await alerts.run_once()
    assert [a.kind for a in queued] == [AlertKind.DEAD_LETTERS]
    sent = await deliver(botenv, outbox)
    assert [m.chat_id for m, _ in sent] == [ADMIN]  # SuperAdmins only
    last = await botenv.last(ADMIN)
    assert "Dead letters waiting" in last["text"] and "1 dead letters" in last["text"]
    mute_data = OpsAlertCB(action="mute", kind="dead_letters").pack()
    assert button_data(last) == [mute_data]
    fired = events.named(EventName.OPS_ALERT)
    assert [(e.attrs["action"], e.attrs["admins"]) for e in fired] == [("dead_letters", 1)]

    # A user who is not a SuperAdmin cannot mute (a forged press on a message of theirs).
    theirs = await botenv.last(42)
    await botenv.press(42, theirs["message_id"], mute_data)
    assert await mutes.active() == {}
    refused = (await botenv.callback_answers(42))[-1]
    assert "Only SuperAdmins" in refused["text"]

    await botenv.press(ADMIN, last["message_id"], mute_data)
    answer = (await botenv.callback_answers(ADMIN))[-1]
    assert "muted until" in answer["text"]
    until = clock.now() + settings.ops.alert_mute_seconds
    assert await mutes.active() == {"dead_letters": until}
    muted = events.named(EventName.OPS_ALERT_MUTED)
    assert [(e.user_id, e.attrs["allowed"]) for e in muted] == [(42, False), (ADMIN, True)]

    # Past the repeat period the dead letters are still there, but muted: only the other alert
    # that has come due meanwhile (no opportunity live for ten minutes) is sent.
    clock.advance(seconds=settings.ops.alert_repeat_seconds)
    assert [a.kind for a in await alerts.run_once()] == [AlertKind.NO_OPPORTUNITIES]
    await services.opportunities.put(opportunity("o1", now=clock.now(), expires_at=until + 60))
    clock.set(until - 1)
    assert await alerts.run_once() == []
    clock.set(until)  # the mute is over
    assert [a.kind for a in await alerts.run_once()] == [AlertKind.DEAD_LETTERS]
