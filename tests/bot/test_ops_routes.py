"""/metrics over HTTP from real apps on real Redis, after real activity: each figure is checked
against a count taken independently (what the test did, or Redis read directly). Also: the
webhook's latency histogram counts the webhook requests the emulator made."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from actors.rate_limiter import GlobalRateLimiter
from bot.ops_routes import create_ops_app
from core.clock import ManualClock
from core.metrics.actor_restarts import record_restart
from core.metrics.exposition import ProcessMetrics
from core.opportunity_store import OpportunityStore
from core.services import Services
from core.settings import Settings
from core.store.keys import (
    EVENTS_STREAM,
    OPPORTUNITY_CHANGES,
    OUTBOX_DEAD,
    outbox_delayed,
    outbox_stream,
    stream_dead,
)
from messaging.ops_figures import read_figures
from messaging.outbox.message import OutboxMessage
from messaging.outbox.store import Outbox
from tests.core.distribution.factories import opportunity

from .conftest import BotEnv

Samples = dict[str, dict[frozenset[tuple[str, str]], float]]


async def scrape(url: str) -> Samples:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await resp.text()
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, {})[frozenset(s.labels.items())] = s.value
    return out


def one(samples: Samples, name: str, **labels: str) -> float:
    return samples[name][frozenset(labels.items())]


def message(i: int, now: float, *, high: bool = False) -> OutboxMessage:
    return OutboxMessage(
        outgoing_id=f"m{i}",
        user_id=100 + i,
        chat_id=100 + i,
        text=f"hello {i}",
        priority="high" if high else "medium",
        created_at=now,
    )


async def test_metrics_show_what_redis_and_the_limiter_hold(
    redis: Any, redis_url: str, services: Services, settings: Settings, clock: ManualClock
) -> None:
    t0 = clock.now()
    # Opportunities: two live past the scrape, one that expires before it.
    store = OpportunityStore(redis, ttl=900)
    for opp_id, expires in (("a", t0 + 900), ("b", t0 + 900), ("c", t0 + 10)):
        await store.put(opportunity(opp_id, now=t0, expires_at=expires))
    # The outbox: 5 normal and 2 HIGH messages; 3 claimed, 2 of them sent, 1 put off.
    outbox = Outbox(redis, settings.distribution.delivery, clock=clock)
    await outbox.enqueue([message(i, t0, high=i >= 5) for i in range(7)])
    claimed = await outbox.claim("sender-test", 3)
    assert len(claimed) == 3
    for entry in claimed[:2]:
        assert await outbox.ack(entry, 1000)
    assert await outbox.retry_later(claimed[2], 60)
    # The changes stream: a group that read 2 of its entries.
    await redis.xgroup_create(OPPORTUNITY_CHANGES, "distribution", id="0")
    await redis.xreadgroup("distribution", "c1", {OPPORTUNITY_CHANGES: ">"}, count=2)
    # Dead letters, events the sink has not written, restarted actors, 429s.
    for i in range(2):
        await redis.xadd(OUTBOX_DEAD, {"m": "{}", "reason": f"r{i}"})
    await redis.xadd(stream_dead(OPPORTUNITY_CHANGES), {"error": "bad"})
    for i in range(4):
        await redis.xadd(EVENTS_STREAM, {"v": "j1", "n": 0, "d": f"[{i}]"})
    for _ in range(2):
        record_restart(redis_url, "push-sender-0")
    record_restart(redis_url, "user-queues-1")
    limiter = GlobalRateLimiter(settings, redis_url)
    for scope in ("global", "global", "global", "chat"):
        await limiter.report_429(1.0, scope, 100 if scope == "chat" else None)
    clock.advance(seconds=42)

    metrics = ProcessMetrics(lambda: read_figures(redis, settings, clock, limiter=limiter.stats))
    app = create_ops_app(settings, services, metrics=metrics)
    async with TestServer(app) as server:
        m = await scrape(str(server.make_url(settings.ops.metrics_path)))

    streams = [outbox_stream(0), outbox_stream(0, high=True)]
    waiting = sum([int(await redis.xlen(s)) for s in streams])
    assert waiting == 7 - 3  # the oracle of the test's own arithmetic, read back from Redis
    assert one(m, "arbcast_outbox_depth", lane="stream") == waiting
    assert one(m, "arbcast_outbox_depth", lane="delayed") == await redis.zcard(outbox_delayed(0))
    assert one(m, "arbcast_outbox_depth", lane="delayed") == 1
    assert one(m, "arbcast_outbox_oldest_age_seconds") == 42
    assert one(m, "arbcast_outbox_sent_total") == 2
    assert one(m, "arbcast_outbox_outcomes_total", outcome="retried") == 1
    assert one(m, "arbcast_send_limit_per_second") == settings.distribution.rate_limits.global_rate
    assert one(m, "arbcast_telegram_429_total", kind="global") == 3
    assert one(m, "arbcast_telegram_429_total", kind="chat") == 1
    changes = int(await redis.xlen(OPPORTUNITY_CHANGES))
    assert changes == 3
    group = {"stream": OPPORTUNITY_CHANGES, "group": "distribution"}
    assert one(m, "arbcast_stream_lag_entries", **group) == changes - 2
    assert one(m, "arbcast_stream_pending_entries", **group) == 2
    # The senders' group of the normal lane: the 1 normal message claimed has been put off.
    senders = {"stream": outbox_stream(0), "group": "senders"}
    assert one(m, "arbcast_stream_lag_entries", **senders) == await redis.xlen(outbox_stream(0))
    assert one(m, "arbcast_stream_pending_entries", **senders) == 0
    assert one(m, "arbcast_sink_lag_entries") == 4
    assert one(m, "arbcast_dead_letters", stream=OUTBOX_DEAD) == 2
    assert one(m, "arbcast_dead_letters", stream=stream_dead(OPPORTUNITY_CHANGES)) == 1
    assert one(m, "arbcast_actor_restarts_total", actor="push-sender-0") == 2
    assert one(m, "arbcast_actor_restarts_total", actor="user-queues-1") == 1
    assert one(m, "arbcast_opportunities_live") == 2
    memory = int((await redis.info("memory"))["used_memory"])
    assert 0.5 * memory < one(m, "arbcast_redis_used_memory_bytes") < 2 * memory
    assert all(v == 0 for v in m["arbcast_figures_unread"].values())
    assert set(dict(k)["part"] for k in m["arbcast_figures_unread"]) >= {"limiter", "outbox"}


async def test_the_webhook_histogram_counts_each_webhook_request(botenv: BotEnv) -> None:
    assert botenv.app is not None
    tg = botenv.services.settings.telegram
    url = f"http://{tg.webhook_host}:{tg.webhook_port}/metrics"
    before = await scrape(url)
    assert one(before, "arbcast_webhook_request_duration_seconds_count") == 0
    for text in ("/start", "/help", "/status"):
        await botenv.send(42, text)
    after = await scrape(url)
    assert one(after, "arbcast_webhook_request_duration_seconds_count") == 3
    buckets: Mapping[frozenset[tuple[str, str]], float] = after[
        "arbcast_webhook_request_duration_seconds_bucket"
    ]
    assert buckets[frozenset({("le", "+Inf")})] == 3
    assert one(after, "arbcast_webhook_request_duration_seconds_sum") > 0
