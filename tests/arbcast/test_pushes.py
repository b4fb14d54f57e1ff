"""The push pipeline end to end: opportunity changes in Redis → the distributor → UserQueueActor
shards on Ray → the durable outbox → the push sender leasing from the GlobalRateLimiter → aiogram
over HTTP → the emulator with Telegram's limits on.

The main test puts 1,000 users of mixed tiers and preferences behind one burst of opportunities
and checks every chat against an independent oracle (`tests/arbcast/population.py`), with no
chat over its limit and no 429 at all; another runs two senders over a partitioned outbox.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from arbcast.pushes import Pushes
from core.models import Priority, SessionState, Tier
from core.opportunity_store import OpportunityStore
from core.services import Services
from core.settings import Settings
from core.store import keys
from tests.arbcast.conftest import DELIVERY, World, push_settings, seed
from tests.arbcast.population import (
    burst,
    eligible,
    expected,
    ids_in,
    population,
)

N_USERS = int(os.environ.get("ARBCAST_TEST_PUSH_USERS", "1000"))


@dataclass
class BurstRun:
    stats: dict[str, Any]  # the emulator's
    counters: dict[str, Any]  # the pipeline's
    sent_by_sender: list[int]
    want: dict[int, Any]
    wrong: list[tuple[int, Any, Any]]  # users whose messages differ from the oracle
    held_items: int


BurstTo = Callable[[int, int], Awaitable[BurstRun]]


@pytest.fixture
def burst_to(
    ray_instance: None,
    redis: Any,
    redis_url: str,
    emulator_url: str,
    http: aiohttp.ClientSession,
    live_services: Services,
    tmp_path: Path,
) -> BurstTo:
    """Runs one burst of opportunities to `n_users` with `senders` push senders."""

    async def run(n_users: int, senders: int) -> BurstRun:
        settings = push_settings(tmp_path, emulator_url, delivery={**DELIVERY, "senders": senders})
        world = World(emulator_url, http)
        return await _burst(n_users, settings, live_services, redis, redis_url, world)

    return run


async def _burst(
    n_users: int,
    settings: Settings,
    services: Services,
    redis: Any,
    redis_url: str,
    world: World,
) -> BurstRun:
    await world.reset()
    now = services.clock.now()
    people = population(n_users)
    opps = burst(now)
    want, held = expected(people, opps, settings)
    await world.open_chats([p.user_id for p in people])
    await seed(services, people, now)
    baseline = (await world.stats())["messages_sent"]
    pushes = Pushes(settings, redis_url, redis)
    try:
        await pushes.start()
        await OpportunityStore(redis, ttl=1800).apply(opened=opps)
        timeout = len(want) / 25 + 60
        stats = await world.stats(min_sent=baseline + len(want), timeout=timeout)
        # The emulator counts a message when it arrives, the outbox once the answer is back and
        # acknowledged: stopping lets the senders finish what is in flight, so the counters read
        # next are final rather than one acknowledgement behind.
        await pushes.stop()
        counters = await pushes.counters()
        sent_by_sender = [(await s.stats())["tokens"] for s in pushes.senders]
    finally:
        await pushes.stop()
        pushes.kill()
    wrong: list[tuple[int, Any, Any]] = []
    for p in people:
        got = [ids_in(m) for m in await world.messages(p.user_id)]
        should = [want[p.user_id]] if p.user_id in want else []
        if got != should:
            wrong.append((p.user_id, got, should))
    held_items = sum(
        len([o for o in opps if eligible(p, o, settings)]) for p in people if p.user_id in held
    )
    return BurstRun(stats, counters, sent_by_sender, want, wrong, held_items)


async def test_a_burst_reaches_1000_users_exactly_as_the_rules_say_at_telegrams_rate(
    burst_to: BurstTo,
) -> None:
    """Each user gets exactly the digest the oracle computes (or nothing), held users get
    nothing yet, and the backlog drains (all of it within N/25 + 60 s) with no send over 30 in a
    second and no chat over its limit.

    How close to 30/s it drains is a speed target, so it lives in a benchmark, not here:
    `python -m benchmarks.pipeline` (telegram_share_of_30, target 97%). On 2 shared cores this
    run drained at 24.5/s in one run and above 28.5/s in the next, as the fan-out took the CPU.

    Zero 429s, though the fan-out of 1,000 users shares the 2 cores with the sender: a request
    that leaves late (the sender descheduled after its slot, or the outbox's Redis mark slow)
    would share a second of Telegram's window with requests that left on time. The sender's
    write window (`messaging.transport.write_window`) holds each request at the moment of its
    HTTP write until the 30th request back has, by its answer, arrived more than 1.03 s ago."""
    run = await burst_to(N_USERS, 1)
    stats, counters = run.stats, run.counters
    assert stats["too_many_requests"]["chat"] == 0, stats
    assert stats["too_many_requests"]["total"] == 0, stats
    assert counters["retried"] == stats["too_many_requests"]["total"], counters
    assert stats["peak_send_rate"] <= 30, stats
    assert not run.wrong, f"{len(run.wrong)} users differ from the oracle, e.g. {run.wrong[:5]}"
    assert counters["sent"] == len(run.want)
    assert counters["duplicates"] == 0 and counters["dead"] == 0
    assert counters["held"] == run.held_items > 0


async def test_two_senders_split_the_chats_and_share_the_bot_wide_limit(
    burst_to: BurstTo,
) -> None:
    """With the outbox in two partitions, each sender delivers its own chats: every user still
    gets exactly the oracle's digest, once, both senders do their part, no chat is sent to
    faster than its limit, and together they stay within 30 messages/s.

    Global 429s are not asserted zero here, unlike with one sender: the senders' slots hold at
    send time, but on 2 busy cores the emulator can receive requests of two processes later than
    the slots' 30 ms tolerance (docs/performance.md). A 429 that happens is retried, not lost."""
    run = await burst_to(300, 2)
    stats, counters = run.stats, run.counters
    assert not run.wrong, f"{len(run.wrong)} users differ from the oracle, e.g. {run.wrong[:5]}"
    assert counters["sent"] == len(run.want) > 50
    assert counters["duplicates"] == 0 and counters["dead"] == 0
    assert stats["too_many_requests"]["chat"] == 0, stats
    assert stats["too_many_requests"]["total"] <= 2, stats
    assert counters["retried"] == stats["too_many_requests"]["total"], counters
    assert stats["peak_send_rate"] <= 30, stats
    assert all(n > len(run.want) / 4 for n in run.sent_by_sender), run.sent_by_sender


async def test_high_goes_at_once_a_blocked_user_loses_the_session_and_a_close_edits_messages(
    ray_instance: None,
    redis: Any,
    redis_url: str,
    emulator_url: str,
    http: aiohttp.ClientSession,
    live_services: Services,
    tmp_path: Path,
) -> None:
    """A HIGH opportunity goes out as a single at once; Telegram's 403 for a user who blocked the
    bot ends their session; when the opportunity closes, the messages that carry it are edited
    (their Telegram message ids came back through the acks stream)."""
    settings = push_settings(tmp_path, emulator_url)
    world = World(emulator_url, http)
    await world.reset()
    now = live_services.clock.now()
    people = [p for p in population(40, seed=1) if p.session == "active"][:3]
    for p in people:
        p.tier, p.types, p.muted, p.min_profit = Tier.PREMIUM, None, frozenset(), 0.0
        p.dnd = p.off_hours = p.restricted = False
        p.exchanges, p.region, p.push = frozenset(), "", True
    a, b, blocked = (p.user_id for p in people)
    await world.open_chats([a, b, blocked])
    await world.block(blocked)  # nobody reads the bot's updates here: it learns by the 403
    await seed(live_services, people, now)
    (opp,) = burst(now, n=1)
    opp = opp.model_copy(update={"priority": Priority.HIGH})
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(keys.SESSION_CHANNEL)
    pushes = Pushes(settings, redis_url, redis)
    try:
        await pushes.start()
        store = OpportunityStore(redis, ttl=1800)
        await store.apply(opened=[opp])
        await world.stats(min_sent=2, method="sendMessage", min_calls=3, timeout=30)
        async with asyncio.timeout(30):
            async for message in pubsub.listen():
                if int(message["data"]) == blocked:
                    break
        session = await live_services.sessions.store.get(blocked)
        assert session is not None and session.state is SessionState.TERMINATED
        closed = opp.model_copy(update={"closed": True, "updated_at": now + 1})
        await store.apply(closed=[closed])
        await world.stats(method="editMessageText", min_calls=2, timeout=30)
    finally:
        await pubsub.aclose()
        await pushes.stop()
        pushes.kill()
    for uid in (a, b):
        (message,) = await world.messages(uid)
        assert "Closed" in message["plain_text"], message
    assert await world.messages(blocked) == []
