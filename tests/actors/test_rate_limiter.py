"""The GlobalRateLimiter actor on real Ray: leases from several senders never exceed the global
rate in any second, and a global 429 pauses every sender."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import ray

from actors.distribution import RateLimiterClient
from actors.factory import create_rate_limiter, kill_created
from core.settings import Settings

pytestmark = pytest.mark.ray


@pytest.fixture
def limiter(ray_instance: None, settings: Settings) -> Iterator[RateLimiterClient]:
    s = settings.model_copy(
        update={"ray": settings.ray.model_copy(update={"namespace": "arbcast-tests"})}
    )
    client = create_rate_limiter(s)
    yield client
    # Through the ownership record, so a later test's "created here?" is not misled.
    if not kill_created(s, {"global-rate-limiter"}):
        ray.kill(client.handle, no_restart=True)


async def test_leases_from_many_senders_stay_within_the_global_rate(
    limiter: RateLimiterClient,
) -> None:
    start = time.time()
    leases = await asyncio.gather(*(limiter.lease(f"sender-{i % 4}", 10) for i in range(12)))
    granted_at_once = sum(lease.tokens for lease in leases)
    assert granted_at_once <= 30  # Telegram's 30 messages a second for the whole bot
    assert granted_at_once > 0
    assert all(lease.valid_until >= lease.granted_at for lease in leases)
    stats = await limiter.stats()
    assert stats["leases"] == 12
    assert time.time() - start < 30


async def test_a_global_429_pauses_every_sender(limiter: RateLimiterClient) -> None:
    await limiter.report_429(30, "global")
    lease = await limiter.lease("sender-x", 5)
    assert lease.tokens == 0
    assert lease.valid_until >= time.time() + 25  # told when to come back (before the 30 s end)
