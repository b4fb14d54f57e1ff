"""The GlobalRateLimiter actor on real Ray: leases from several senders never exceed the global
rate in any second, a global 429 pauses every sender, and a limiter killed and restarted by Ray
grants no slot twice and keeps the pause (its state is in Redis)."""

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

pytestmark = pytest.mark.ray


def _limiter(settings: Settings, redis_url: str, **rate_limits: Any) -> Iterator[RateLimiterClient]:
    s = settings.model_copy(
        update={
            "ray": settings.ray.model_copy(update={"namespace": "arbcast-tests"}),
            "distribution": settings.distribution.model_copy(
                update={
                    "rate_limits": settings.distribution.rate_limits.model_copy(update=rate_limits)
                }
            ),
        }
    )
    client = create_rate_limiter(s, redis_url)
    yield client
    # Through the ownership record, so a later test's "created here?" is not misled.
    if not kill_created(s, {"global-rate-limiter"}):
        ray.kill(client.handle, no_restart=True)


@pytest.fixture
def limiter(
    ray_instance: None, settings: Settings, redis_url: str, redis: Any
) -> Iterator[RateLimiterClient]:
    """The limiter with the default settings, on a flushed Redis (no state of an earlier one)."""
    yield from _limiter(settings, redis_url)


@pytest.fixture
def far_limiter(
    ray_instance: None, settings: Settings, redis_url: str, redis: Any
) -> Iterator[RateLimiterClient]:
    """Leases reach the longest horizon settings allow (5 s), so a restart lands inside slots
    already granted."""
    yield from _limiter(settings, redis_url, lease_horizon_seconds=5.0, max_lease_tokens=200)


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


async def _restarted(limiter: RateLimiterClient) -> None:
    """Until the limiter answers from its next life (having read its state back): calls in the
    restart's window fail, and one may still reach the dying instance."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if (await limiter.stats())["restored"]:
                return
        except ActorUnavailableError:
            pass
        assert time.monotonic() < deadline, "the limiter did not come back within 60 s"
        await asyncio.sleep(0.05)  # a retry pause, as a sender's own loop does


async def test_a_killed_limiter_restarts_without_granting_a_slot_twice(
    far_limiter: RateLimiterClient,
) -> None:
    limiter = far_limiter
    before = await limiter.lease("sender-a", 200)
    assert before.tokens > 100  # the next five seconds' slots, all held by sender-a
    ray.kill(limiter.handle, no_restart=False)
    await _restarted(limiter)
    after = await limiter.lease("sender-b", 200)
    while not after.tokens:  # told when to come back: the schedule is full until then
        await asyncio.sleep(max(0.0, after.valid_until - time.time()))  # the limiter's answer
        after = await limiter.lease("sender-b", 200)
    # The restarted limiter's first slot comes after sender-a's last one, one spacing on.
    last_held = before.slot(before.tokens - 1)
    assert after.granted_at >= last_held + before.interval - 1e-6, (before, after)


async def test_a_global_429_survives_a_restart_of_the_limiter(limiter: RateLimiterClient) -> None:
    reported = time.time()
    await limiter.report_429(30, "global")
    ray.kill(limiter.handle, no_restart=False)
    await _restarted(limiter)
    lease = await limiter.lease("sender-x", 5)
    assert lease.tokens == 0
    assert lease.valid_until >= reported + 29  # come back when the pause ends, not before
