"""Session lifecycle on real Redis with a manual clock (design: "Active Session Definition")."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from core.clock import ManualClock
from core.events import EventName, MemoryEventLog
from core.models import OnboardingState, SessionState
from core.services import Services, build_services
from core.sessions.store import day_key
from core.settings import DAY, Settings
from core.store import keys
from core.store.client import connect
from tests.helpers import eventually


async def test_start_creates_an_active_session_with_a_random_128_bit_id(
    services: Services, clock: ManualClock, events: MemoryEventLog
) -> None:
    result = await services.sessions.start(1)
    s = result.session
    assert result.outcome == "started" and result.previous is None
    assert re.fullmatch(r"[0-9a-f]{32}", s.session_id)
    assert s.state is SessionState.ACTIVE
    assert s.expires_at == clock.now() + 7 * DAY
    other = await services.sessions.start(2)
    assert other.session.session_id != s.session_id
    assert [e.name for e in events.events] == [EventName.SESSION_STARTED] * 2


async def test_start_on_an_active_session_resumes_it_and_extends_expiry(
    services: Services, clock: ManualClock, events: MemoryEventLog
) -> None:
    first = await services.sessions.start(1)
    clock.advance(days=2)
    again = await services.sessions.start(1)
    assert again.outcome == "resumed"
    assert again.session.session_id == first.session.session_id
    assert again.session.expires_at == clock.now() + 7 * DAY
    assert events.events[-1].name == EventName.SESSION_RESUMED


async def test_design_activity_examples_day_0_3_8_15(
    services: Services, clock: ManualClock, events: MemoryEventLog
) -> None:
    """Day 0 start -> expires day 7; day 3 -> day 10; day 8 -> day 15; day 15 -> expired."""
    day0 = clock.now()
    s = (await services.sessions.start(1)).session
    assert s.expires_at == day0 + 7 * DAY

    clock.set(day0 + 3 * DAY)
    s = services.sessions.record_activity(s, command=True)
    await services.sessions.activity.flush()
    assert (await services.sessions.store.get(1)).expires_at == day0 + 10 * DAY  # type: ignore[union-attr]

    clock.set(day0 + 8 * DAY)
    assert s.is_active(clock.now())
    s = services.sessions.record_activity(s, command=True)
    await services.sessions.activity.flush()
    stored = await services.sessions.store.get(1)
    assert stored is not None
    assert stored.expires_at == day0 + 15 * DAY
    assert stored.commands_used == 2

    clock.set(day0 + 15 * DAY - 1)
    assert await services.sweeper.run_once() == []
    clock.set(day0 + 15 * DAY)
    expired = await services.sweeper.run_once()
    assert [e.user_id for e in expired] == [1]
    assert (await services.sessions.current(1)).state is SessionState.EXPIRED  # type: ignore[union-attr]
    assert events.events[-1].name == EventName.SESSION_EXPIRED
    assert events.events[-1].attrs["reason"] == "inactivity"


async def test_after_expiry_start_opens_a_new_session_with_a_new_id(
    services: Services, clock: ManualClock
) -> None:
    old = (await services.sessions.start(1)).session
    clock.advance(days=8)
    await services.sweeper.run_once()
    new = await services.sessions.start(1)
    assert new.outcome == "started"
    assert new.previous is SessionState.EXPIRED
    assert new.session.session_id != old.session_id


async def test_start_after_lapse_before_the_sweep_records_the_expiry(
    services: Services, clock: ManualClock, events: MemoryEventLog
) -> None:
    old = (await services.sessions.start(1)).session
    clock.advance(days=7, seconds=1)
    new = await services.sessions.start(1)
    assert new.previous is SessionState.EXPIRED
    names = [e.name for e in events.events]
    assert names == [
        EventName.SESSION_STARTED,
        EventName.SESSION_EXPIRED,
        EventName.SESSION_STARTED,
    ]
    assert events.events[1].session_id == old.session_id
    assert await services.sweeper.run_once() == []  # nothing left for the sweeper


async def test_logout_terminates_and_a_new_start_begins_afresh(
    services: Services, events: MemoryEventLog
) -> None:
    old = (await services.sessions.start(1)).session
    ended = await services.sessions.end(1, SessionState.TERMINATED, "logout")
    assert ended is not None and ended.session_id == old.session_id
    assert (await services.sessions.current(1)).state is SessionState.TERMINATED  # type: ignore[union-attr]
    assert await services.sessions.active(1) is None
    assert await services.sessions.end(1, SessionState.TERMINATED, "logout") is None
    new = await services.sessions.start(1)
    assert new.previous is SessionState.TERMINATED
    assert new.session.session_id != old.session_id
    assert EventName.SESSION_TERMINATED in [e.name for e in events.events]


async def test_activity_on_an_ended_session_does_not_revive_it(
    services: Services, clock: ManualClock
) -> None:
    s = (await services.sessions.start(1)).session
    services.sessions.record_activity(s, command=True)
    await services.sessions.end(1, SessionState.TERMINATED, "logout")
    clock.advance(seconds=1)
    services.sessions.activity.record(1, s.session_id, clock.now(), command=True)
    await services.sessions.activity.flush()
    assert (await services.sessions.store.get(1)).state is SessionState.TERMINATED  # type: ignore[union-attr]


async def test_two_hundred_concurrent_starts_make_exactly_two_hundred_sessions(
    services: Services, redis: Any
) -> None:
    results = await asyncio.gather(*(services.sessions.start(uid) for uid in range(1, 201)))
    assert {r.outcome for r in results} == {"started"}
    assert len({r.session.session_id for r in results}) == 200
    assert await services.sessions.store.count_active(services.clock.now()) == 200
    # The same 200 users again, twice over, at once: still 200, all resumed.
    again = await asyncio.gather(*(services.sessions.start(uid) for uid in list(range(1, 201)) * 2))
    assert {r.outcome for r in again} == {"resumed"}
    assert await services.sessions.store.count_active(services.clock.now()) == 200


async def test_concurrent_activity_from_several_processes_loses_no_extension(
    redis_url: str, redis: Any, settings: Settings, clock: ManualClock
) -> None:
    """Touches from many processes, flushed in any order, leave the latest extension."""
    procs = [
        build_services(connect(redis_url), settings, clock=clock, events=MemoryEventLog())
        for _ in range(4)
    ]
    start = clock.now()
    s = (await procs[0].sessions.start(7)).session
    for i in range(40):  # activity at t+1..t+40 s, spread over the processes
        clock.set(start + i + 1)
        procs[i % 4].sessions.record_activity(s, command=True)
    # Flush in reverse: the oldest touches arrive last.
    for p in reversed(procs):
        await p.sessions.activity.flush()
    stored = await procs[0].sessions.store.get(7)
    assert stored is not None
    assert stored.expires_at == start + 40 + 7 * DAY
    assert stored.last_activity == start + 40
    assert stored.commands_used == 40
    for p in procs:
        await p.redis.aclose()


async def test_logout_in_one_process_is_seen_by_another_within_a_second(
    redis_url: str, redis: Any, settings: Settings, clock: ManualClock
) -> None:
    a = build_services(connect(redis_url), settings, clock=clock, events=MemoryEventLog())
    b = build_services(connect(redis_url), settings, clock=clock, events=MemoryEventLog())
    await a.start(sweep=False)
    await b.start(sweep=False)
    try:
        await a.sessions.start(5)

        async def cached_in_b() -> bool:
            # The start's own invalidation may still be in flight: read until b keeps it.
            assert await b.sessions.active(5) is not None
            return b.sessions.cache.get(5)[0]

        await eventually(cached_in_b, what="b cached the active session")
        await a.sessions.end(5, SessionState.TERMINATED, "logout")
        took = await eventually(
            lambda: not b.sessions.cache.get(5)[0], timeout=1.0, what="b dropped its cached session"
        )
        assert took < 1.0
        assert await b.sessions.active(5) is None
    finally:
        await a.close()
        await b.close()
        await a.redis.aclose()
        await b.redis.aclose()


async def test_sweeper_expires_a_backlog_in_bounded_batches(
    redis: Any, settings: Settings, clock: ManualClock, events: MemoryEventLog
) -> None:
    settings = settings.model_copy(
        update={"session": settings.session.model_copy(update={"sweep_batch": 100})}
    )
    svc = build_services(redis, settings, clock=clock, events=events)
    await asyncio.gather(*(svc.sessions.start(uid) for uid in range(1, 251)))
    clock.advance(days=7)
    expired = await svc.sweeper.run_once()
    assert sorted(s.user_id for s in expired) == list(range(1, 251))
    assert len(events.named(EventName.SESSION_EXPIRED)) == 250
    assert await svc.sessions.store.count_active(clock.now()) == 0
    stats = await svc.sessions.store.daily_stats(clock.now() - 7 * DAY)
    assert stats["started"] == 250


async def test_the_daily_stats_hash_expires_after_its_retention(services: Services) -> None:
    """Starting, ending and onboarding counters go to a per-day hash that Redis drops after
    `keys.STATS_TTL_S` (40 days), so the days do not pile up for ever."""
    now = services.clock.now()
    await services.sessions.start(7)
    store = services.sessions.store
    day = keys.daily_stats(day_key(now))
    assert 0 < await services.redis.ttl(day) <= keys.STATS_TTL_S
    await services.redis.persist(day)
    await store.set_onboarding(7, OnboardingState.COMPLETED, now)
    assert 0 < await services.redis.ttl(day) <= keys.STATS_TTL_S
    await services.redis.persist(day)
    await store.end(7, now, SessionState.TERMINATED)
    assert 0 < await services.redis.ttl(day) <= keys.STATS_TTL_S
    assert (await store.daily_stats(now))["started"] == 1
