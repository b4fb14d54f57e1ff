"""The engine of a deployment keeps detecting after its market-data actor dies: Ray restarts
the actor, the supervisor starts its feed again, and opportunities are published again (real
Ray, real Redis, the simulated feed in real time)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import ray

from actors.engine import EngineClient
from actors.errors import ActorUnavailableError
from arbcast.engine import Engine
from core.store import keys
from tests.actors.test_opportunity_engine import engine, engine_settings  # noqa: F401
from tests.helpers import eventually

pytestmark = pytest.mark.ray


async def _stats(client: EngineClient) -> dict[str, Any] | None:
    try:
        return await client.stats()
    except ActorUnavailableError:  # restarting
        return None


async def test_a_killed_market_data_actor_consumes_the_feed_again(
    engine: EngineClient,  # noqa: F811
    redis: Any,
) -> None:
    feed = Engine(engine, supervise_seconds=0.5)
    await feed.start()
    try:

        async def flowing() -> bool:
            s = await _stats(engine)
            return s is not None and s["updates"] > 0

        await eventually(flowing, timeout=60, what="market updates reach the coordinators")
        first = await engine.stats()
        killed_at = time.time()
        ray.kill(engine.handle, no_restart=False)

        async def next_life_flowing() -> bool:
            s = await _stats(engine)
            return s is not None and s["born"] > killed_at and s["running"] and s["updates"] > 0

        await eventually(next_life_flowing, timeout=60, what="the restarted actor's feed runs")
        assert first["born"] < killed_at
        assert feed.restarts == 1
        published = await redis.xlen(keys.OPPORTUNITY_CHANGES)

        async def detecting() -> bool:
            return int(await redis.xlen(keys.OPPORTUNITY_CHANGES)) > published

        await eventually(detecting, timeout=90, what="opportunities published after the restart")
    finally:
        await feed.stop()
