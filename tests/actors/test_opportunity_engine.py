"""The opportunity engine on real Ray and real Redis: market data fanned out to one coordinator
per exchange pair, opportunities published, and a coordinator restart that loses nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import ray

from actors.engine import EngineClient
from actors.factory import create_engine, exchange_pairs
from core.events import read_events
from core.market.simulator import DEFAULT_EXCHANGES, DEFAULT_SYMBOLS, MarketSimSettings
from core.opportunity_store import OpportunityStore
from core.settings import Settings
from core.store import keys
from tests.helpers import eventually

pytestmark = pytest.mark.ray

START = 1_767_225_600.0


@pytest.fixture
def engine_settings(settings: Settings) -> Settings:
    # Three exchanges, five symbols and frequent spreads: the same engine, less to compute.
    market = MarketSimSettings(
        seed=11,
        exchanges=DEFAULT_EXCHANGES[:3],
        symbols=DEFAULT_SYMBOLS[:5],
        spread_open_probability=0.03,
    )
    return settings.model_copy(
        update={
            "market": market,
            "ray": settings.ray.model_copy(update={"namespace": "arbcast-tests"}),
        }
    )


@pytest.fixture
async def engine(
    ray_instance: None, engine_settings: Settings, redis_url: str, redis: Any
) -> AsyncIterator[EngineClient]:
    client = create_engine(engine_settings, redis_url)
    yield client
    client.kill()


async def _run(engine: EngineClient, steps: int, start: float = START) -> list[Any]:
    return await engine.run_steps(start, steps)


async def test_one_coordinator_per_exchange_pair(
    engine: EngineClient, engine_settings: Settings
) -> None:
    assert sorted(engine.coordinators) == ["-".join(p) for p in exchange_pairs(engine_settings)]
    assert len(engine.coordinators) == 3  # three exchanges


async def test_market_batches_become_published_opportunities(
    engine: EngineClient, redis: Any
) -> None:
    results = await _run(engine, 300)
    opened = sum(r.opened for r in results)
    assert opened > 0
    assert all(r.updates > 0 for r in results)
    store = OpportunityStore(redis, ttl=900)
    changes = await store.changes(count=100_000)
    kinds = {k for _, k, _ in changes}
    assert "opened" in kinds
    assert sum(1 for _, k, _ in changes if k == "opened") == opened
    first_id = next(o.opportunity_id for _, k, o in changes if k == "opened")
    records = await store.validation(first_id)
    # It may have failed a transient check first; it was published once every level passed.
    assert {r["level"] for r in records if r["passed"]} >= {1, 2, 4}
    await engine.flush()
    events = await read_events(redis)
    assert any(e.name == "opportunity.validation" for e in events)
    stats = await engine.stats()
    assert stats["batches"] == 300
    assert stats["opened"] == opened


async def test_updates_to_a_live_opportunity_keep_its_id(engine: EngineClient, redis: Any) -> None:
    await _run(engine, 400)
    store = OpportunityStore(redis, ttl=900)
    changes = await store.changes(count=100_000)
    opened = {o.opportunity_id for _, k, o in changes if k == "opened"}
    updated = {o.opportunity_id for _, k, o in changes if k == "updated"}
    closed = {o.opportunity_id for _, k, o in changes if k == "closed"}
    assert updated, "some opportunity was updated while live"
    assert updated <= opened
    assert closed <= opened
    assert len(opened) == sum(1 for _, k, _ in changes if k == "opened"), "no id opened twice"


async def test_a_killed_coordinator_comes_back_with_its_state(
    engine: EngineClient, redis: Any
) -> None:
    await _run(engine, 500)
    name, coordinator = next(iter(engine.coordinators.items()))
    await coordinator.flush()
    before = await coordinator.stats()
    snapshot_before = json.loads(await redis.get(keys.coordinator(tuple(name.split("-")))))
    ray.kill(coordinator.handle, no_restart=False)  # a crash: Ray restarts it

    async def back() -> bool:
        try:
            stats = await coordinator.stats()
        except Exception:
            return False
        return bool(stats["restored"])

    await eventually(back, timeout=60, what="the coordinator restarted and restored its snapshot")
    after = await coordinator.stats()
    assert after["live"] == before["live"]
    assert after["batches"] == 0  # a new process…
    restored = json.loads(await redis.get(keys.coordinator(tuple(name.split("-")))))
    assert restored["history"] == snapshot_before["history"]  # …with the same history
    # It carries on: the engine keeps publishing through the restarted actor.
    results = await _run(engine, 50, START + 500)
    assert all(r.updates > 0 for r in results)


async def test_the_engine_runs_on_its_own_feed(engine: EngineClient) -> None:
    assert await engine.start() is True
    assert await engine.start() is False

    async def progressed() -> bool:
        return int((await engine.stats())["batches"]) >= 3

    await eventually(progressed, timeout=30, what="the feed ran three batches")
    await engine.stop()
    stats = await engine.stats()
    assert stats["running"] is False
    await asyncio.sleep(0)
