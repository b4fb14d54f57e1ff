"""Faults in the push pipeline, mid-run, with Telegram's limits on: a queue shard killed while
digests wait in its queues, the sender killed while it holds messages, Redis restarted. Every
user still gets exactly their digest; the only repeats are the resends the outbox counted (a
sender that died between sending and recording the send)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import ray

from arbcast.pushes import Pushes
from core.opportunity_store import OpportunityStore
from core.services import Services
from core.store.embedded import EmbeddedRedis
from tests.arbcast.conftest import World, push_settings, seed
from tests.arbcast.population import burst, expected, ids_in, population


async def test_a_killed_shard_a_killed_sender_and_a_redis_restart_lose_nothing(
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
        redis_server.restart()
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
