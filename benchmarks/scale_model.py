"""The scale model of docs/scaling.md: unit costs measured here at small size, the sizing of
10k, 100k and 1M active users derived from them, and the 10k row checked against a 10k run.

    python -m benchmarks.scale_model [--unit-users 1000 3000] [--check-users 10000]
                                     [--tolerance 0.5] [--sizes 10000 100000 1000000]

Every unit cost comes from an existing benchmark's own functions (nothing re-implemented):
shard memory and evaluation per user (`population.build`, `fanout.measure_columnar`), the
fan-out to the outbox per user (`push_cost.fanout`, at two sizes: slope and fixed part), Redis
commands per push (`push_cost.commands_per_push`), sender time per message
(`pipeline.phase`, limits off, one sender), bot time and Redis commands per update
(`webhook.measure` with the bot on a Redis this process counts), Parquet bytes per event
(`analytics_lake.generate_lake`). `derive` is the formulas of docs/scaling.md. The check runs
the size-dependent parts again at `--check-users` and compares with the prediction; the last
line is the JSON line, "met" when every check is within `--tolerance` (relative).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import tempfile
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ray

from analytics.storage import Storage
from benchmarks import analytics_lake, fanout, pipeline, population, push_cost, webhook
from benchmarks.common import emulator, init_ray
from benchmarks.report import table
from core.models import OpportunityType, Tier
from core.settings import Settings, TierLimits
from core.store.client import connect
from core.store.embedded import EmbeddedRedis

DAY_S = 86_400
MEASURED_SHARDS = 2  # push_cost.settings_for: the fan-out unit cost is measured with 2 shards
GIB = 2**30


@dataclass(frozen=True)
class Units:
    """Per-component costs, each measured on this machine (seconds are wall time on a shared
    2-core box: an upper bound of the CPU they stand for)."""

    shard_bytes_per_user: float
    evaluate_s_per_user: float
    release_s_per_user: float  # HIGH: publication -> message in the outbox, 2 shards
    release_fixed_s: float
    queue_s_per_user: float  # MEDIUM: publication -> item queued for its digest
    queue_fixed_s: float
    redis_bytes_per_user: float  # profile, session, quota, one pending push
    sender_s_per_message: float
    bot_s_per_update: float
    redis_client_cmds_per_push: float  # MONITOR, EVALSHA = 1 (push_cost's own count)
    redis_cmds_per_push: float  # INFO: every command of a push run, scripts' inner ones too
    redis_cmds_per_update: float
    parquet_bytes_per_event: float


@dataclass(frozen=True)
class Assumptions:
    """What the model cannot measure; docs/scaling.md states why each value."""

    tier_mix: dict[Tier, float] = field(
        default_factory=lambda: {
            Tier.FREE: 0.80, Tier.BASIC: 0.12, Tier.PREMIUM: 0.06, Tier.ENTERPRISE: 0.02
        }
    )  # fmt: skip
    cap_use: float = 1.0  # share of its daily cap a user gets: 1.0 plans for the worst case
    updates_per_user_day: float = 10.0
    peak_factor: float = 3.0  # busiest hour over the day's average
    window_s: float = 60.0  # a spread's useful life: delivered later, it is worthless
    opportunities_per_s: float = 1.0  # each one evaluated against every user of a shard
    events_per_push: float = 3.0  # queued/released, sent, acked
    events_per_update: float = 2.0  # audit + session/engagement
    utilisation: float = 0.7  # of a core, before a process counts as full
    shard_bytes_budget: float = 2 * GIB
    fanout_target_s: float = push_cost.FANOUT_TARGET_S
    process_bytes: float = 250e6  # one Python process with aiogram/ray loaded
    redis_ops_per_core: float = 100_000.0
    cores_per_node: int = 8
    free_rate: float = 30.0  # Telegram, per bot, broadcast
    paid_rate: float = 1_000.0  # allow_paid_broadcast, per bot
    stars_per_paid_message: float = 0.1


def derive(u: Units, a: Assumptions, n: int, tiers: dict[Tier, TierLimits]) -> dict[str, float]:
    """The sizing of `n` active users (formulas in docs/scaling.md, same names)."""
    mix = a.tier_mix
    alerts = sum(s * tiers[t].daily_cap * a.cap_use for t, s in mix.items())
    instant = sum(
        s for t, s in mix.items()
        if OpportunityType.ARBITRAGE in tiers[t].opportunity_types and not tiers[t].delay_seconds
    )  # fmt: skip
    revenue = sum(s * tiers[t].stars_per_month for t, s in mix.items())  # Stars/user/month
    pushes_day = n * alerts
    push_peak = pushes_day / DAY_S * a.peak_factor
    updates_peak = n * a.updates_per_user_day / DAY_S * a.peak_factor
    burst = n * instant  # one spread, every user who may get it at once
    needed = max(push_peak, burst / a.window_s)
    deliver = min(needed, a.paid_rate)
    free_cap = a.free_rate * a.window_s
    billed = (
        0.0 if burst <= free_cap else burst - a.free_rate * max(a.window_s, burst / a.paid_rate)
    )
    bursts_day = pushes_day / burst if burst else 0.0
    stars_day = a.stars_per_paid_message * max(
        billed * bursts_day, pushes_day - a.free_rate * DAY_S, 0.0
    )
    shard_s = MEASURED_SHARDS * u.release_s_per_user  # one shard's time per user released
    released = max(push_peak, deliver)  # releasing faster than Telegram takes gains nothing
    shard_cpu = n * u.evaluate_s_per_user * a.opportunities_per_s + released * shard_s
    shards = max(
        1,
        math.ceil(n * u.shard_bytes_per_user / a.shard_bytes_budget),
        math.ceil(shard_cpu / a.utilisation),
    )
    shards_2s = max(shards, math.ceil(burst * shard_s / a.fanout_target_s))
    senders = max(1, math.ceil(deliver * u.sender_s_per_message / a.utilisation))
    bots = max(1, math.ceil(updates_peak * u.bot_s_per_update / a.utilisation))
    update_ops = updates_peak * u.redis_cmds_per_update
    redis_ops = released * u.redis_cmds_per_push + update_ops
    redis_ops_2s = burst * u.redis_cmds_per_push / a.fanout_target_s + update_ops

    def redis_cores_for(ops: float) -> int:
        return max(1, math.ceil(ops / (a.redis_ops_per_core * a.utilisation)))

    redis_cores = redis_cores_for(redis_ops)
    processes = shards + senders + bots + 1  # + the leader: engine, sweeper, sink
    memory = n * (u.shard_bytes_per_user + u.redis_bytes_per_user) + processes * a.process_bytes
    cores = processes + redis_cores
    events_day = pushes_day * a.events_per_push + n * a.updates_per_user_day * a.events_per_update
    return {
        "users": n, "alerts_per_user_day": alerts, "pushes_per_day": pushes_day,
        "push_peak_per_s": push_peak, "updates_peak_per_s": updates_peak,
        "burst_recipients": burst, "burst_free_s": burst / a.free_rate,
        "burst_paid_s": burst / a.paid_rate,
        "free_limit_binds": float(burst > free_cap or push_peak > a.free_rate),
        "paid_limit_binds": float(needed > a.paid_rate),
        "bots_for_window": math.ceil(needed / a.paid_rate), "deliver_per_s": deliver,
        "stars_per_day": stars_day, "stars_per_month": 30 * stars_day,
        "subscription_stars_per_month": n * revenue,
        "shards": shards, "fanout_s": u.release_fixed_s + burst * shard_s / shards,
        "shards_for_2s_fanout": shards_2s, "redis_ops_per_s_2s_fanout": redis_ops_2s,
        "redis_cores_2s_fanout": redis_cores_for(redis_ops_2s),
        "senders": senders, "bot_processes": bots, "redis_ops_per_s": redis_ops,
        "redis_cores": redis_cores, "memory_gib": memory / GIB, "cores": cores,
        "nodes": math.ceil(cores / a.cores_per_node),
        "parquet_gib_per_day": events_day * u.parquet_bytes_per_event / GIB,
    }  # fmt: skip


# --- measuring --------------------------------------------------------------------------------


def shard_bytes(n: int) -> float:
    """Bytes the shard's columns of `n` users hold (tracemalloc: numpy reports to it)."""
    tracemalloc.start()
    cols = population.build(n, time.time())
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del cols
    return float(held)


