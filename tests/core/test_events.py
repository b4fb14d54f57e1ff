"""The event log's transport: batches in one stream entry each, kept on failure, read in order."""

from __future__ import annotations

import json
from typing import Any

import pytest
from redis.exceptions import ResponseError

from core.clock import ManualClock
from core.events import (
    Emitter,
    Event,
    EventName,
    MalformedEntryError,
    MemoryEventLog,
    RedisEventLog,
    decode_entry,
    encode_batch,
    read_events,
)
from core.store import keys


def test_the_emitter_stamps_the_clocks_time_unless_told_when_it_happened() -> None:
    log, clock = MemoryEventLog(), ManualClock(5000.0)
    emit = Emitter(log, clock)
    emit(EventName.COMMAND, user_id=7, session_id="s", command="/x", allowed=True)
    clock.advance(seconds=3)
    emit(EventName.VALIDATION, {"level": 2, "passed": False}, ts=4000.5, passed=True)
    assert log.events == [
        Event(
            name=EventName.COMMAND,
            ts=5000.0,
            user_id=7,
            session_id="s",
            attrs={"command": "/x", "allowed": True},
        ),
        # Attributes built beforehand, and keywords (which win) in one mapping.
        Event(name=EventName.VALIDATION, ts=4000.5, attrs={"level": 2, "passed": True}),
    ]


def _events(n: int, name: str = "audit.command") -> list[Event]:
    return [
        Event(
            name=name,
            ts=1000.0 + i,
            user_id=i,
            session_id=f"s{i}",
            attrs={"command": "/x", "allowed": i % 2 == 0, "n": i, "f": 0.5, "none": None},
        )
        for i in range(n)
    ]


async def test_flush_writes_one_stream_entry_per_batch_and_read_events_returns_them_in_order(
    redis: Any,
) -> None:
    log = RedisEventLog(redis, flush_max_events=1000)
    sent = _events(2500)
    for e in sent:
        log.emit(e)
    await log.flush()
    assert await redis.xlen(keys.EVENTS_STREAM) == 3  # 1000 + 1000 + 500
    assert await read_events(redis) == sent
    assert log.pending == 0


async def test_read_events_honours_count_across_batches(redis: Any) -> None:
    log = RedisEventLog(redis, flush_max_events=10)
    sent = _events(35)
    for e in sent:
        log.emit(e)
    await log.flush()
    assert await read_events(redis, count=23) == sent[:23]


async def test_a_failed_flush_keeps_the_batch_in_order_ahead_of_newer_events(redis: Any) -> None:
    log = RedisEventLog(redis)
    first = _events(3)
    for e in first:
        log.emit(e)
    await redis.set(keys.EVENTS_STREAM, "not a stream")  # every XADD now fails: WRONGTYPE
    with pytest.raises(ResponseError):
        await log.flush()
    assert log.pending == 3
    later = _events(2, name="session.started")
    for e in later:
        log.emit(e)
    await redis.delete(keys.EVENTS_STREAM)
    await log.flush()
    assert log.pending == 0
    assert await read_events(redis) == first + later


async def test_close_flushes_what_is_buffered(redis: Any) -> None:
    log = RedisEventLog(redis, flush_interval=60)
    log.start()
    log.emit(_events(1)[0])
    await log.close()
    assert len(await read_events(redis)) == 1


async def test_legacy_one_event_entries_are_still_read(redis: Any) -> None:
    old = _events(1)[0]
    await redis.xadd(keys.EVENTS_STREAM, {"e": old.to_json()})
    log = RedisEventLog(redis)
    new = _events(2, name="session.started")
    for e in new:
        log.emit(e)
    await log.flush()
    assert await read_events(redis) == [old, *new]


def test_batches_round_trip_every_scalar_type() -> None:
    events = [
        Event(
            name="x.y", ts=1.25, attrs={"s": "é✓", "i": -(2**62), "f": 1e-9, "b": False, "n": None}
        ),
        Event(name="x.z", ts=2.0, user_id=None, session_id=None),
    ]
    fields = encode_batch(events)
    assert fields["v"] == "m4"
    records = decode_entry(
        {k.encode(): v if isinstance(v, bytes) else str(v).encode() for k, v in fields.items()}
    )
    assert [Event(**r) for r in records] == events


def test_json_batches_are_decoded_too() -> None:
    events = _events(3)
    payload = json.dumps([e.__dict__ for e in events])
    assert [Event(**r) for r in decode_entry({"v": "j1", "n": "3", "d": payload})] == events


@pytest.mark.parametrize(
    "fields",
    [
        {"v": "m4", "n": "1", "d": b"\x00garbage"},
        {"v": "zz", "n": "1", "d": b""},
        {"v": "j1", "n": "2", "d": "[]"},
        {
            "v": "j1",
            "n": "1",
            "d": '[{"name": 1, "ts": 1, "user_id": null, "session_id": null, "attrs": {}}]',
        },
        {"other": "field"},
    ],
)
def test_malformed_entries_are_refused_not_guessed(fields: dict[str, Any]) -> None:
    with pytest.raises(MalformedEntryError):
        decode_entry(fields)
