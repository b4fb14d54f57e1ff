"""The stream reader never stalls on poison: a malformed entry is dead-lettered at once, one that
keeps failing is dead-lettered after N failures (counted in Redis, across restarts), outages do
not count, and dead letters can be replayed. Real Redis; the reader is a small subclass."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from actors.errors import ActorUnavailableError
from arbcast.consumers.group_reader import GroupReader, replay_dead_letters
from core.store import keys
from tests.helpers import eventually

STREAM = "arbcast:test:stream"


class Numbers(GroupReader[int]):
    """Entries carry a number; handling fails for the numbers in `bad` (or with `outage`)."""

    def __init__(self, redis: Any, *, bad: set[int] | None = None, max_failures: int = 3) -> None:
        super().__init__(redis, STREAM, "g", "c1", max_failures=max_failures)
        self.bad = bad or set()
        self.outage = False
        self.done: list[int] = []

    def decode(self, fields: dict[str, Any]) -> int:
        return int(fields["n"])

    async def handle(self, batch: list[tuple[str, int]]) -> None:
        for entry_id, n in batch:
            if self.outage:
                raise ActorUnavailableError("shard restarting")
            if n in self.bad:
                raise ValueError(f"cannot handle {n}")
            self.done.append(n)
            await self.ack(entry_id)


async def _step_until_idle(reader: Numbers, limit: int = 20) -> None:
    for _ in range(limit):
        try:
            if await reader.step() == 0:
                return
        except Exception:
            continue
    raise AssertionError("the reader did not get past its entries")


async def test_a_malformed_entry_is_dead_lettered_at_once_and_the_rest_is_handled(
    redis: Any,
) -> None:
    reader = Numbers(redis)
    await reader.ensure_group()
    await redis.xadd(STREAM, {"n": "not a number"})
    await redis.xadd(STREAM, {"n": "2"})
    await _step_until_idle(reader)
    assert reader.done == [2]
    dead = await redis.xrange(keys.stream_dead(STREAM))
    assert len(dead) == 1
    assert json.loads(dead[0][1]["fields"]) == {"n": "not a number"}
    assert "malformed" in dead[0][1]["error"]
    assert await redis.xpending(STREAM, "g") == {
        "pending": 0, "min": None, "max": None, "consumers": []
    }  # fmt: skip


async def test_an_entry_that_keeps_failing_goes_to_dead_letters_after_n_tries_and_the_rest_flows(
    redis: Any,
) -> None:
    reader = Numbers(redis, bad={1}, max_failures=3)
    await reader.ensure_group()
    for n in (1, 2, 3):
        await redis.xadd(STREAM, {"n": str(n)})
    for _ in range(2):
        with pytest.raises(ValueError, match="cannot handle 1"):
            await reader.step()
    assert reader.done == []
    # A new reader (a restart) keeps counting: the third failure dead-letters the entry.
    again = Numbers(redis, bad={1}, max_failures=3)
    with pytest.raises(ValueError, match="cannot handle 1"):
        await again.step()
    await _step_until_idle(again)
    assert again.done == [2, 3]
    (dead,) = await redis.xrange(keys.stream_dead(STREAM))
    assert "failed 3 times" in dead[1]["error"]
    assert await redis.hlen(keys.stream_failures(STREAM, "g")) == 0


async def test_an_outage_is_retried_without_counting_against_the_entry(redis: Any) -> None:
    reader = Numbers(redis, max_failures=1)
    await reader.ensure_group()
    await redis.xadd(STREAM, {"n": "5"})
    reader.outage = True
    for _ in range(3):
        with pytest.raises(ActorUnavailableError):
            await reader.step()
    reader.outage = False
    await _step_until_idle(reader)
    assert reader.done == [5]
    assert await redis.xlen(keys.stream_dead(STREAM)) == 0


async def test_dead_letters_are_replayed_onto_their_stream(redis: Any) -> None:
    reader = Numbers(redis, bad={7}, max_failures=1)
    await reader.ensure_group()
    await redis.xadd(STREAM, {"n": "7"})
    with pytest.raises(ValueError, match="cannot handle 7"):
        await reader.step()
    assert await redis.xlen(keys.stream_dead(STREAM)) == 1
    reader.bad.clear()  # the cause is fixed
    assert await replay_dead_letters(redis, STREAM) == 1
    await _step_until_idle(reader)
    assert reader.done == [7]
    assert await redis.xlen(keys.stream_dead(STREAM)) == 0


async def test_run_backs_off_and_keeps_going_after_poison(redis: Any) -> None:
    reader = Numbers(redis, bad={1}, max_failures=2)
    reader.retry_seconds = reader.retry_max_seconds = 0.01
    await redis.xadd(STREAM, {"n": "1"})
    await redis.xadd(STREAM, {"n": "2"})
    stop = asyncio.Event()
    task = asyncio.create_task(reader.run(stop))
    try:
        await eventually(lambda: reader.done == [2], what="the entry behind the poison handled")
        assert reader.dead_lettered == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
