"""What one opportunity costs to distribute: the whole fan-out to 100,000 users, and the Redis
commands behind each delivered push.

    python -m benchmarks.push_cost [--users 100000] [--push-users 1000]

Fan-out: `--users` Premium users with active sessions (so every one is eligible), two
UserQueueActor shards on Ray, the distributor reading the changes stream. Timed from the
opportunity being published (the engine's write to Redis) until the distributor has every
shard's answer, i.e. until each user's message is queued (MEDIUM: it waits for its digest) or
in the outbox (HIGH: it goes at once, through the release script). MEDIUM goes first and finds
every queue passive (in Redis only, as a new opportunity finds idle users): activating them is
timed. HIGH comes second, so its queues are active, each holding the MEDIUM item (HIGH first
would put every user in the cooldown, and MEDIUM would be refused by eligibility). Target:
<= 2 s. Baseline in the same run: one pipelined SET per user, the floor of writing anything
per user.

Commands per push: `--push-users` users each get one HIGH push through the whole pipeline
(shards, outbox, PushSender, emulator with limits off, acks back to the queues). Redis's
MONITOR sees every command; commands sent by a client (one EVALSHA is one) and all commands
(the ones scripts run inside included) are counted from publication until every ack reached
its queue, divided by the pushes delivered. Target: <= 5 client commands per push.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import ray

from actors.factory import create_distribution
from arbcast.consumers.distributor import Distributor
from arbcast.pushes import Pushes
from benchmarks.common import TOKEN, emulator, init_ray
from benchmarks.report import emit, table
from core.models import Opportunity, OpportunityType, Priority, Tier
from core.opportunity_store import OpportunityStore
from core.services import build_services
from core.settings import Settings
from core.store import keys
from core.store.client import connect
from core.store.embedded import EmbeddedRedis

FIRST_USER = 5_000_000
FANOUT_TARGET_S = 2.0
COMMANDS_TARGET = 5.0


def opportunity(oid: str, priority: Priority) -> Opportunity:
    now = time.time()
    return Opportunity(
        opportunity_id=oid, type=OpportunityType.ARBITRAGE, symbol="BTC/USDT",
        buy_exchange="binance", sell_exchange="okx", buy_price=100.0, sell_price=100.6,
        net_spread_pct=0.6, expected_profit_pct=0.6, confidence=0.8, priority=priority,
        detected_at=now, updated_at=now, expires_at=now + 900,
    )  # fmt: skip


def settings_for(tmp: Path, api_base: str = "http://127.0.0.1:9", **distribution: Any) -> Settings:
    return Settings(
        data_dir=tmp,
        telegram_bot_token=TOKEN,
        telegram={"api_base": api_base},
        ray={"namespace": f"bench-push-cost-{os.getpid()}", "call_timeout_seconds": 120},
        shards=2,
        distribution=distribution,
    )


async def seed(redis: Any, settings: Settings, user_ids: list[int]) -> None:
    """Premium users with active sessions, in batches (as many /start and /settier)."""
    services = build_services(redis, settings)
    for lo in range(0, len(user_ids), 2_000):
        batch = user_ids[lo : lo + 2_000]
        await asyncio.gather(*(services.profiles.ensure(u, f"u{u}") for u in batch))
        await asyncio.gather(*(services.profiles.set_tier(u, Tier.PREMIUM) for u in batch))
        await asyncio.gather(*(services.sessions.store.start(u, time.time()) for u in batch))


async def write_floor(redis: Any, n: int) -> float:
    """One pipelined SET per user: the least any per-user fan-out writes."""
    t0 = time.perf_counter()
    for lo in range(0, n, 10_000):
        async with redis.pipeline(transaction=False) as pipe:
            for i in range(lo, min(n, lo + 10_000)):
                pipe.set(f"bench:floor:{i}", "x", ex=60)
            await pipe.execute()
    return time.perf_counter() - t0


async def fanout(users: int, redis_url: str, tmp: Path) -> dict[str, float]:
    redis: Any = connect(redis_url)
    await redis.flushall()
    settings = settings_for(tmp, tick_seconds=60.0)  # no releases by ticks while timing
    ids = [FIRST_USER + i for i in range(users)]
    await seed(redis, settings, ids)
    shards = create_distribution(settings, redis_url)
    distributor = Distributor(redis, shards)
    stop = asyncio.Event()
    try:
        rows = await shards.start()
        assert rows == users, f"the shards loaded {rows} of {users} users"
        loop = asyncio.create_task(distributor.run(stop))
        store = OpportunityStore(redis, ttl=1800)
        out: dict[str, float] = {}
        for n, (oid, priority) in enumerate(
            (("bench-medium", Priority.MEDIUM), ("bench-high", Priority.HIGH)), start=1
        ):
            active = sum(s["active_queues"] for s in await shards.stats())
            assert active == (0 if n == 1 else users), f"{active} queues active before {oid}"
            t0 = time.perf_counter()
            await store.apply(opened=[opportunity(oid, priority)])
            await distributor.wait_fanned_out(n, timeout=600)
            out[priority.value] = time.perf_counter() - t0
        in_outbox = await redis.xlen(keys.outbox_stream(0, high=True))
        assert in_outbox == users, f"{in_outbox} of {users} HIGH messages in the outbox"
        queued = sum(s["pending"] for s in await shards.stats())
        assert queued == users, f"{queued} of {users} MEDIUM items queued"
        out["floor"] = await write_floor(redis, users)
        stop.set()
        await loop
    finally:
        stop.set()
        for client in shards.shards:
            client.kill()
        await redis.aclose()
    return out


async def commands_per_push(users: int, redis_url: str, api_base: str, tmp: Path) -> dict[str, Any]:
    redis: Any = connect(redis_url)
    await redis.flushall()
    settings = settings_for(
        tmp,
        api_base,
        rate_limits={"global_per_second": 1_000},
        delivery={"max_in_flight": 2_000, "max_concurrent_chats": 256, "block_ms": 200},
    )
    ids = [FIRST_USER + i for i in range(users)]
    await seed(redis, settings, ids)
    async with aiohttp.ClientSession() as http:
        for lo in range(0, users, 100):
            await asyncio.gather(
                *(
                    http.post(
                        f"{api_base}/emulator/users/{u}/messages",
                        json={"text": "hi", "bot_token": TOKEN},
                    )
                    for u in ids[lo : lo + 100]
                )
            )
        pushes = Pushes(settings, redis_url, redis)
        counts = {"client": 0, "script": 0}
        by_command: dict[str, int] = {}
        monitor_ready = asyncio.Event()

        async def watch() -> None:
            async with connect(redis_url).monitor() as m:
                monitor_ready.set()
                async for cmd in m.listen():
                    lua = cmd.get("client_type") == "lua"
                    counts["script" if lua else "client"] += 1
                    if not lua:
                        name = str(cmd.get("command", "")).split(" ", 1)[0].upper()
                        by_command[name] = by_command.get(name, 0) + 1

        try:
            await pushes.start()
            watcher = asyncio.create_task(watch())
            await monitor_ready.wait()
            t0 = time.perf_counter()
            await OpportunityStore(redis, ttl=1800).apply(
                opened=[opportunity("bench-push", Priority.HIGH)]
            )
            async with http.get(f"{api_base}/emulator/stats?min_sent={users}&timeout=600") as r:
                stats = await r.json()
            for _ in range(1200):  # the acks reach the queues shortly after: poll a counter
                if pushes.acks.recorded >= users:
                    break
                await asyncio.sleep(0.05)
            seconds = time.perf_counter() - t0
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        finally:
            await pushes.stop()
            pushes.kill()
            await redis.aclose()
    delivered = stats["messages_sent"]
    return {
        "delivered": delivered,
        "client": counts["client"] / delivered,
        "all": (counts["client"] + counts["script"]) / delivered,
        "seconds": seconds,
        "by_command": {
            k: v / delivered for k, v in sorted(by_command.items(), key=lambda kv: -kv[1])
        },
    }


async def run(users: int, push_users: int) -> tuple[dict[str, float], dict[str, Any]]:
    with (
        tempfile.TemporaryDirectory(prefix="arbcast-cost-", dir="/tmp") as tmp,
        emulator("off") as url,
    ):
        server = EmbeddedRedis(Path(tmp) / "redis")
        server.start()
        try:
            spread = await fanout(users, server.url, Path(tmp))
            cost = await commands_per_push(push_users, server.url, url, Path(tmp))
        finally:
            server.stop()
    return spread, cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--push-users", type=int, default=1_000)
    args = parser.parse_args()
    init_ray()
    try:
        spread, cost = asyncio.run(run(args.users, args.push_users))
    finally:
        ray.shutdown()
    table(
        f"whole fan-out of one opportunity to {args.users:,} eligible users (2 shards)",
        ["step", "seconds"],
        [
            ["MEDIUM: every user's item queued", spread["medium"]],
            ["HIGH: every user's message in the outbox", spread["high"]],
            ["baseline: one pipelined SET per user", spread["floor"]],
        ],
    )
    table(
        f"Redis commands per delivered push ({cost['delivered']:,} pushes)",
        ["counted", "per push"],
        [["sent by clients (EVALSHA = 1)", cost["client"]],
         ["all, inside scripts too", cost["all"]],
         *([f"  of which {k}", v] for k, v in cost["by_command"].items())],
    )  # fmt: skip
    emit("push_cost", "fanout_high_seconds", spread["high"], "s",
         baseline=spread["floor"], target=FANOUT_TARGET_S, higher_is_better=False)  # fmt: skip
    emit("push_cost", "fanout_medium_seconds", spread["medium"], "s",
         baseline=spread["floor"], target=FANOUT_TARGET_S, higher_is_better=False)  # fmt: skip
    emit("push_cost", "client_commands_per_push", cost["client"], "commands",
         baseline=None, target=COMMANDS_TARGET, higher_is_better=False)  # fmt: skip
    emit("push_cost", "all_commands_per_push", cost["all"], "commands",
         baseline=None, target=None, higher_is_better=False)  # fmt: skip


if __name__ == "__main__":
    main()