def evaluate_s(n: int) -> float:
    return float(fanout.measure_columnar(fanout.users(n), repeats=5)["evaluate_s"])


async def _gone(names: list[str], namespace: str) -> None:
    """Wait until killed named actors are gone, so the next run creates fresh ones."""
    for _ in range(600):
        alive = []
        for name in names:
            try:
                ray.get_actor(name, namespace=namespace)
                alive.append(name)
            except ValueError:
                pass
        if not alive:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"actors {names} still alive after kill: restart Ray and run again")


async def spread(n: int, redis_url: str, tmp: Path) -> dict[str, float]:
    """push_cost's fan-out of one MEDIUM and one HIGH to `n` users, plus Redis bytes per user
    left afterwards (profile, session, quota, queue state, one outbox entry each)."""
    redis: Any = connect(redis_url)
    await redis.flushall()
    empty = (await redis.info("memory"))["used_memory"]
    out = await push_cost.fanout(n, redis_url, tmp)
    out["redis_bytes"] = ((await redis.info("memory"))["used_memory"] - empty) / n
    await redis.aclose()
    await _gone(["user-queues-0", "user-queues-1"], f"bench-push-cost-{os.getpid()}")
    return out


async def _total(url: str) -> int:
    """Commands Redis has run, those inside scripts included (INFO total_commands_processed)."""
    redis: Any = connect(url)
    total = int((await redis.info("stats"))["total_commands_processed"])
    await redis.aclose()
    return total


