"""The durable outbox on real Redis: idempotent enqueue, claim/ack, retries, dead letters and the
crash window."""

from __future__ import annotations

from typing import Any

import pytest

from core.clock import ManualClock
from core.distribution.settings import DeliverySettings
from core.distribution.user_queue import Outgoing
from core.events import MemoryEventLog
from core.models import Priority
from core.store.keys import (
    OUTBOX_ACKS,
    OUTBOX_DEAD,
    OUTBOX_DELAYED,
    OUTBOX_GROUP,
    OUTBOX_STREAM,
    outbox_delayed,
    outbox_seen,
    outbox_sending,
    outbox_sent,
    outbox_stream,
)
from messaging.outbox.message import OutboxMessage
from messaging.outbox.store import Outbox
from messaging.ui import push_templates
from tests.messaging.conftest import MessageFactory


async def _pending(redis: Any) -> int:
    info = await redis.xpending(OUTBOX_STREAM, OUTBOX_GROUP)
    return int(info["pending"])


async def test_enqueue_is_idempotent_by_outgoing_id(
    outbox: Outbox, message: MessageFactory, redis: Any, events: MemoryEventLog
) -> None:
    first = await outbox.enqueue([message(1, 1), message(1, 2)])
    again = await outbox.enqueue([message(1, 2, text="changed"), message(1, 3)])
    assert all(first)
    assert again[0] is None
    assert again[1] is not None
    assert await redis.xlen(OUTBOX_STREAM) == 3
    assert [e.attrs["outgoing_id"] for e in events.named("distribution.accepted")] == [
        "1:1",
        "1:2",
        "1:3",
    ]
    ttl = await redis.ttl(outbox_seen("1:1"))
    assert 0 < ttl <= outbox.settings.dedup_retention_seconds


async def test_claim_then_ack_removes_the_entry_and_records_the_message_id(
    outbox: Outbox, message: MessageFactory, redis: Any
) -> None:
    await outbox.enqueue([message(1, n) for n in range(3)])
    entries = await outbox.claim("c1", 10)
    assert [e.message.outgoing_id for e in entries] == ["1:0", "1:1", "1:2"]
    assert await _pending(redis) == 3
    assert await outbox.claim("c1", 10) == []  # nothing new, nothing abandoned

    assert await outbox.mark_sending(entries[0], "c1") is False
    assert await redis.exists(outbox_sending("1:0"))
    assert await outbox.ack(entries[0], 501) is True
    assert await outbox.ack(entries[0], 501) is False  # a second ack is a no-op
    assert await outbox.message_id("1:0") == 501
    assert await outbox.message_ids(["1:0", "1:1"]) == {"1:0": 501}
    assert not await redis.exists(outbox_sending("1:0"))
    assert await redis.ttl(outbox_sent("1:0")) > 0
    assert await redis.xlen(OUTBOX_STREAM) == 2
    assert await _pending(redis) == 2
    acks = await redis.xrange(OUTBOX_ACKS)
    assert [f for _, f in acks] == [{"u": "1", "o": "1:0", "m": "501"}]

    assert await outbox.drop(entries[1], "blocked") is True
    assert await outbox.message_id("1:1") is None
    stats = await outbox.stats()
    assert stats["sent"] == 1
    assert stats["dropped:blocked"] == 1
    assert stats["backlog"] == 1


async def test_retry_later_hides_the_entry_until_it_is_due(
    outbox: Outbox, message: MessageFactory, redis: Any, clock: ManualClock
) -> None:
    await outbox.enqueue([message(1, 1)])
    [entry] = await outbox.claim("c1", 10)
    await outbox.mark_sending(entry, "c1")
    bumped = entry.message.model_copy(update={"attempt": 1})
    assert await outbox.retry_later(entry, 30, message=bumped) is True
    assert await redis.zcard(OUTBOX_DELAYED) == 1
    assert not await redis.exists(outbox_sending("1:1"))  # not sent: no duplicate later
    assert await _pending(redis) == 0

    clock.advance(seconds=29)
    assert await outbox.claim("c1", 10) == []
    clock.advance(seconds=1)
    [again] = await outbox.claim("c1", 10)
    assert again.message.outgoing_id == "1:1"
    assert again.message.attempt == 1
    assert again.entry_id != entry.entry_id
    assert await redis.zcard(OUTBOX_DELAYED) == 0
    assert await outbox.mark_sending(again, "c1") is False
    assert (await outbox.stats())["retried"] == 1


