"""Analytics benchmark: sink ingest cost inside the bot process, and report latency.

    python -m benchmarks.analytics                 # 1M events ingested, reports over 1M rows
    python -m benchmarks.analytics --report-events 10000000   # the 10M-row report case

Ingest: events are built first (that is the caller's cost), then timed: `emit()` of each and
`flush()` every `flush_max_events`, to a real redis-server, as the bot's flusher does. Events/s
is events over the bot process's CPU seconds (redis-server's time is not ours). Baseline: the
previous transport, one XADD per event carrying JSON, pipelined per batch, on the same events.
The sink process's own throughput (stream to Parquet) is printed too.

Reports: events generated directly as Parquet (compacted layout, one file per table and hour,
7 days) in the shapes production writes (`benchmarks.analytics_lake`: real events through the
production emitter, tiled), then each report timed through the DuckDB views (median of 3 runs).

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

from analytics.duck import connect, fetch
from analytics.reports import REPORTS, Window, run_report
from analytics.rollups import update_rollups
from analytics.settings import AnalyticsSettings
from analytics.sink import ParquetSink
from analytics.storage import Storage
from analytics.timeseries import compute_timeseries
from benchmarks.analytics_lake import generate_lake
from benchmarks.lake_templates import T0
from benchmarks.report import emit, table
from core.events import Event, RedisEventLog
from core.store import keys
from core.store.client import connect as redis_connect
from core.store.embedded import EmbeddedRedis

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