async def seed_commands(n: int, url: str, tmp: Path) -> int:
    """Commands push_cost's seeding of `n` users runs (subtracted from the per-push count)."""
    redis: Any = connect(url)
    await redis.flushall()
    before = await _total(url)
    ids = [push_cost.FIRST_USER + i for i in range(n)]
    await push_cost.seed(redis, push_cost.settings_for(tmp), ids)
    await redis.aclose()
    return await _total(url) - before - 1


async def best_spread(n: int, repeats: int, url: str, tmp: Path) -> dict[str, float]:
    """The fastest of `repeats` fan-outs (the least disturbed by other work on the machine)."""
    runs = [await spread(n, url, tmp) for _ in range(repeats)]
    return {k: min(r[k] for r in runs) for k in runs[0]}


def webhook_costs(seconds: float) -> tuple[float, float]:
    """(bot seconds per update, Redis commands per update): `webhook.measure` with the bot on
    a Redis of ours (REDIS_URL), its commands counted around the run."""
    with tempfile.TemporaryDirectory(prefix="arbcast-scale-", dir="/tmp") as tmp:
        with EmbeddedRedis(Path(tmp)) as server:
            before = asyncio.run(_total(server.url))
            os.environ["REDIS_URL"] = server.url
            try:
                r = webhook.measure(users=8, duration=seconds)["bot"]
            finally:
                del os.environ["REDIS_URL"]
            after = asyncio.run(_total(server.url))
    return 1 / r["rps"], (after - before) / max(1.0, r["requests"])


def parquet_bytes(events: int) -> float:
    with tempfile.TemporaryDirectory(prefix="arbcast-scale-lake-", dir="/tmp") as tmp:
        rows = analytics_lake.generate_lake(Storage.local(Path(tmp), fsync=False), events, days=1)
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*.parquet"))
    return size / sum(rows.values())


async def ray_costs(args: argparse.Namespace) -> tuple[dict[str, float], dict[str, float]]:
    """(unit costs, the 10k check's measurements) of everything that runs on Ray."""
    lo, hi = args.unit_users
    with (
        tempfile.TemporaryDirectory(prefix="arbcast-scale-", dir="/tmp") as tmp,
        emulator("off") as url,
        EmbeddedRedis(Path(tmp) / "redis") as server,
    ):
        small = await best_spread(lo, args.repeats, server.url, Path(tmp))
        big = await best_spread(hi, args.repeats, server.url, Path(tmp))
        # Before any pipeline phase: commands_per_push reads the emulator's count of messages
        # sent, which only a phase's reset clears.
        seeding = await seed_commands(args.push_users, server.url, Path(tmp))
        before = await _total(server.url)
        cmds = await push_cost.commands_per_push(args.push_users, server.url, url, Path(tmp))
        run_cmds = await _total(server.url) - before - 1  # less our own INFO
        if cmds["delivered"] != args.push_users:
            raise RuntimeError(
                f"the emulator counted {cmds['delivered']} messages for {args.push_users} "
                "pushes: the push run needs an emulator that has sent nothing yet"
            )
        send = await pipeline.phase(url, "off", args.messages, 100_000, server.url, Path(tmp))
        n = args.check_users
        check = await best_spread(n, args.repeats, server.url, Path(tmp)) if n else {}
        sent = (
            await pipeline.phase(url, "off", args.check_users, 100_000, server.url, Path(tmp))
            if args.check_users else {}
        )  # fmt: skip
    slope = {k: max(0.0, (big[k] - small[k]) / (hi - lo)) for k in ("high", "medium")}
    units = {
        "release_s_per_user": slope["high"],
        "release_fixed_s": max(0.0, small["high"] - slope["high"] * lo),
        "queue_s_per_user": slope["medium"],
        "queue_fixed_s": max(0.0, small["medium"] - slope["medium"] * lo),
        "redis_bytes_per_user": big["redis_bytes"],
        "sender_s_per_message": send["seconds"] / send["messages"],
        "redis_client_cmds_per_push": cmds["client"],
        "redis_cmds_per_push": (run_cmds - seeding) / cmds["delivered"],
    }
    measured = {}
    if check:
        measured = {"fanout_high_s": check["high"], "fanout_medium_s": check["medium"],
                    "redis_bytes": check["redis_bytes"] * args.check_users,
                    "send_s": sent["seconds"]}  # fmt: skip
    return units, measured


