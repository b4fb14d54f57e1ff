"""Group alerts through the outbox to the emulator: sent into the group's forum topic
(message_thread_id), counted per chat kind; when the topic is closed or deleted the alert goes
to the group's General topic instead of being lost."""

from __future__ import annotations

import random
from typing import Any

from core.clock import ManualClock
from core.events import MemoryEventLog
from messaging.outbox.store import Outbox
from messaging.outbox.worker import DeliveryWorker
from tests.messaging.conftest import TOKEN, MessageFactory, TgEnv

G = -1001800000001


class NoSession:
    async def __call__(self, user_id: int, reason: str) -> None:
        raise AssertionError(f"a group's delivery ended user {user_id}'s session ({reason})")


async def _control(tg: TgEnv, path: str, body: dict[str, Any]) -> Any:
    async with tg.http.post(f"{tg.url}{path}", json={"bot_token": TOKEN, **body}) as resp:
        data = await resp.json()
        assert resp.status == 200, data
        return data


async def test_alerts_go_to_the_topic_and_to_general_once_it_is_closed(
    tg: TgEnv, outbox: Outbox, message: MessageFactory, events: MemoryEventLog, clock: ManualClock
) -> None:
    """The first alert lands in the chosen topic; the topic is closed; the next lands in
    General (retried once, reason topic_gone), nothing is dead-lettered."""
    await _control(tg, "/emulator/chats", {"chat_id": G, "type": "supergroup", "is_forum": True})
    await _control(tg, f"/emulator/chats/{G}/bot_status", {"user_id": 5, "status": "member"})
    topic = (await _control(tg, f"/emulator/chats/{G}/topics", {"name": "Alerts"}))[
        "message_thread_id"
    ]
    group = {"chat_id": G, "thread_id": topic, "chat_kind": "supergroup"}
    worker = DeliveryWorker(
        outbox,
        await tg.bot(),
        events,
        NoSession(),
        clock,
        outbox.settings,
        consumer="w1",
        rng=random.Random(1),
    )
    await outbox.enqueue([message(G, 0, **group)])
    assert await worker.drain() == 1
    await _control(tg, f"/emulator/chats/{G}/topics/{topic}", {"closed": True})
    await outbox.enqueue([message(G, 1, **group)])
    await worker.drain()
    sent = await tg.messages(G, min_count=2)
    assert [(m["plain_text"], m["message_thread_id"]) for m in sent] == [
        (f"m0 for {G}", topic),
        (f"m1 for {G}", None),
    ]
    assert [e.attrs["reason"] for e in events.named("distribution.retried")] == ["topic_gone"]
    assert [e.attrs["chat_kind"] for e in events.named("distribution.sent")] == ["supergroup"] * 2
    assert (await outbox.stats()).get("dead", 0) == 0
