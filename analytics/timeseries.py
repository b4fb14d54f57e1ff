"""The dashboard's time series, read from the hourly rollups (`analytics.rollups`).

Per time bucket: sends (new messages per second, averaged over the bucket, and the busiest
second) against Telegram's bot-wide limit, 429s the sender put off, the outbox backlog at the
bucket's end, and percentiles of the alerts' latency from detection.

A refresh reads, per hour of the range, the rollup file of that hour (``minute.parquet`` for
ranges up to `MINUTE_GRAIN_MAX`, else ``hour.parquet``), plus the ledger for the backlog's
starting level: thousands of rows, whatever the lake's size. An hour still open (it ended less
than ``compact_grace_seconds`` ago), or not rolled up yet, is computed from its own raw
partition only. ``read`` in the answer says what was read.

The backlog is the outbox's accepted minus left messages counted from the lake's first hour:
a lake that starts while messages were already queued, or a message sent twice after a crash,
offsets it by that many. Percentiles are nearest-rank over the latency histograms, within
`analytics.rollups.LATENCY_ERROR` of the exact value.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from analytics.rollups import (
    ROLLUP_SCHEMA,
    bin_value,
    hour_dir,
    raw_files_of_hour,
    read_ledger,
    rollup_hour,
    rollup_storage,
)
from analytics.settings import AnalyticsSettings
from analytics.storage import Storage

MINUTE_GRAIN_MAX = timedelta(hours=6)
MAX_BUCKETS_MINUTE = 360
MAX_BUCKETS_HOUR = 240
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
COLUMNS = [
    "bucket",
    "sends",
    "sends_per_s",
    "peak_1s",
    "flood_429",
    "backlog",
    "alerts",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
]
HOUR = timedelta(hours=1)


def _floor(t: datetime, step: timedelta) -> datetime:
    s = step.total_seconds()
    return datetime.fromtimestamp(math.floor(t.timestamp() / s) * s, UTC)


def nearest_rank(histogram: dict[int, float], q: float) -> float | None:
    """The q-quantile (nearest rank) of a latency histogram, as its bin's middle."""
    n = sum(histogram.values())
    if n <= 0:
        return None
    rank = max(1.0, math.ceil(q * n - 1e-9))
    seen = 0.0
    for b in sorted(histogram):
        seen += histogram[b]
        if seen >= rank:
            return round(bin_value(b), 1)
    return round(bin_value(max(histogram)), 1)


@dataclass
class Reads:
    rollup_files: int = 0
    rollup_rows: int = 0
    ledger_rows: int = 0
    raw_hours: list[str] = field(default_factory=list)
    raw_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rollup_files": self.rollup_files,
            "rollup_rows": self.rollup_rows,
            "ledger_rows": self.ledger_rows,
            "raw_hours": self.raw_hours,
            "raw_rows": self.raw_rows,
        }


def _hour_table(
    storage: Storage, hour: datetime, grain: str, *, live: bool, reads: Reads
) -> pa.Table:
    path, rollups = f"{hour_dir(hour)}/{grain}.parquet", rollup_storage(storage)
    if not live and rollups.exists(path):
        t = rollups.read_table(path)
        reads.rollup_files += 1
        reads.rollup_rows += t.num_rows
        return t
    files = raw_files_of_hour(storage, hour)
    if not files:  # nothing happened that hour
        return ROLLUP_SCHEMA.empty_table()
    r = rollup_hour(storage, hour, files)
    reads.raw_hours.append(hour.isoformat())
    reads.raw_rows += r.raw_rows
    return r.minute if grain == "minute" else r.hour_rows


def compute_timeseries(
    storage: Storage,
    settings: AnalyticsSettings,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
    send_limit_per_second: float,
) -> dict[str, Any]:
    """The time series of ``[since, until)`` (None: from the first hour rolled up; to now);
    ``send_limit_per_second`` is the line drawn on the sends chart (the limiter's rate)."""
    started = time.perf_counter()
    reads = Reads()
    ledger = read_ledger(storage)
    reads.ledger_rows = ledger.num_rows
    ledger_hours = ledger["hour"].to_pylist()
    end = min(until, now) if until is not None else now
    start = since
    if start is None:
        start = min(ledger_hours) if ledger_hours else _floor(end, HOUR)
    out: dict[str, Any] = {
        "columns": COLUMNS,
        "rows": [],
        "send_limit_per_second": send_limit_per_second,
    }
    if start >= end:
        out.update(grain="minute", bucket_seconds=60, read=reads.as_dict())
        return out
    span = end - start
    if span <= MINUTE_GRAIN_MAX:
        grain, unit = "minute", timedelta(minutes=1)
        step = unit * math.ceil(span / unit / MAX_BUCKETS_MINUTE)
    else:
        grain, unit = "hour", HOUR
        step = unit * math.ceil(span / unit / MAX_BUCKETS_HOUR)
    first = _floor(start, unit)
    grace = timedelta(seconds=settings.compact_grace_seconds)

    counters: dict[datetime, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    histograms: dict[datetime, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    before = 0.0  # accepted minus left before the first bucket
    for row in ledger.to_pylist():
        if row["hour"] < _floor(first, HOUR):
            before += row["accepted"] - row["left"]
    hour = _floor(first, HOUR)
    while hour < end:
        live = hour + HOUR + grace > now
        t = _hour_table(storage, hour, grain, live=live, reads=reads)
        cols = [t[c].to_pylist() for c in ("bucket", "metric", "bin", "value")]
        for b, metric, bin_, value in zip(*cols, strict=True):
            if b < first:
                if metric in ("accepted", "left"):
                    before += value if metric == "accepted" else -value
                continue
            if b >= end:
                continue
            key = first + step * math.floor((b - first) / step)
            if metric == "latency_bin":
                histograms[key][int(bin_)] += value
            elif metric == "peak_1s":
                counters[key][metric] = max(counters[key][metric], value)
            else:
                counters[key][metric] += value
        hour += HOUR

    backlog = before
    seconds = step.total_seconds()
    key = first
    while key < end:
        c, h = counters.get(key, {}), histograms.get(key, {})
        backlog += c.get("accepted", 0.0) - c.get("left", 0.0)
        sends = c.get("sends", 0.0)
        out["rows"].append(
            [
                key.isoformat(),
                int(sends),
                round(sends / seconds, 3),
                int(c.get("peak_1s", 0.0)),
                int(c.get("flood_429", 0.0)),
                int(backlog),
                int(sum(h.values())),
                *(nearest_rank(h, q) for _, q in QUANTILES),
            ]
        )
        key += step
    out.update(
        grain=grain,
        bucket_seconds=int(seconds),
        since=first.isoformat(),
        until=end.isoformat(),
        read=reads.as_dict(),
        took_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return out