async def test_dead_letters_keep_the_message_and_the_reason(
    outbox: Outbox, message: MessageFactory, redis: Any
) -> None:
    await outbox.enqueue([message(1, 1)])
    [entry] = await outbox.claim("c1", 10)
    assert await outbox.dead_letter(entry, "bad_request: chat is a channel") is True
    assert await outbox.dead_letter(entry, "again") is False
    [(msg, reason)] = await outbox.dead_letters()
    assert msg.outgoing_id == "1:1"
    assert reason == "bad_request: chat is a channel"
    assert await redis.xlen(OUTBOX_STREAM) == 0
    assert (await outbox.stats())["dead"] == 1


async def test_a_dead_consumers_entries_are_reclaimed_and_a_marked_one_counts_as_duplicate(
    redis: Any, message: MessageFactory, clock: ManualClock
) -> None:
    live = Outbox(redis, DeliverySettings(reclaim_idle_ms=60_000), clock=clock)
    await live.enqueue([message(1, n) for n in range(3)])
    held = await live.claim("dead", 10)
    await live.mark_sending(held[0], "dead")  # it died after sending the first one

    assert await live.claim("other", 10) == []  # not idle long enough yet
    eager = Outbox(redis, DeliverySettings(reclaim_idle_ms=0), clock=clock)
    reclaimed = await eager.claim("other", 10)
    assert [e.entry_id for e in reclaimed] == [e.entry_id for e in held]
    marks = [await eager.mark_sending(e, "other") for e in reclaimed]
    assert marks == [True, False, False]
    assert (await eager.stats())["duplicates"] == 1
    for n, e in enumerate(reclaimed):
        await eager.ack(e, 100 + n)
    assert await _pending(redis) == 0


async def test_touch_keeps_entries_of_a_live_consumer(
    redis: Any, message: MessageFactory, clock: ManualClock
) -> None:
    ob = Outbox(redis, DeliverySettings(reclaim_idle_ms=0), clock=clock)
    await ob.enqueue([message(1, 1)])
    [entry] = await ob.claim("a", 10)
    await ob.touch("a", [entry])
    info = await redis.xpending_range(OUTBOX_STREAM, OUTBOX_GROUP, "-", "+", 10)
    assert info[0]["consumer"] == "a"


async def test_a_malformed_entry_is_dead_lettered_on_claim(
    outbox: Outbox, message: MessageFactory, redis: Any
) -> None:
    await outbox.ensure_group()
    await redis.xadd(OUTBOX_STREAM, {"m": '{"not": "a message"}'})
    await outbox.enqueue([message(1, 1)])
    entries = await outbox.claim("c1", 10)
    assert [e.message.outgoing_id for e in entries] == ["1:1"]
    dead = await redis.xrange(OUTBOX_DEAD)
    assert len(dead) == 1
    assert dead[0][1]["reason"].startswith("malformed")


async def test_claim_recreates_a_group_that_redis_lost(
    outbox: Outbox, message: MessageFactory, redis: Any
) -> None:
    await outbox.enqueue([message(1, 1)])
    assert len(await outbox.claim("c1", 10)) == 1
    await redis.delete(OUTBOX_STREAM)  # as after a restart without persistence
    await redis.xadd(OUTBOX_STREAM, {"m": message(1, 2).to_json()})
    [entry] = await outbox.claim("c1", 10)
    assert entry.message.outgoing_id == "1:2"


def test_from_outgoing_maps_a_queue_message() -> None:
    out = Outgoing(
        outgoing_id="7:3",
        user_id=7,
        kind="edit_closed",
        opportunity_ids=("a",),
        priority=Priority.LOW,
        created_at=5.0,
        dedup_key="a",
        message_id=42,
    )
    markup = push_templates.keyboard([])
    msg = OutboxMessage.from_outgoing(out, "closed", markup)
    assert (msg.kind, msg.message_id, msg.chat_id, msg.priority) == ("edit", 42, 7, "low")
    assert msg.reply_markup is None
    assert OutboxMessage.from_json(msg.to_json()) == msg


