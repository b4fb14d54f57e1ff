"""Ray restarts are counted: an actor's first start is not a restart, a life Ray reconstructs
after a kill bumps the actor's count in Redis (what /metrics shows as
arbcast_actor_restarts_total). Also: the limiter counts the 429s reported to it, by kind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import ray

from actors.distribution import RateLimiterClient
from actors.errors import ActorUnavailableError
from actors.factory import create_rate_limiter, kill_created
from core.settings import Settings
from core.store.keys import ACTOR_RESTARTS

pytestmark = pytest.mark.ray


@pytest.fixture
def limiter(
    ray_instance: None, settings: Settings, redis_url: str, redis: Any
) -> Iterator[RateLimiterClient]:
    s = settings.model_copy(
        update={"ray": settings.ray.model_copy(update={"namespace": "arbcast-tests"})}
    )
    client = create_rate_limiter(s, redis_url)
    yield client
    if not kill_created(s, {"global-rate-limiter"}):
        ray.kill(client.handle, no_restart=True)


async def test_a_restart_by_ray_is_counted_and_a_first_start_is_not(
    limiter: RateLimiterClient, redis: Any
) -> None:
    await limiter.report_429(2.0, "global", None)
    await limiter.report_429(1.0, "chat", 7)
    await limiter.report_429(1.0, "chat", 8)
    assert (await limiter.stats())["refused_429"] == {"global": 1, "chat": 2}
    assert await redis.hget(ACTOR_RESTARTS, "global-rate-limiter") is None

    ray.kill(limiter.handle, no_restart=False)
    deadline = time.monotonic() + 60
    while True:  # calls in the restart's window fail; the next life answers from Redis's state
        try:
            stats = await limiter.stats()
            if stats["restored"]:
                break
        except ActorUnavailableError:
            pass
        assert time.monotonic() < deadline, "the limiter did not come back within 60 s"
        await asyncio.sleep(0.05)  # a retry pause, as a sender's own loop does
    assert await redis.hget(ACTOR_RESTARTS, "global-rate-limiter") == "1"
    assert stats["refused_429"] == {"global": 0, "chat": 0}  # a new life counts from 0
