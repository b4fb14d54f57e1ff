"""The opportunity engine: market updates processed per coordinator, and the latency from a book
update to its opportunity being published in Redis.

    python -m benchmarks.opportunity [--steps 300] [--symbols 20]

The engine runs for real: the market-data actor steps the simulated market (4 exchanges) and fans
each batch out to the 6 pair coordinators on Ray, which validate, score and publish to Redis.
Baseline: the same batches through the same `PairCoordinatorLogic` in this process, with no Ray
and no Redis, i.e. the logic's own ceiling; the ratio shows what hosting costs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path

import ray

from actors.factory import create_engine, exchange_pairs
from benchmarks.report import emit, percentile, table
from core.market.models import ExchangeInfo
from core.market.simulator import DEFAULT_SYMBOLS, MarketSimSettings, SimulatedMarket
from core.opportunity.coordinator import PairCoordinatorLogic
from core.settings import Settings
from core.store.client import connect
from core.store.embedded import EmbeddedRedis

START = 1_767_225_600.0


def baseline(settings: Settings, steps: int) -> tuple[float, int]:
    """Updates per second per coordinator for the plain logic, and updates routed in total."""
    market = SimulatedMarket(settings.market)
    infos = {x.name: ExchangeInfo(x.name, x.taker_fee) for x in settings.market.exchanges}
    logics = [PairCoordinatorLogic(p, infos, settings.engine) for p in exchange_pairs(settings)]
    batches = [market.step(START + i) for i in range(steps)]
    routed = 0
    busy = 0.0
    for i, batch in enumerate(batches):
        for logic in logics:
            mine = [u for u in batch if u.exchange in logic.pair]
            t = time.perf_counter()
            logic.on_updates(mine, START + i)
            busy += time.perf_counter() - t
            routed += len(mine)
    return routed / busy, routed


async def engine_run(settings: Settings, url: str, steps: int) -> tuple[float, list[float], int]:
    engine = create_engine(settings, url)
    try:
        await engine.run_steps(START - 20, 20)  # warm-up: actors up, caches filled
        t = time.perf_counter()
        results = await engine.run_steps(START, steps)
        wall = time.perf_counter() - t
        opened = sum(r.opened for r in results)
        updates = sum(r.updates for r in results)
        # Each update goes to the n-1 pairs of its exchange, of n(n-1)/2: 2/n of them each.
        per_coordinator = updates * 2 / len(settings.market.exchanges) / wall
        return per_coordinator, [r.latency_s * 1000 for r in results], opened
    finally:
        engine.kill()


async def main(steps: int, symbols: int) -> None:
    market = MarketSimSettings(symbols=DEFAULT_SYMBOLS[:symbols])
    with (
        tempfile.TemporaryDirectory(prefix="arbcast-bench-") as tmp,
        EmbeddedRedis(Path(tmp)) as server,
    ):
        settings = Settings(data_dir=Path(tmp), market=market)
        await connect(server.url).flushall()
        base_rate, _ = baseline(settings, steps)
        ray.init(
            num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False
        )
        try:
            rate, latencies, opened = await engine_run(settings, server.url, steps)
        finally:
            ray.shutdown()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    table(
        f"Opportunity engine: {len(market.exchanges)} exchanges, {symbols} symbols, "
        f"{steps} batches",
        ["figure", "value"],
        [
            ("updates/s per coordinator, on Ray + Redis", rate),
            ("updates/s per coordinator, plain logic (baseline)", base_rate),
            ("book update → published, p50 ms", p50),
            ("book update → published, p99 ms", p99),
            ("opportunities opened", float(opened)),
        ],
    )
    emit(
        "opportunity",
        "latency_p50_ms",
        p50,
        "ms",
        baseline=None,
        target=None,
        higher_is_better=False,
    )
    emit(
        "opportunity",
        "latency_p99_ms",
        p99,
        "ms",
        baseline=None,
        target=None,
        higher_is_better=False,
    )
    emit(
        "opportunity",
        "updates_per_s_per_coordinator",
        rate,
        "updates/s",
        baseline=base_rate,
        target=None,
        higher_is_better=True,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--symbols", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.steps, args.symbols))