async def test_marks_and_acks_in_one_round_trip_behave_as_one_at_a_time(
    outbox: Outbox, message: MessageFactory, redis: Any
) -> None:
    """The batched calls the sender uses: each entry's script runs as it would alone."""
    await outbox.enqueue([message(1, n) for n in range(3)])
    entries = await outbox.claim("c1", 10)
    await outbox.mark_sending(entries[1], "c1")  # marked before: a resend
    assert await outbox.mark_sending_many(entries, "c1") == [False, True, False]
    assert (await outbox.stats())["duplicates"] == 1
    assert await outbox.ack_many([(entries[0], 10), (entries[1], 11)]) == [True, True]
    assert await outbox.ack_many([(entries[0], 10), (entries[2], 12)]) == [False, True]
    assert await outbox.message_ids(["1:0", "1:1", "1:2"]) == {"1:0": 10, "1:1": 11, "1:2": 12}
    assert await redis.xlen(OUTBOX_STREAM) == 0
    assert not await redis.exists(*(outbox_sending(f"1:{n}") for n in range(3)))
    await redis.script_flush()  # a restarted Redis forgot the scripts: loaded again
    await outbox.enqueue([message(2, 0)])
    (entry,) = await outbox.claim("c1", 10)
    assert await outbox.mark_sending_many([entry], "c1") == [False]
    assert await outbox.ack_many([(entry, 20)]) == [True]


async def test_with_two_senders_each_chat_lives_in_one_partition_and_outcomes_stay_there(
    redis: Any,
    delivery_settings: DeliverySettings,
    events: MemoryEventLog,
    clock: ManualClock,
    message: MessageFactory,
) -> None:
    """Sender n claims only the chats with chat id mod senders = n; acks, retries and dead
    letters of its entries stay in its partition; stats count every partition."""
    settings = delivery_settings.model_copy(update={"senders": 2})
    even, odd = (Outbox(redis, settings, events=events, clock=clock, partition=p) for p in (0, 1))
    await even.enqueue([message(u, n) for u in (10, 11, 12, 13) for n in range(2)])
    assert await redis.xlen(outbox_stream(0)) == 4
    assert await redis.xlen(outbox_stream(1)) == 4
    mine = await odd.claim("s1", 10)
    assert {e.message.chat_id for e in mine} == {11, 13}
    assert {e.partition for e in mine} == {1}
    assert {e.message.chat_id for e in await even.claim("s0", 10)} == {10, 12}

    assert await odd.ack(mine[0], 7) is True
    assert await odd.retry_later(mine[1], 5.0) is True
    assert await odd.dead_letter(mine[2], "bad") is True
    assert await redis.zcard(outbox_delayed(1)) == 1
    assert await redis.zcard(outbox_delayed(0)) == 0
    assert await odd.partition_stats() == {"backlog": 1, "delayed": 1}
    stats = await even.stats()
    assert (stats["backlog"], stats["delayed"], stats["stranded"]) == (5, 1, 0)

    # A group that moved to a supergroup: the retry goes to the new chat's partition.
    moved = mine[3].message.model_copy(update={"chat_id": -1001})
    await odd.retry_later(mine[3], 0.0, message=moved)
    assert await redis.zcard(outbox_delayed(1)) == 2  # -1001 mod 2 = 1
    moved_even = mine[3].message.model_copy(update={"chat_id": -1002})
    clock.advance(seconds=10)
    (again,) = [e for e in await odd.claim("s1", 10) if e.message.chat_id == 11]
    await odd.retry_later(again, 0.0, message=moved_even)
    assert await redis.zcard(outbox_delayed(0)) == 1

    # senders lowered to 1 while partition 1 still holds messages: reported, not hidden.
    single = Outbox(redis, delivery_settings, events=events, clock=clock)
    assert (await single.stats())["stranded"] > 0


def test_an_outbox_partition_must_belong_to_a_sender(
    redis: Any, delivery_settings: DeliverySettings
) -> None:
    with pytest.raises(ValueError, match=r"delivery\.senders"):
        Outbox(redis, delivery_settings, partition=1)


async def test_a_high_alert_is_claimed_before_a_backlog_of_digests(
    outbox: Outbox, message: MessageFactory, redis: Any
) -> None:
    await outbox.enqueue([message(u, 1, priority="low") for u in range(10, 60)])
    await outbox.enqueue([message(7, 1, priority="high")])
    first = await outbox.claim("c1", 5)
    assert first[0].message.user_id == 7
    assert first[0].high and not first[1].high
    assert await outbox.ack(first[0], 99)  # acknowledged on its own lane
    assert await redis.xlen(outbox_stream(0, high=True)) == 0
    assert (await outbox.partition_stats())["backlog"] == 50  # claimed, not yet sent
