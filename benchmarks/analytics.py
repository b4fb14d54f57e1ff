"""Analytics benchmark: sink ingest cost inside the bot process, and report latency.

    python -m benchmarks.analytics                 # 1M events ingested, reports over 1M rows
    python -m benchmarks.analytics --report-events 10000000   # the 10M-row report case

Ingest: events are built first (that is the caller's cost), then timed: `emit()` of each and
`flush()` every `flush_max_events`, to a real redis-server, as the bot's flusher does. Events/s
is events over the bot process's CPU seconds (redis-server's time is not ours). Baseline: the
previous transport, one XADD per event carrying JSON, pipelined per batch, on the same events.
The sink process's own throughput (stream to Parquet) is printed too.

Reports: events generated directly as Parquet (compacted layout, one file per table and hour,
7 days), then each report timed through the DuckDB views (median of 3 runs).

Dashboard time series: the 7-day series over the same lake, read from the hourly rollups (what
a refresh does) against the same series computed from the raw rows of every hour (what a
refresh would do without the rollup job): the same-run baseline. The rollup job's pass over
the whole lake is printed too. The sessions report
has a same-run baseline: its previous query (DAU and WAU from one row per user and day and a
7-day range join), kept below only for this comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analytics.duck import connect, fetch
from analytics.reports import REPORTS, Window, run_report
from analytics.rollups import update_rollups
from analytics.schemas import TABLES, partition_path
from analytics.settings import AnalyticsSettings
from analytics.sink import ParquetSink
from analytics.storage import Storage
from analytics.timeseries import compute_timeseries
from benchmarks.report import emit, table
from core.events import Event, EventName, RedisEventLog
from core.store import keys
from core.store.client import connect as redis_connect
from core.store.embedded import EmbeddedRedis

T0 = 1_767_225_600.0  # 2026-01-01 UTC
KINDS: list[tuple[str, dict[str, str | int | float | bool]]] = [
    (
        "audit.command",
        {"command": "/opportunities", "allowed": True, "reason": "active", "chat_type": "private"},
    ),
    (
        "distribution.sent",
        {
            "opportunity_id": "arb-BTC-binance-okx",
            "type": "arbitrage",
            "priority": "high",
            "tier": "premium",
            "kind": "send",
            "items": 1,
            "opportunity_ids": "arb-BTC-binance-okx",
            "latency_ms": 41.5,
            "detection_latency_ms": 5230.0,
        },
    ),
    (
        "session.expired",
        {"reason": "inactivity", "length_s": 5123.25, "commands": 12, "opportunities": 4},
    ),
    ("onboarding.step", {"step": "risk", "action": "answered", "value": "medium"}),
]


def build_events(n: int) -> list[Event]:
    out = []
    for i in range(n):
        name, attrs = KINDS[i % len(KINDS)]
        sid = "4f2c9a7e1b3d5f60718293a4b5c6d7e8"
        out.append(
            Event(
                name=name,
                ts=T0 + i * 0.001,
                user_id=1000 + i % 5000,
                session_id=sid,
                attrs=dict(attrs),
            )
        )
    return out


async def _cpu(coro_fn: Any) -> tuple[float, float]:
    """(process CPU seconds, wall seconds) of awaiting coro_fn()."""
    c0, w0 = time.process_time(), time.perf_counter()
    await coro_fn()
    return time.process_time() - c0, time.perf_counter() - w0


async def ingest(redis: Any, events: list[Event], batch: int) -> tuple[float, float]:
    log = RedisEventLog(redis, flush_max_events=batch, stream_max_len=10**9)

    async def run() -> None:
        for i in range(0, len(events), batch):
            for e in events[i : i + batch]:
                log.emit(e)
            await log.flush()

    return await _cpu(run)


async def ingest_per_event_json(redis: Any, events: list[Event], batch: int) -> float:
    """The transport before this change: one XADD of JSON per event, pipelined per batch."""

    async def run() -> None:
        for i in range(0, len(events), batch):
            async with redis.pipeline(transaction=False) as pipe:
                for e in events[i : i + batch]:
                    pipe.xadd("bench:old", {"e": e.to_json()}, maxlen=10**9, approximate=True)
                await pipe.execute()

    cpu, _ = await _cpu(run)
    await redis.delete("bench:old")
    return cpu


def list_append(events: list[Event]) -> float:
    buf: list[Event] = []
    c0 = time.process_time()
    for e in events:
        buf.append(e)
    return time.process_time() - c0


# --- report data -------------------------------------------------------------------------------


def _strings(prefix: str, values: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(values), pa.string()), "")


def _choice(
    rng: np.random.Generator, options: list[str], n: int, p: list[float] | None = None
) -> pa.Array:
    idx = rng.choice(len(options), size=n, p=p).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(idx), pa.array(options)).cast(pa.string())


def generate_lake(
    storage: Storage, n: int, *, days: int = 7, users: int = 200_000, seed: int = 1
) -> dict[str, int]:
    """About ``n`` events over ``days`` days, as one Parquet file per table and hour."""
    rng = np.random.default_rng(seed)
    share = {
        "audit": 0.35,
        "distribution": 0.30,
        "session": 0.15,
        "opportunity": 0.08,
        "onboarding": 0.05,
        "engagement": 0.05,
        "experiment": 0.02,
    }
    counts: dict[str, int] = {}
    next_id = 0
    for t, frac in share.items():
        m = int(n * frac)
        counts[t] = m
        spec = TABLES[t]
        ts = np.sort(T0 + rng.random(m) * days * 86_400)
        uid = rng.integers(1, users, m)
        cols: dict[str, pa.Array] = {
            "event_id": _strings("bench:", np.arange(next_id, next_id + m)),
            "ts": pa.array(np.rint(ts * 1000).astype(np.int64), pa.timestamp("ms", tz="UTC")),
            "user_id": pa.array(uid),
            "session_id": _strings("s", uid),
            "schema_version": pa.array(np.full(m, spec.version, np.int32)),
        }
        next_id += m
        if t == "session":
            names = ["session.started", "session.resumed", "session.expired", "session.terminated"]
            cols["name"] = _choice(rng, names, m, [0.35, 0.25, 0.3, 0.1])
            cols["length_s"] = pa.array(rng.exponential(3600, m))
            cols["commands"] = pa.array(rng.integers(0, 40, m))
        elif t == "audit":
            cols["name"] = _choice(rng, ["audit.command", "audit.callback"], m, [0.8, 0.2])
            cols["command"] = _choice(rng, ["/start", "/opportunities", "/settings", "/help"], m)
            cols["allowed"] = pa.array(rng.random(m) < 0.9)
        elif t == "onboarding":
            cols["name"] = pa.array(["onboarding.step"] * 1, pa.string()).take(
                np.zeros(m, np.int32)
            )
            cols["step"] = _choice(
                rng, ["welcome", "tier", "types", "schedule", "risk", "exchanges", "done"], m
            )
            cols["action"] = _choice(
                rng, ["shown", "answered", "skipped", "completed"], m, [0.5, 0.35, 0.05, 0.1]
            )
        elif t == "distribution":
            cols["name"] = _choice(
                rng,
                [
                    "distribution.sent",
                    "distribution.rejected",
                    "distribution.queued",
                    "distribution.failed",
                    "distribution.dropped",
                    "distribution.shown",
                ],
                m,
                [0.4, 0.3, 0.15, 0.05, 0.05, 0.05],
            )
            cols["opportunity_id"] = _strings("o", rng.integers(0, 5000, m))
            cols["type"] = _choice(rng, ["arbitrage", "funding", "technical"], m)
            cols["tier"] = _choice(rng, ["free", "basic", "premium", "enterprise"], m)
            cols["priority"] = _choice(rng, ["high", "medium", "low"], m)
            cols["layer"] = pa.array(rng.integers(1, 7, m))
            cols["reason"] = _choice(rng, ["blocked", "timeout", "expired", "cap"], m)
            cols["latency_ms"] = pa.array(rng.lognormal(3.5, 0.6, m))
            # The shapes the real emitters write (schema 2): a message's kind and items, the
            # users a rejection row stands for, and the latency from detection.
            cols["kind"] = _choice(rng, ["send", "edit"], m, [0.7, 0.3])
            cols["items"] = pa.array(rng.choice([1, 1, 1, 3], m))
            cols["users"] = pa.array(rng.integers(1, 200, m))
            cols["detection_latency_ms"] = pa.array(rng.lognormal(8.0, 1.0, m))
        elif t == "engagement":
            names = [EventName.DETAILS, EventName.FEEDBACK]
            cols["name"] = _choice(rng, names, m, [0.9, 0.1])
            cols["opportunity_id"] = _strings("o", rng.integers(0, 5000, m))
        elif t == "opportunity":
            cols["name"] = pa.array(["opportunity.validation"]).take(np.zeros(m, np.int32))
            cols["opportunity_id"] = _strings("o", rng.integers(0, 5000, m))
            cols["level"] = pa.array(rng.choice([1, 2, 4], m))
            cols["passed"] = pa.array(rng.random(m) < 0.6)
        else:
            cols["name"] = _choice(
                rng, ["experiment.assigned", "experiment.converted"], m, [0.7, 0.3]
            )
            cols["experiment"] = _choice(rng, ["welcome_copy", "push_timing"], m)
            cols["variant"] = _choice(rng, ["control", "b"], m)
        arrays = [cols.get(f.name, pa.nulls(m, f.type)) for f in spec.schema]
        tbl = pa.Table.from_arrays(arrays, schema=spec.schema)
        buckets = np.floor(ts / 3600).astype(np.int64)
        edges = np.flatnonzero(np.diff(buckets)) + 1
        starts = np.concatenate([[0], edges])
        ends = np.concatenate([edges, [m]])
        for s, e in zip(starts, ends, strict=True):
            rel = f"{partition_path(t, int(buckets[s]))}/compact-bench.parquet"
            storage.write_parquet(tbl.slice(int(s), int(e - s)), rel)
    return counts


def previous_sessions(con: Any) -> int:
    """The sessions report as it was before the bit-mask rewrite (the baseline); row count."""
    w = Window()
    sql = f"""
    WITH act_raw AS (
        SELECT dt, user_id, {w.where()} AS inside FROM session
        WHERE user_id IS NOT NULL AND {w.where(widen_days=6)}
        UNION ALL
        SELECT dt, user_id, {w.where()} AS inside FROM audit
        WHERE user_id IS NOT NULL AND {w.where(widen_days=6)}
    ),
    act AS (SELECT dt AS day, user_id, bool_or(inside) AS inside FROM act_raw GROUP BY ALL),
    s AS (
        SELECT dt AS day,
               count(*) FILTER (WHERE name = 'session.started') AS started,
               count(*) FILTER (WHERE name = 'session.expired') AS expired,
               count(*) FILTER (WHERE name = 'session.terminated') AS terminated,
               median(length_s) FILTER (WHERE name IN ('session.expired', 'session.terminated'))
                   AS median_session_s,
               avg(commands) FILTER (WHERE name IN ('session.expired', 'session.terminated'))
                   AS commands_per_session
        FROM session WHERE {w.where()}
        GROUP BY dt
    ),
    days AS (SELECT day FROM act WHERE inside UNION SELECT day FROM s),
    first_start AS (
        SELECT user_id, min(dt) AS day FROM session
        WHERE name = 'session.started' AND user_id IS NOT NULL GROUP BY user_id
    ),
    dau AS (SELECT day, count(*) AS dau FROM act WHERE inside GROUP BY day),
    wau AS (
        SELECT d.day, count(DISTINCT a.user_id) AS wau
        FROM days d JOIN act a ON a.day BETWEEN d.day - 6 AND d.day GROUP BY d.day
    ),
    new_users AS (SELECT day, count(*) AS new_users FROM first_start GROUP BY day)
    SELECT d.day, coalesce(dau.dau, 0) AS dau, coalesce(wau.wau, 0) AS wau,
           coalesce(n.new_users, 0) AS new_users,
           coalesce(s.started, 0) AS sessions_started,
           coalesce(s.expired, 0) AS sessions_expired,
           coalesce(s.terminated, 0) AS sessions_terminated,
           s.median_session_s, s.commands_per_session
    FROM days d
    LEFT JOIN dau USING (day) LEFT JOIN wau USING (day) LEFT JOIN new_users n USING (day)
    LEFT JOIN s USING (day)
    ORDER BY d.day
    """
    return len(fetch(con, sql)[1])


def dashboard_timeseries(lake: Storage) -> tuple[float, float, float, dict[str, Any]]:
    """(refresh over rollups s, same over raw rows s, rollup pass s, the rollup answer)."""
    settings = AnalyticsSettings(fsync=False)
    since = datetime.fromtimestamp(T0, UTC)
    until, now = since + timedelta(days=7), since + timedelta(days=8)
    limit = 30.0  # the sends chart's line; no bearing on the time

    def series() -> dict[str, Any]:
        return compute_timeseries(lake, settings, since, until, now, limit)

    raw_s, raw = median_seconds(series)
    t1 = time.perf_counter()
    update_rollups(lake, settings)
    pass_s = time.perf_counter() - t1
    fast_s, fast = median_seconds(series)
    assert fast["rows"] == raw["rows"], "the rollups disagree with the raw rows"
    return fast_s, raw_s, pass_s, fast


def median_seconds(fn: Any, runs: int = 3) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t1 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t1)
    return statistics.median(times), out


# --- main --------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="arbcast-bench-"))
    server = EmbeddedRedis(work / "redis")
    server.start()
    redis = redis_connect(server.url)
    try:
        await redis.flushall()
        n, batch = args.events, args.batch
        events = build_events(n)
        append_cpu = list_append(events)
        cpu, wall = await ingest(redis, events, batch)
        old_n = min(n, args.baseline_events)
        old_cpu = await ingest_per_event_json(redis, events[:old_n], batch)
        rate, old_rate = n / cpu, old_n / old_cpu
        # The sink process: stream -> Parquet.
        settings = AnalyticsSettings(batch_max_rows=100_000, read_count=50, fsync=False)
        sink = ParquetSink(redis, Storage.local(work / "lake-sink"), settings)
        _, s_wall = await _cpu(sink.drain)
        assert sink.stats.events_written == n, sink.stats
        table(
            f"Sink ingest, {n:,} events (flush every {batch:,})",
            ["measure", "events/s", "µs CPU/event"],
            [
                ["emit+flush, batched marshal (CPU)", rate, 1e6 / rate],
                ["emit+flush, batched marshal (wall)", n / wall, 1e6 * wall / n],
                ["baseline: XADD of JSON per event (CPU)", old_rate, 1e6 / old_rate],
                ["reference: list.append only (CPU)", n / append_cpu, 1e6 * append_cpu / n],
                ["sink process: stream -> Parquet (wall)", n / s_wall, 1e6 * s_wall / n],
            ],
        )
        # Reports.
        lake = Storage.local(work / "lake", fsync=False)
        t0 = time.perf_counter()
        counts = generate_lake(lake, args.report_events)
        gen_s = time.perf_counter() - t0
        con = connect(lake)
        rows = []
        medians: dict[str, float] = {}
        for name in REPORTS:
            med, r = median_seconds(lambda name=name: run_report(con, name))
            medians[name] = med
            rows.append([name, med * 1000, len(r.rows)])
        before, before_rows = median_seconds(lambda: previous_sessions(con))
        rows.append(["sessions, previous query (baseline)", before * 1000, before_rows])
        total = sum(counts.values())
        table(
            f"Reports over {total:,} events (generated in {gen_s:.1f} s)",
            ["report", "median ms", "rows"],
            rows,
        )
        for name, med in medians.items():
            emit(
                "analytics",
                f"report_{name}_{total}_events",
                med,
                "s",
                baseline=before if name == "sessions" else None,
                target=1.0,
                higher_is_better=False,
            )
        emit(
            "analytics",
            f"report_latency_max_{total}_events",
            max(medians.values()),
            "s",
            baseline=None,
            target=1.0,
            higher_is_better=False,
        )
        fast_s, raw_s, pass_s, answer = dashboard_timeseries(lake)
        read = answer["read"]
        table(
            "Dashboard time series, 7 days (hour buckets)",
            ["measure", "ms", "rows read"],
            [
                [
                    "refresh over the rollups",
                    fast_s * 1000,
                    read["rollup_rows"] + read["ledger_rows"],
                ],
                ["baseline: the same from raw rows", raw_s * 1000, counts["distribution"]],
                ["rollup job, first pass over the lake", pass_s * 1000, counts["distribution"]],
            ],
        )
        emit(
            "analytics",
            f"dashboard_timeseries_7d_refresh_{total}_events",
            fast_s,
            "s",
            baseline=raw_s,
            target=0.25,
            higher_is_better=False,
        )
        emit(
            "analytics",
            "sink_ingest_emit_flush",
            rate,
            "events/s",
            baseline=old_rate,
            target=1_000_000,
            higher_is_better=True,
        )
    finally:
        await redis.delete(keys.EVENTS_STREAM)
        await redis.aclose()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=1_000_000, help="events ingested")
    p.add_argument("--batch", type=int, default=5_000, help="flush_max_events")
    p.add_argument("--baseline-events", type=int, default=200_000, help="events for the baseline")
    p.add_argument("--report-events", type=int, default=1_000_000, help="rows for the reports")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
