"""Delivery end to end: outbox on real Redis -> DeliveryWorker -> a real aiogram Bot -> the
emulator over HTTP. Faults come from the emulator (429, 403, 400), a fault-injecting proxy (500,
dropped connections) and a request middleware that stalls a sender mid-batch."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from core.clock import ManualClock
from core.distribution.user_queue import Outgoing
from core.events import MemoryEventLog
from core.models import Opportunity, OpportunityType, Priority, SessionState, Tier, UserProfile
from core.opportunity_store import OpportunityStore
from core.services import Services
from core.store.keys import OUTBOX_DELAYED, OUTBOX_GROUP, OUTBOX_STREAM
from emulator.server import EmulatorServer
from messaging.outbox.pushes import PushOutbox
from messaging.outbox.store import Outbox
from messaging.outbox.worker import DeliveryWorker, end_session_callback
from tests.messaging.conftest import TOKEN, MessageFactory, TgEnv


class Ended:
    """Records the session-end callback's calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    async def __call__(self, user_id: int, reason: str) -> None:
        self.calls.append((user_id, reason))


def _worker(
    outbox: Outbox,
    bot: Bot,
    events: MemoryEventLog,
    clock: ManualClock,
    *,
    ended: Any = None,
    consumer: str = "w1",
    **settings: Any,
) -> DeliveryWorker:
    s = outbox.settings.model_copy(update=settings)
    return DeliveryWorker(
        outbox,
        bot,
        events,
        ended or Ended(),
        clock,
        s,
        consumer=consumer,
        rng=random.Random(1),
    )


async def _pending(redis: Any) -> int:
    info = await redis.xpending(OUTBOX_STREAM, OUTBOX_GROUP)
    return int(info["pending"])


def _reasons(events: MemoryEventLog, name: str) -> list[str]:
    return [str(e.attrs["reason"]) for e in events.named(name)]


async def test_enqueue_deliver_ack_in_order_per_chat_with_message_ids(
    tg: TgEnv,
    outbox: Outbox,
    message: MessageFactory,
    events: MemoryEventLog,
    clock: ManualClock,
    redis: Any,
) -> None:
    users = [101, 102, 103, 104]
    await tg.open_chats(users)
    msgs = [message(u, n) for n in range(4) for u in users]  # interleaved across chats
    await outbox.enqueue(msgs)
    clock.advance(seconds=2)
    worker = _worker(outbox, await tg.bot(), events, clock)

    assert await worker.drain() == 16

    for u in users:
        sent = await tg.messages(u)
        assert [m["plain_text"] for m in sent] == [f"m{n} for {u}" for n in range(4)]
        ids = await outbox.message_ids([f"{u}:{n}" for n in range(4)])
        assert ids == {f"{u}:{n}": m["message_id"] for n, m in enumerate(sent)}
    assert await redis.xlen(OUTBOX_STREAM) == 0
    assert await _pending(redis) == 0
    sent_events = events.named("distribution.sent")
    assert len(sent_events) == 16
    assert {e.attrs["latency_ms"] for e in sent_events} == {2000.0}
    assert not any(e.attrs["duplicate"] for e in sent_events)
    assert len(events.named("distribution.accepted")) == 16
    assert (await outbox.stats())["sent"] == 16


async def test_run_loop_delivers_until_stopped(
    tg: TgEnv,
    outbox: Outbox,
    message: MessageFactory,
    events: MemoryEventLog,
    clock: ManualClock,
) -> None:
    await tg.open_chats([201, 202])
    worker = _worker(outbox, await tg.bot(), events, clock, block_ms=50)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await outbox.enqueue([message(201, 0), message(202, 0), message(201, 1)])
    assert len(await tg.messages(201, min_count=2)) == 2
    assert len(await tg.messages(202, min_count=1)) == 1
    stop.set()
    await asyncio.wait_for(task, 5)
    assert worker.held == 0


