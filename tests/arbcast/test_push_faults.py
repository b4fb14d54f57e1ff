"""Faults in the push pipeline, mid-run, with Telegram's limits on: a queue shard killed while
digests wait in its queues, the sender killed while it holds messages, Redis killed with SIGKILL
(no shutdown: a crash) while messages are sent and acknowledged, then started on its AOF. Every
user still gets exactly their digest; the only repeats are the resends the outbox counted (a
sender that died between sending and recording the send)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import ray

from arbcast.consumers.ack_router import AckRouter
from arbcast.consumers.distributor import Distributor
from arbcast.pushes import Pushes
from core.opportunity_store import OpportunityStore
from core.services import Services
from core.store.embedded import EmbeddedRedis
from tests.arbcast.conftest import World, push_settings, seed
from tests.arbcast.population import burst, expected, ids_in, population


async def test_a_killed_shard_a_killed_sender_and_a_sigkilled_redis_lose_nothing(
    ray_instance: None,
    redis: Any,
    redis_url: str,
    redis_server: EmbeddedRedis,
    emulator_url: str,
    http: aiohttp.ClientSession,
    live_services: Services,
    tmp_path: Path,
) -> None:
    settings = push_settings(
        tmp_path,
        emulator_url,
        supervise_seconds=0.5,
        medium_window_seconds=6.0,
        low_window_seconds=6.0,
    )
    world = World(emulator_url, http)
    await world.reset()
    now = live_services.clock.now()
    people = population(400, seed=3)
    opps = burst(now, seed=5)
    want, _held = expected(people, opps, settings)
    await world.open_chats([p.user_id for p in people])
    await seed(live_services, people, now)
    base = (await world.stats())["messages_sent"]
    pushes = Pushes(settings, redis_url, redis)
    try:
        await pushes.start()
        await OpportunityStore(redis, ttl=1800).apply(opened=opps)
        # Every opportunity is in the queues, none sent yet (the batching window is open):
        # kill a shard, which Ray restarts empty; it must reload its queues from Redis.
        await pushes.distributor.wait_fanned_out(len(opps), timeout=30)
        ray.kill(pushes.shards.shards[0].handle, no_restart=False)
        await world.stats(min_sent=base + len(want) // 4, timeout=120)
        ray.kill(pushes.senders[0].handle, no_restart=False)  # holding claimed messages
        await world.stats(min_sent=base + len(want) // 2, timeout=120)
        redis_server.kill()  # mid-delivery: sending marks, acks and releases in flight
        redis_server.start()  # on the same AOF, as a supervisor would restart it
        stats = await world.stats(min_sent=base + len(want), timeout=180)
        await pushes.senders[0].drain()  # anything still owed is settled before counting
        counters = await pushes.counters()
    finally:
        await pushes.stop()
        pushes.kill()

    # Zero 429s is the steady-state test's claim (test_pushes.py). Here a process restart's CPU
    # burst on 2 cores can delay a request past the slots' 30 ms tolerance; such a 429 must be
    # waited out and retried like any other, which the checks below prove (nothing lost).
    assert stats["too_many_requests"]["total"] <= 3, stats
    extra: Counter[int] = Counter()
    wrong = []
    for p in people:
        got = [ids_in(m) for m in await world.messages(p.user_id)]
        should = want.get(p.user_id)
        if should is None:
            if got:
                wrong.append((p.user_id, got, None))
        elif not got or any(g != should for g in got):
            wrong.append((p.user_id, got, should))
        else:
            extra[p.user_id] = len(got) - 1
    assert not wrong, f"{len(wrong)} users differ from the oracle, e.g. {wrong[:5]}"
    # The only repeats are the counted crash-window resends.
    assert sum(extra.values()) == counters["duplicates"]
    assert counters["dead"] == 0


def _task(name: str) -> asyncio.Task[Any]:
    return next(t for t in asyncio.all_tasks() if t.get_name() == name)


async def _kill(task: asyncio.Task[Any]) -> None:
    """As a process dying would: the loop stops wherever it is, nothing of it runs after."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_killed_distributor_and_a_killed_ack_router_lose_nothing(
    ray_instance: None,
    redis: Any,
    redis_url: str,
    emulator_url: str,
    http: aiohttp.ClientSession,
    live_services: Services,
    tmp_path: Path,
) -> None:
    """The distributor is killed while it fans a burst out (changes read, not all acknowledged),
    the ack router while acknowledgements flow; each is replaced by a new one under the same
    consumer name, as a restarted process would be. Every user still gets exactly their digest,
    and closing an opportunity then edits every message that carried it, so no Telegram message
    id was lost with the ack router."""
    settings = push_settings(
        tmp_path, emulator_url, medium_window_seconds=6.0, low_window_seconds=6.0
    )
    world = World(emulator_url, http)
    await world.reset()
    now = live_services.clock.now()
    people = population(300, seed=7)
    opps = burst(now, seed=13)
    want, _held = expected(people, opps, settings)
    await world.open_chats([p.user_id for p in people])
    await seed(live_services, people, now)
    base = (await world.stats())["messages_sent"]
    pushes = Pushes(settings, redis_url, redis)
    stop = asyncio.Event()
    failures = settings.distribution.max_entry_failures
    second = Distributor(redis, pushes.shards, max_failures=failures)
    acks = AckRouter(redis, pushes.shards, max_failures=failures)
    replacements: list[asyncio.Task[None]] = []
    closing = max(opps, key=lambda o: sum(o.opportunity_id in ids for ids in want.values()))
    try:
        await pushes.start()
        await OpportunityStore(redis, ttl=1800).apply(opened=opps)
        await pushes.distributor.wait_fanned_out(2, timeout=30)
        await _kill(_task("distributor"))  # mid-burst: the rest are read, not acknowledged
        assert pushes.distributor.fanned_out < len(opps)
        replacements.append(asyncio.create_task(second.run(stop)))
        await world.stats(min_sent=base + len(want) // 3, timeout=120)
        await _kill(_task("ack-router"))
        replacements.append(asyncio.create_task(acks.run(stop)))
        await world.stats(min_sent=base + len(want), timeout=180)
        await pushes.senders[0].drain()
        counters = await pushes.counters()
        digests = {p.user_id: [ids_in(m) for m in await world.messages(p.user_id)] for p in people}
        carried = [u for u, ids in want.items() if closing.opportunity_id in ids]
        edits = (await world.stats(method="editMessageText"))["calls"].get("editMessageText", 0)
        closed = closing.model_copy(update={"closed": True, "updated_at": now + 1})
        await OpportunityStore(redis, ttl=1800).apply(closed=[closed])
        await world.stats(method="editMessageText", min_calls=edits + len(carried), timeout=120)
    finally:
        stop.set()
        for t in replacements:
            t.cancel()
        await asyncio.gather(*replacements, return_exceptions=True)
        await pushes.stop()
        pushes.kill()

    assert second.fanned_out >= len(opps) - pushes.distributor.fanned_out
    wrong = []
    for p in people:
        got, should = digests[p.user_id], want.get(p.user_id)
        if (should is None and got) or (should is not None and got != [should]):
            wrong.append((p.user_id, got, should))
    assert not wrong, f"{len(wrong)} users differ from the oracle, e.g. {wrong[:5]}"
    assert counters["duplicates"] == 0 and counters["dead"] == 0
    for uid in carried:
        (message,) = await world.messages(uid)
        assert "Closed" in message["plain_text"], (uid, message)
