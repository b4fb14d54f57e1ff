"""The Redis lease (core/store/lease.py) and the leadership loop on it (core/leadership.py), on
real Redis; the loop's own notion of time is the manual clock."""

from __future__ import annotations

import asyncio
from typing import Any

from core.clock import ManualClock
from core.leadership import Leadership
from core.store import keys
from core.store.client import connect
from core.store.lease import Lease, holder_id
from tests.helpers import eventually


def _lease(redis: Any, holder: str, ttl: float = 5.0) -> Lease:
    return Lease(redis, "test", holder, ttl)


async def test_one_holder_at_a_time_and_only_the_holder_renews_or_releases(redis: Any) -> None:
    """The first acquire wins; the other process can neither take, renew nor release it."""
    a, b = _lease(redis, "a"), _lease(redis, "b")
    assert await a.acquire()
    assert not await b.acquire()
    assert not await b.renew()
    assert not await b.release()
    assert await a.current_holder() == "a" == await redis.get(keys.lease("test"))
    assert await a.renew()
    assert await a.release()
    assert await redis.exists(keys.lease("test")) == 0
    assert await b.acquire()
    assert not await a.renew()  # a lapsed holder does not extend its successor's lease


async def test_a_lease_not_renewed_lapses_and_another_takes_it(redis: Any) -> None:
    """Redis ends an unrenewed lease after its lifetime (here 50 ms); a renewal sets the full
    lifetime again."""
    a, b = _lease(redis, "a", ttl=0.05), _lease(redis, "b")
    assert await a.acquire()
    assert 0 < await redis.pttl(keys.lease("test")) <= 50
    await eventually(b.acquire, timeout=10, what="b takes the lapsed lease")
    assert await b.current_holder() == "b"
    assert not await a.renew()
    assert 4_000 < await redis.pttl(keys.lease("test")) <= 5_000


def test_holder_ids_differ_per_start() -> None:
    """Two starts of the same process name are two holders."""
    assert holder_id() != holder_id()


class Duties:
    def __init__(self) -> None:
        self.log: list[str] = []

    async def elected(self) -> None:
        self.log.append("elected")

    async def deposed(self) -> None:
        self.log.append("deposed")


def _leadership(lease: Lease, duties: Duties, clock: ManualClock) -> Leadership:
    return Leadership(
        lease,
        on_elected=duties.elected,
        on_deposed=duties.deposed,
        lease_seconds=5.0,
        renew_seconds=1.5,
        clock=clock,
    )


async def _settled(leader: Leadership) -> None:
    if leader._duty is not None:
        await leader._duty


async def test_exactly_one_of_two_processes_leads_and_a_survivor_takes_over(
    redis: Any, clock: ManualClock
) -> None:
    """Two contenders: one runs the duty; when its lease is gone (as after a SIGKILL) the other
    takes it at its next round and the first, at its next renewal, stops its duty."""
    one, two = Duties(), Duties()
    first = _leadership(_lease(redis, holder_id()), one, clock)
    second = _leadership(_lease(redis, holder_id()), two, clock)
    assert await first.step() and not await second.step()
    await _settled(first)
    assert (one.log, two.log) == (["elected"], [])
    assert await first.step() and not await second.step()  # renewals
    await redis.delete(keys.lease("test"))  # lapsed
    assert await second.step()
    await _settled(second)
    assert not await first.step()
    assert (one.log, two.log) == (["elected", "deposed"], ["elected"])
    assert await second.lease.current_holder() == second.lease.holder


async def test_redis_unreachable_keeps_the_duty_only_for_a_lease_lifetime(
    redis: Any, clock: ManualClock
) -> None:
    """A leader that cannot reach Redis keeps running until its lease would have lapsed (by
    the clock), then stops: by then a survivor may hold it."""
    duties = Duties()
    holder = holder_id()
    leader = _leadership(_lease(redis, holder), duties, clock)
    assert await leader.step()
    await _settled(leader)
    unreachable = connect("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        leader.lease = _lease(unreachable, holder)
        clock.advance(seconds=4.9)
        assert await leader.step()
        clock.advance(seconds=0.2)
        assert not await leader.step()
    finally:
        await unreachable.aclose()
    assert duties.log == ["elected", "deposed"]


async def test_stopping_ends_the_duty_and_releases_the_lease(redis: Any) -> None:
    """`run` ends on its stop signal: the duty ends and the lease is free at once."""
    duties = Duties()
    leader = _leadership(_lease(redis, "a"), duties, ManualClock())
    stop = asyncio.Event()
    task = asyncio.create_task(leader.run(stop))
    await eventually(lambda: duties.log == ["elected"], timeout=10, what="elected")
    stop.set()
    await task
    assert duties.log == ["elected", "deposed"]
    assert await redis.exists(keys.lease("test")) == 0