class StallAfter(BaseRequestMiddleware):
    """Lets `n` sendMessage calls through; the n-th reaches Telegram, then its sender stalls
    (as if killed between sending and acknowledging)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0
        self.stalled = asyncio.Event()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ != "sendMessage":
            return await make_request(bot, method)
        self.calls += 1
        response = await make_request(bot, method)
        if self.calls >= self.n:
            self.stalled.set()
            await asyncio.Future()  # never returns: the test kills this sender
        return response


async def test_a_sender_killed_mid_batch_loses_nothing_and_only_the_crash_window_repeats(
    tg: TgEnv,
    outbox: Outbox,
    message: MessageFactory,
    events: MemoryEventLog,
    clock: ManualClock,
    redis: Any,
) -> None:
    users = [301, 302, 303]
    await tg.open_chats(users)
    await outbox.enqueue([message(u, n) for u in users for n in range(3)])
    stall = StallAfter(4)  # 301's three, then 302's first: sent, never acknowledged
    bot_a = await tg.bot(middlewares=[stall])
    worker_a = _worker(outbox, bot_a, events, clock, consumer="a", max_concurrent_chats=1)
    task = asyncio.create_task(worker_a.run(asyncio.Event()))
    await stall.stalled.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await _pending(redis) == 6  # claimed by the dead sender, not lost

    eager = Outbox(redis, outbox.settings.model_copy(update={"reclaim_idle_ms": 0}), clock=clock)
    worker_b = _worker(eager, await tg.bot(), events, clock, consumer="b")
    assert await worker_b.drain() == 6

    assert await tg.texts(301) == [f"m{n} for 301" for n in range(3)]
    assert await tg.texts(302) == ["m0 for 302", "m0 for 302", "m1 for 302", "m2 for 302"]
    assert await tg.texts(303) == [f"m{n} for 303" for n in range(3)]
    assert (await outbox.stats())["duplicates"] == 1
    dups = [
        e.attrs["outgoing_id"] for e in events.named("distribution.sent") if e.attrs["duplicate"]
    ]
    assert dups == ["302:0"]
    assert await _pending(redis) == 0
    assert await redis.xlen(OUTBOX_STREAM) == 0


async def test_429s_are_waited_out_and_everything_arrives_once_in_order(
    tg: TgEnv,
    outbox: Outbox,
    message: MessageFactory,
    events: MemoryEventLog,
    clock: ManualClock,
) -> None:
    await _set_limits(tg, "telegram")
    burst = list(range(1000, 1035))  # 35 chats at once: past 30/s for the bot
    await tg.open_chats([*burst, 400])
    await outbox.enqueue([message(u, 0) for u in burst] + [message(400, n) for n in range(5)])
    worker = _worker(outbox, await tg.bot(pace=1e6, retries_after_429=5), events, clock)

    assert await worker.drain() == 40

    stats = await tg.stats()
    assert stats["too_many_requests"]["total"] > 0
    assert await tg.texts(400) == [f"m{n} for 400" for n in range(5)]
    for u in burst:
        assert await tg.texts(u) == [f"m0 for {u}"]
    assert len(events.named("distribution.sent")) == 40


async def _set_limits(tg: TgEnv, limits: str) -> None:
    async with tg.http.post(f"{tg.url}/emulator/config", json={"limits": limits}) as resp:
        assert resp.status == 200, await resp.text()


async def test_a_429_that_surfaces_is_retried_later_keeping_the_chats_order(
    outbox: Outbox,
    message: MessageFactory,
    events: MemoryEventLog,
    clock: ManualClock,
    redis: Any,
) -> None:
    mono = [0.0]
    server = EmulatorServer(limits="telegram", default_bot_token=TOKEN, clock=lambda: mono[0])
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            env = TgEnv(server, http)
            await env.open_chats([500])
            await outbox.enqueue([message(500, n) for n in range(5)])
            bot = await env.bot(retries_after_429=0)
            worker = _worker(outbox, bot, events, clock)
            await worker.drain()
            assert await env.texts(500) == [f"m{n} for 500" for n in range(3)]  # the burst
            assert _reasons(events, "distribution.retried") == ["flood", "held_behind"]
            assert await redis.zcard(OUTBOX_DELAYED) == 2

            mono[0] += 5  # the emulator's limiter refills; our clock reaches the retries
            clock.advance(seconds=5)
            await worker.drain()
            assert await env.texts(500) == [f"m{n} for 500" for n in range(5)]
            assert await redis.zcard(OUTBOX_DELAYED) == 0
            await bot.session.close()
    finally:
        await server.stop()


async def test_server_errors_back_off_then_succeed(
    tg: TgEnv,
    outbox: Outbox,
    message: MessageFactory,
    events: MemoryEventLog,
    clock: ManualClock,
    redis: Any,
    fault_proxy: Callable[..., Any],
) -> None:
    await tg.open_chats([600, 601])
    proxy = await fault_proxy(failures=2, mode="500", chats={600})
    worker = _worker(outbox, await tg.bot(proxy.url), events, clock, max_attempts=5)
    await outbox.enqueue([message(600, 0), message(601, 0)])

    await worker.drain()
    assert await tg.texts(601) == ["m0 for 601"]
    assert await tg.texts(600) == []
    [first] = events.named("distribution.retried")
    assert first.attrs["reason"] == "server_error"
    assert first.attrs["attempt"] == 1
    assert 0.5 <= float(first.attrs["delay_s"] or 0) <= 1.0  # base 1 s, equal jitter

    clock.advance(seconds=1)
    await worker.drain()
    second = events.named("distribution.retried")[1]
    assert second.attrs["attempt"] == 2
    assert 1.0 <= float(second.attrs["delay_s"] or 0) <= 2.0  # doubled
    assert await tg.texts(600) == []

    clock.advance(seconds=2)
    await worker.drain()
    assert await tg.texts(600) == ["m0 for 600"]
    assert proxy.failed == 2
    sent = [e for e in events.named("distribution.sent") if e.attrs["outgoing_id"] == "600:0"]
    assert sent[0].attrs["attempt"] == 2
    assert sent[0].attrs["duplicate"] is False
    assert await redis.zcard(OUTBOX_DELAYED) == 0


async def test_network_errors_dead_letter_after_max_attempts(
    tg: TgEnv,
    outbox: Outbox,
    message: MessageFactory,
    events: MemoryEventLog,
    clock: ManualClock,
    fault_proxy: Callable[..., Any],
) -> None:
    await tg.open_chats([700])
    proxy = await fault_proxy(failures=100, mode="drop")
    worker = _worker(outbox, await tg.bot(proxy.url), events, clock, max_attempts=3)
    await outbox.enqueue([message(700, 0)])
    for _ in range(3):
        await worker.drain()
        clock.advance(seconds=10)
    assert proxy.failed == 3
    assert _reasons(events, "distribution.retried") == ["network_error", "network_error"]
    [failed] = events.named("distribution.failed")
    assert str(failed.attrs["reason"]).startswith("network_error")
    assert failed.attrs["attempt"] == 3
    [(msg, reason)] = await outbox.dead_letters()
    assert msg.outgoing_id == "700:0"
    assert reason.startswith("network_error")
    assert (await outbox.stats())["backlog"] == 0


async def test_a_user_who_blocked_the_bot_is_dropped_and_their_session_ends(
    tg: TgEnv,
    outbox: Outbox,
    message: MessageFactory,
    events: MemoryEventLog,
    clock: ManualClock,
    services: Services,
) -> None:
    await tg.open_chats([800, 801])
    await services.sessions.start(800)
    await tg.block(800)
    worker = _worker(
        outbox, await tg.bot(), events, clock, ended=end_session_callback(services.sessions)
    )
    await outbox.enqueue([message(800, n) for n in range(3)] + [message(801, 0)])

    await worker.drain()

    assert (await tg.stats())["forbidden"] == 1  # one refused send, then no more tries
    assert _reasons(events, "distribution.dropped") == ["blocked"] * 3
    assert await tg.texts(801) == ["m0 for 801"]
    session = await services.sessions.current(800)
    assert session is not None
    assert session.state is SessionState.TERMINATED
    stats = await outbox.stats()
    assert stats["dropped:blocked"] == 3
    assert stats["backlog"] == 0

    # a message made after the block (say the user came back) is tried again
    clock.advance(seconds=1)
    await outbox.enqueue([message(800, 9)])
    await worker.drain()
    assert (await tg.stats())["forbidden"] == 2


async def test_chat_not_found_is_dropped_like_a_block(
    tg: TgEnv,
    outbox: Outbox,
    message: MessageFactory,
    events: MemoryEventLog,
    clock: ManualClock,
) -> None:
    await tg.open_chats([900])  # 901 never wrote to the bot
    ended = Ended()
    worker = _worker(outbox, await tg.bot(), events, clock, ended=ended)
    await outbox.enqueue([message(901, 0), message(900, 0)])
    await worker.drain()
    assert ended.calls == [(901, "chat_not_found")]
    assert _reasons(events, "distribution.dropped") == ["chat_not_found"]
    assert await tg.texts(900) == ["m0 for 900"]


async def test_other_bad_requests_are_dead_lettered_at_once(
    tg: TgEnv,
    outbox: Outbox,
    message: MessageFactory,
    events: MemoryEventLog,
    clock: ManualClock,
) -> None:
    await tg.open_chats([910])
    worker = _worker(outbox, await tg.bot(), events, clock)
    await outbox.enqueue([message(910, 0, text="<div>unsupported</div>"), message(910, 1)])
    await worker.drain()
    [failed] = events.named("distribution.failed")
    assert str(failed.attrs["reason"]).startswith("bad_request: Bad Request: can't parse entities")
    assert events.named("distribution.retried") == []
    assert await tg.texts(910) == ["m1 for 910"]
    [(_, reason)] = await outbox.dead_letters()
    assert "Unsupported start tag" in reason


async def test_closing_edits_change_the_sent_message(
    tg: TgEnv,
    outbox: Outbox,
    message: MessageFactory,
    events: MemoryEventLog,
    clock: ManualClock,
) -> None:
    await tg.open_chats([920])
    worker = _worker(outbox, await tg.bot(), events, clock)
    await outbox.enqueue([message(920, 0)])
    await worker.drain()
    mid = await outbox.message_id("920:0")
    assert mid is not None
    edit = message(920, 1, kind="edit", message_id=mid, text="🔒 <b>Closed</b>")
    gone = message(920, 2, kind="edit", message_id=mid + 100, text="🔒 <b>Closed</b>")
    same = message(920, 3, kind="edit", message_id=mid, text="🔒 <b>Closed</b>")
    await outbox.enqueue([edit, gone, same])
    await worker.drain()
    [msg] = await tg.messages(920)
    assert msg["plain_text"] == "🔒 Closed"
    assert msg["edits"]
    assert _reasons(events, "distribution.dropped") == ["edit_target_gone"]
    assert [e.attrs["outgoing_id"] for e in events.named("distribution.sent")] == [
        "920:0",
        "920:1",
        "920:3",  # "message is not modified": already what we want
    ]


async def test_a_message_whose_opportunities_closed_or_expired_while_waiting_is_not_sent(
    tg: TgEnv,
    outbox: Outbox,
    message: MessageFactory,
    events: MemoryEventLog,
    clock: ManualClock,
    redis: Any,
) -> None:
    """A backlog must not deliver yesterday's spreads: at claim time, a message none of whose
    opportunities is still open is dropped as stale (a digest with one open item still goes)."""
    now = clock.now()
    store = OpportunityStore(redis, ttl=3_600)

    def opp(oid: str, **kw: Any) -> Opportunity:
        base: dict[str, Any] = {
            "opportunity_id": oid, "type": OpportunityType.ARBITRAGE, "symbol": "BTC/USDT",
            "buy_exchange": "binance", "sell_exchange": "okx", "buy_price": 1.0,
            "sell_price": 1.01, "net_spread_pct": 0.5, "expected_profit_pct": 0.5,
            "confidence": 0.8, "priority": Priority.HIGH, "detected_at": now,
            "updated_at": now, "expires_at": now + 600,
        }  # fmt: skip
        return Opportunity.model_validate({**base, **kw})

    await store.put(opp("open"))
    await store.put(opp("closed", closed=True))
    await store.put(opp("expired", expires_at=now - 1))
    await tg.open_chats([401, 402, 403, 404])
    await outbox.enqueue(
        [
            message(401, 1, opportunity_ids=("open",)),
            message(402, 1, opportunity_ids=("closed",)),
            message(403, 1, opportunity_ids=("expired", "gone")),
            message(404, 1, opportunity_ids=("closed", "open")),
        ]
    )
    worker = DeliveryWorker(
        outbox, await tg.bot(), events, Ended(), clock, consumer="w1", opportunities=store
    )
    assert await worker.drain() == 4
    assert [len(await tg.messages(u)) for u in (401, 402, 403, 404)] == [1, 0, 0, 1]
    assert sorted(_reasons(events, "distribution.dropped")) == ["stale", "stale"]
    assert await redis.xlen(OUTBOX_STREAM) == 0


async def test_a_delivered_push_is_recorded_with_its_opportunity_type_tier_and_latencies(
    tg: TgEnv, outbox: Outbox, events: MemoryEventLog, clock: ManualClock, redis: Any
) -> None:
    """distribution.sent says what was delivered to whom: the opportunity (and all of a
    digest's), its type, the user's tier, and latency from release and from detection."""
    now = clock.now()
    opp = Opportunity(
        opportunity_id="f1", type=OpportunityType.FUNDING, symbol="ETH/USDT",
        buy_exchange="binance", sell_exchange="okx", buy_price=1.0, sell_price=1.0,
        net_spread_pct=0.3, expected_profit_pct=0.3, confidence=0.8, priority=Priority.HIGH,
        detected_at=now - 300, updated_at=now, expires_at=now + 600,
    )  # fmt: skip
    out = Outgoing("501:0:1", 501, "single", ("f1",), Priority.HIGH, now, "k")
    pushes = PushOutbox(redis, outbox.settings, events, clock=clock)
    profile = UserProfile(user_id=501, tier=Tier.BASIC)
    message = pushes.render(out, {"f1": opp}, profile, now)
    assert message is not None
    await outbox.enqueue([message])
    await tg.open_chats([501])
    clock.advance(seconds=2)
    assert await _worker(outbox, await tg.bot(), events, clock).drain() == 1
    (sent,) = events.named("distribution.sent")
    assert sent.attrs["opportunity_id"] == "f1"
    assert sent.attrs["type"] == "funding"
    assert sent.attrs["tier"] == "basic"
    assert sent.attrs["latency_ms"] == 2000.0
    assert sent.attrs["detection_latency_ms"] == 302000.0


async def test_a_close_edit_of_an_opportunity_gone_from_the_store_still_renders(
    outbox: Outbox, events: MemoryEventLog, clock: ManualClock, redis: Any
) -> None:
    """The close edit of a message whose opportunity expired from the store is the short
    "closed" text, with nothing to describe for analytics, and no error."""
    edit = Outgoing(
        "502:0:2", 502, "edit_closed", ("gone",), Priority.LOW, clock.now(), "k", message_id=7
    )
    pushes = PushOutbox(redis, outbox.settings, events, clock=clock)
    message = pushes.render(edit, {}, UserProfile(user_id=502), clock.now())
    assert message is not None
    assert (message.kind, message.message_id, message.opportunity_type) == ("edit", 7, "")
