"""Session validation latency: what the session gate pays per update.

    python -m benchmarks.session [--sessions 10000 100000] [--lookups 20000]

For N active sessions in a real (embedded) Redis it measures, per lookup of a random user:
- `cached`: the gate's path when this process has seen the user (the common case);
- `uncached`: a cold lookup (cache miss: one HGETALL), e.g. the first update after a restart;
- `gate`: validation plus recording the activity, i.e. everything the gate does;
- baseline: one plain Redis GET over the same connection.
Target: validation p99 at most 1 ms. The JSON line reports the gate's p99 against the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from benchmarks.report import emit, summary, table
from core.events import MemoryEventLog
from core.services import build_services
from core.settings import Settings
from core.store.client import connect
from core.store.embedded import EmbeddedRedis

TARGET_P99_US = 1000.0


async def _populate(svc_redis: object, services: object, n: int) -> None:
    from core.services import Services

    assert isinstance(services, Services)
    batch = 2_000
    for lo in range(1, n + 1, batch):
        await asyncio.gather(
            *(
                services.sessions.store.start(uid, services.clock.now())
                for uid in range(lo, min(n + 1, lo + batch))
            )
        )


async def measure(n: int, lookups: int, url: str) -> dict[str, dict[str, float]]:
    redis = connect(url)
    await redis.flushall()
    settings = Settings(data_dir=Path(tempfile.gettempdir()))
    services = build_services(redis, settings, events=MemoryEventLog())
    await _populate(redis, services, n)
    await redis.set("bench:plain", "x")
    rng = random.Random(7)
    users = [rng.randint(1, n) for _ in range(lookups)]
    out: dict[str, list[float]] = {"baseline_get": [], "uncached": [], "cached": [], "gate": []}

    for _ in users:
        t = time.perf_counter()
        await redis.get("bench:plain")
        out["baseline_get"].append((time.perf_counter() - t) * 1e6)
    for uid in users:
        services.sessions.cache.invalidate(uid)
        t = time.perf_counter()
        await services.sessions.active(uid)
        out["uncached"].append((time.perf_counter() - t) * 1e6)
    for uid in users:
        await services.sessions.active(uid)  # warm
    for uid in users:
        t = time.perf_counter()
        await services.sessions.active(uid)
        out["cached"].append((time.perf_counter() - t) * 1e6)
    for uid in users:
        t = time.perf_counter()
        s = await services.sessions.active(uid)
        assert s is not None
        services.sessions.record_activity(s, command=True)
        out["gate"].append((time.perf_counter() - t) * 1e6)
    flush_t = time.perf_counter()
    await services.sessions.activity.flush()
    flush_ms = (time.perf_counter() - flush_t) * 1e3
    await redis.aclose()
    result = {k: summary(v) for k, v in out.items()}
    result["flush"] = {
        "n": float(len(set(users))),
        "mean": flush_ms,
        "p50": flush_ms,
        "p99": flush_ms,
        "max": flush_ms,
    }
    return result


async def main(sizes: list[int], lookups: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="arbcast-bench-") as tmp,
        EmbeddedRedis(Path(tmp)) as server,
    ):
        results = {n: await measure(n, lookups, server.url) for n in sizes}
    rows: list[tuple[object, ...]] = []
    for n, r in results.items():
        for name in ("baseline_get", "uncached", "cached", "gate"):
            s = r[name]
            rows.append((f"{n:,} sessions · {name}", s["p50"], s["p99"], s["mean"]))
        rows.append(
            (f"{n:,} sessions · activity flush (ms, all users)", r["flush"]["mean"], "", "")
        )
    table("Session validation (µs per lookup)", ["path", "p50 µs", "p99 µs", "mean µs"], rows)
    for n, r in results.items():
        for q in ("p50", "p99"):
            if n == max(results) and q == "p99":
                continue  # the headline figure goes last, below
            emit(
                "session",
                f"validation_{q}_us_{n}",
                r["gate"][q],
                "us",
                baseline=r["baseline_get"][q],
                target=None,
                higher_is_better=False,
            )
    largest = results[max(results)]
    emit(
        "session",
        f"validation_p99_us_{max(results)}",
        largest["gate"]["p99"],
        "us",
        baseline=largest["baseline_get"]["p99"],
        target=TARGET_P99_US,
        higher_is_better=False,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--lookups", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(main(args.sessions, args.lookups))