def predicted_check(u: Units, n: int) -> dict[str, float]:
    """What the unit costs predict for the check run (2 shards, one sender, as measured)."""
    return {
        "fanout_high_s": u.release_fixed_s + n * u.release_s_per_user,
        "fanout_medium_s": u.queue_fixed_s + n * u.queue_s_per_user,
        "redis_bytes": n * u.redis_bytes_per_user,
        "send_s": n * u.sender_s_per_message,
        "shard_bytes": n * u.shard_bytes_per_user,
        "evaluate_s": n * u.evaluate_s_per_user,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--unit-users", type=int, nargs=2, default=[2_000, 5_000])
    p.add_argument("--repeats", type=int, default=2, help="fan-outs per size, fastest kept")
    p.add_argument("--check-users", type=int, default=10_000, help="0: no check run")
    p.add_argument("--tolerance", type=float, default=0.5)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--messages", type=int, default=2_000, help="sender unit run")
    p.add_argument("--push-users", type=int, default=1_000, help="Redis commands per push run")
    p.add_argument("--webhook-seconds", type=float, default=5.0)
    p.add_argument("--events", type=int, default=200_000, help="Parquet bytes per event run")
    args = p.parse_args(argv)
    hi = args.unit_users[1]
    bot_s, cmds_update = webhook_costs(args.webhook_seconds)
    init_ray()
    try:
        on_ray, measured = asyncio.run(ray_costs(args))
    finally:
        ray.shutdown()
    units = Units(
        shard_bytes_per_user=shard_bytes(hi) / hi, evaluate_s_per_user=evaluate_s(hi) / hi,
        bot_s_per_update=bot_s, redis_cmds_per_update=cmds_update,
        parquet_bytes_per_event=parquet_bytes(args.events), **on_ray,
    )  # fmt: skip
    n = args.check_users
    if n:
        measured |= {"shard_bytes": shard_bytes(n), "evaluate_s": evaluate_s(n)}
    check = {
        k: {"measured": m, "predicted": pr, "error": m / pr - 1 if pr else math.inf}
        for k, m in measured.items() for pr in [predicted_check(units, n)[k]]
    }  # fmt: skip
    for c in check.values():
        c["within"] = abs(c["error"]) <= args.tolerance
    tiers = Settings().tiers
    rows = {str(size): derive(units, Assumptions(), size, tiers) for size in sorted(args.sizes)}
    table("unit costs", ["unit", "value"], [[k, f"{v:.4g}"] for k, v in asdict(units).items()])
    table(
        f"check at {n:,} users (tolerance ±{args.tolerance:.0%})",
        ["quantity", "measured", "predicted", "error", "within"],
        [[k, f"{c['measured']:.4g}", f"{c['predicted']:.4g}", f"{c['error']:+.0%}", c["within"]]
         for k, c in check.items()],
    )  # fmt: skip
    names = list(next(iter(rows.values())))
    table(
        "scale model", ["", *rows], [[k, *(f"{r[k]:,.4g}" for r in rows.values())] for k in names]
    )
    worst = max((abs(c["error"]) for c in check.values()), default=math.nan)
    line: dict[str, Any] = {
        "benchmark": "scale_model", "metric": f"check_{n}_worst_relative_error",
        "value": round(worst, 3), "unit": "ratio", "baseline": None, "ratio": None,
        "target": args.tolerance, "met": bool(check) and all(c["within"] for c in check.values()),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "load": os.getloadavg(),
        "units": asdict(units), "check": check, "predicted": rows,
    }  # fmt: skip
    print(json.dumps(line, default=str))
    return line


if __name__ == "__main__":
    main()
