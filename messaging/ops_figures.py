"""Reads the operational figures (`core.metrics.figures.OpsFigures`) from Redis, and from the
GlobalRateLimiter when the process runs the push pipeline: once per /metrics scrape and once per
alert check, never per update.

Stores are asked where one owns the figure (`Outbox.stats`, `OpportunityStore.live`); streams
and Redis itself are read with introspection commands only (XINFO, XLEN, INFO). Each part has
its own timeout: a slow part is left out and named, so /metrics still answers.

Stream lag per consumer group is Redis 7's ``lag``; where Redis cannot say (6.2, or a stream
with deleted entries, as the outbox's) the entries after the group's last delivered id are
counted, up to `LAG_COUNT_CAP`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from core.clock import Clock
from core.metrics.actor_restarts import read_restarts
from core.metrics.figures import GroupLag, OpsFigures
from core.opportunity_store import OpportunityStore
from core.settings import Settings
from core.store.keys import (
    EVENTS_STREAM,
    OPPORTUNITY_CHANGES,
    OUTBOX_ACKS,
    OUTBOX_DEAD,
    outbox_stream,
    stream_dead,
)
from messaging.outbox.store import Outbox

log = logging.getLogger(__name__)

T = TypeVar("T")
LimiterStats = Callable[[], Awaitable[Mapping[str, Any]]]

LAG_COUNT_CAP = 1_000
DEAD_LETTER_STREAMS = (
    OUTBOX_DEAD,
    stream_dead(OPPORTUNITY_CHANGES),
    stream_dead(OUTBOX_ACKS),
    stream_dead(EVENTS_STREAM),
)
_SIZES = ("backlog", "delayed", "stranded", "dead_letters")


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def grouped_streams(settings: Settings) -> list[str]:
    """The streams read by consumer groups: opportunity changes (distributor), outbox acks
    (ack router), events (the sink) and each outbox partition's two lanes (senders)."""
    partitions = range(settings.distribution.delivery.senders)
    lanes = [outbox_stream(p, high=h) for p in partitions for h in (True, False)]
    return [OPPORTUNITY_CHANGES, OUTBOX_ACKS, EVENTS_STREAM, *lanes]


async def read_figures(
    redis: Redis, settings: Settings, clock: Clock, *, limiter: LimiterStats | None = None
) -> OpsFigures:
    now = clock.now()
    f = OpsFigures(at=now, send_limit_per_second=settings.distribution.rate_limits.global_rate)
    timeout = settings.ops.scrape_timeout_seconds

    async def part(name: str, read: Awaitable[T]) -> T | None:
        f.parts.append(name)
        try:
            async with asyncio.timeout(timeout):
                return await read
        except Exception as exc:
            log.warning("metrics: could not read %s: %s", name, exc)
            f.failed.append(name)
            return None

    outbox = Outbox(redis, settings.distribution.delivery)
    opportunities = OpportunityStore(redis, ttl=settings.opportunities.ttl_seconds)
    # Started together, awaited one by one (so each keeps its type): one scrape's round trips
    # overlap.
    task = asyncio.ensure_future
    stats_t = task(part("outbox", outbox.stats()))
    oldest_t = task(part("outbox_age", _oldest_created(redis, settings)))
    dead_t = task(part("dead_letters", _lengths(redis, DEAD_LETTER_STREAMS)))
    groups_t = task(part("groups", _groups(redis, grouped_streams(settings))))
    sink_t = task(part("sink", _xlen(redis, EVENTS_STREAM)))
    memory_t = task(part("redis_memory", _memory(redis)))
    live_t = task(part("opportunities", opportunities.live(now)))
    restarts_t = task(part("actor_restarts", read_restarts(redis)))
    limited_t = task(part("limiter", limiter()) if limiter is not None else _none())
    stats, oldest, dead, groups = await stats_t, await oldest_t, await dead_t, await groups_t
    sink, memory, live, restarts = await sink_t, await memory_t, await live_t, await restarts_t
    limited = await limited_t
    if stats is not None:
        f.outbox_counters = {k: v for k, v in stats.items() if k not in _SIZES}
        f.outbox_depth = {"stream": stats["backlog"], "delayed": stats["delayed"]}
        if stats["stranded"]:
            f.outbox_depth["stranded"] = stats["stranded"]
    if oldest is not None:
        f.outbox_oldest_age_seconds = max(0.0, now - oldest) if oldest else 0.0
    f.dead_letters, f.groups, f.sink_lag_entries = dead, groups, sink
    if memory is not None:
        f.redis_used_memory_bytes, f.redis_max_memory_bytes = memory
    f.opportunities_live = None if live is None else len(live)
    f.actor_restarts = restarts
    if limited is not None:
        f.send_limit_per_second = float(limited.get("rate") or f.send_limit_per_second)
        f.telegram_429 = {k: int(v) for k, v in (limited.get("refused_429") or {}).items()}
    return f


async def _none() -> Mapping[str, Any] | None:
    return None


async def _xlen(redis: Redis, stream: str) -> int:
    return int(await redis.xlen(stream))


async def _lengths(redis: Redis, streams: tuple[str, ...]) -> dict[str, int]:
    async with redis.pipeline(transaction=False) as pipe:
        for s in streams:
            pipe.xlen(s)
        sizes = await pipe.execute()
    return {s: int(n) for s, n in zip(streams, sizes, strict=True)}


async def _memory(redis: Redis) -> tuple[int, int]:
    info = await redis.info("memory")
    return int(info["used_memory"]), int(info.get("maxmemory", 0))


async def _oldest_created(redis: Redis, settings: Settings) -> float:
    """The `created_at` of the oldest message waiting in the outbox's streams (0: none). Read
    from the message, not the entry id, so that the injected clock measures the age."""
    oldest = 0.0
    for p in range(settings.distribution.delivery.senders):
        for high in (True, False):
            for _eid, fields in await redis.xrange(outbox_stream(p, high=high), count=1):
                raw = next((v for k, v in fields.items() if _text(k) == "m"), None)
                try:
                    created = float(json.loads(_text(raw))["created_at"])
                except (TypeError, ValueError, KeyError):
                    continue  # malformed: the sender dead-letters it
                oldest = created if not oldest else min(oldest, created)
    return oldest


async def _groups(redis: Redis, streams: list[str]) -> list[GroupLag]:
    out: list[GroupLag] = []
    for stream in streams:
        try:
            groups = await redis.xinfo_groups(stream)
        except ResponseError:
            continue  # no such stream yet: nobody has written or read it
        for g in groups:
            info = {_text(k): v for k, v in g.items()}
            lag = info.get("lag")
            if lag is None:
                lag = await _count_after(redis, stream, _text(info["last-delivered-id"]))
            out.append(GroupLag(stream, _text(info["name"]), int(lag), int(info["pending"])))
    return out


async def _count_after(redis: Redis, stream: str, last_delivered: str) -> int:
    rows = await redis.xrange(stream, min=f"({last_delivered}", count=LAG_COUNT_CAP)
    return len(rows)
