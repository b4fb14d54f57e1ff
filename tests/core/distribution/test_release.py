"""The release step on real Redis (``push_release.lua`` through `ReleaseStore`): a batch of
messages is one script call, yet each message is decided on its own and in order, and a batch
sent again after a lost reply changes nothing. Counted from Redis itself (the outbox stream, the
quota counters, the recipients set), not from the store's answers."""

from __future__ import annotations

import json
from typing import Any

from core.clock import ManualClock
from core.distribution.caps import Caps
from core.distribution.release import ReleaseRequest, ReleaseStore, ReleaseTtls
from core.services import Services
from core.store import keys
from core.store.scripts import Scripts

STREAM = keys.outbox_stream(0, high=True)


def request(uid: int, n: int, oids: tuple[str, ...] = ("o1",), hourly: int = 5) -> ReleaseRequest:
    return ReleaseRequest(
        user_id=uid,
        outgoing_id=f"{uid}:0:{n}",
        opportunity_ids=oids,
        message_json=json.dumps({"user": uid, "n": n}),
        stream=STREAM,
        queue_json=json.dumps({"user": uid, "seq": n}),
        caps=Caps(daily=20, hourly=hourly),
        cooldown_seconds=0.0,
        pierces_dnd=False,
    )


def store(redis: Any, batch: int) -> ReleaseStore:
    return ReleaseStore(redis, Scripts(redis), ReleaseTtls(3600, 3600, 600.0), batch=batch)


async def _users(services: Services, ids: list[int]) -> None:
    for uid in ids:
        await services.profiles.ensure(uid, f"u{uid}")
        await services.sessions.start(uid)


async def test_a_batch_decides_each_message_in_order_and_on_its_own(
    services: Services, redis: Any, clock: ManualClock
) -> None:
    """User 1's second message sees the quota its first took (only 1 of 2 fits: partial);
    user 2 switched push off; user 3 is released: one script call, three outcomes."""
    await _users(services, [1, 2, 3])
    await services.profiles.update(2, push_enabled=False)
    now = clock.now()
    batch = [
        request(1, 1, ("o1",), hourly=2),
        request(1, 2, ("o2", "o3"), hourly=2),
        request(2, 1),
        request(3, 1),
    ]
    results = await store(redis, batch=10).release_many(batch, now)
    assert [r.status for r in results] == ["ok", "partial", "push_off", "ok"]
    assert results[1].detail == "1"
    assert [r.used_this_hour for r in results] == [1, 1, 0, 1]
    rows = await redis.xrange(STREAM)
    assert [json.loads(f["m"]) for _, f in rows] == [{"user": 1, "n": 1}, {"user": 3, "n": 1}]
    assert await services.quota.used(1, now) == (1, 1)
    assert await services.quota.used(2, now) == (0, 0)
    assert await redis.smembers(keys.recipients("o1")) == {"1", "3"}
    assert await redis.ttl(keys.recipients("o1")) > 0
    assert json.loads(await redis.get(keys.user_queue(3))) == {"user": 3, "seq": 1}
    assert await redis.get(keys.user_queue(2)) is None


async def test_batches_sent_again_after_a_lost_reply_answer_dup_and_write_nothing(
    services: Services, redis: Any, clock: ManualClock
) -> None:
    """Five users in batches of two (three script calls); the whole release repeated (the reply
    was lost) answers dup for each, with no second outbox entry and no second quota unit."""
    users = [11, 12, 13, 14, 15]
    await _users(services, users)
    now = clock.now()
    requests = [request(u, 1) for u in users]
    releases = store(redis, batch=2)
    first = await releases.release_many(requests, now)
    again = await releases.release_many(requests, now)
    assert [r.status for r in first] == ["ok"] * 5
    assert [r.status for r in again] == ["dup"] * 5
    assert await redis.xlen(STREAM) == 5
    for u in users:
        assert await services.quota.used(u, now) == (1, 1)
