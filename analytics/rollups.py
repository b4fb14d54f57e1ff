"""Hourly rollups of delivery: small pre-aggregated Parquet the dashboard's time series read.

Every figure of the time series comes from the ``distribution`` table alone, so the rollup of
one UTC hour is a function of that hour's partition (``distribution/dt=…/hour=…``) and of
nothing else. It is written beside the lake, under ``<root>-rollups/dt=…/hour=…/``
(`rollup_storage`: a sibling, so globs over the lake meet only events), as two files (zstd,
atomic, like the sink's):

- ``minute.parquet``: one row per (minute, metric[, latency bin]);
- ``hour.parquet``: the same figures for the whole hour (a busy hour is still ~100 rows).

Rows are ``(bucket, metric, bin, value)``. Metrics (`METRICS`):

- ``sends``: new messages delivered (``distribution.sent`` other than edits);
- ``peak_1s``: the most of those in any one second of the bucket;
- ``flood_429``: sends Telegram refused with a 429 that the sender put off
  (``distribution.retried`` reason ``flood``; the 429s FloodControl waited out inside one send
  are not events and are not counted);
- ``accepted`` / ``left``: messages that entered the durable outbox
  (``distribution.accepted``) and that left it (sent, failed for good, or dropped by the
  sender: rows that carry the outbox's ``kind``); their running difference is the backlog;
- ``latency_bin``: alerts sent (new messages with opportunities) whose detection latency fell
  in bin ``bin`` (`latency_bin`); percentiles are read from these histograms to within
  `LATENCY_ERROR` of the exact value.

Each file's footer records the raw files it was computed from (``arbcast.sources``), so
`update_rollups` recomputes an hour only when its partition changed (late events, compaction).
``<root>-rollups/hours.parquet`` is the ledger: one row per rolled-up hour with its counters, so the
backlog's starting level is a sum over thousands of rows, not over the lake.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from analytics.background import NicedThread
from analytics.compaction import _replaced_in, live_files
from analytics.schemas import TABLES, partition_path
from analytics.settings import AnalyticsSettings
from analytics.storage import Storage

log = logging.getLogger(__name__)

ROLLUP_SUFFIX = "-rollups"
LEDGER = "hours.parquet"
SOURCES_KEY = "arbcast.sources"
METRICS = ("sends", "peak_1s", "flood_429", "accepted", "left", "latency_bin")
COUNTERS = ("sends", "peak_1s", "flood_429", "accepted", "left")
# Latency bins grow by this ratio: a bin's geometric middle is within LATENCY_ERROR of any
# value in it. 5% keeps a busy minute to a few dozen bins.
LATENCY_RATIO = 1.05
LATENCY_ERROR = math.sqrt(LATENCY_RATIO) - 1

ROLLUP_SCHEMA = pa.schema(
    [
        pa.field("bucket", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("bin", pa.int32()),
        pa.field("value", pa.float64(), nullable=False),
    ]
)
LEDGER_SCHEMA = pa.schema(
    [pa.field("hour", pa.timestamp("ms", tz="UTC"), nullable=False)]
    + [pa.field(m, pa.float64(), nullable=False) for m in COUNTERS]
)
_COLUMNS = [
    "name",
    "ts",
    "reason",
    "kind",
    "items",
    "opportunity_id",
    "detection_latency_ms",
    "schema_version",
    "extra",
]


def latency_bin(ms: float) -> int:
    """The bin of a latency: values in (RATIO**(b-1), RATIO**b] ms are bin b; 1 ms or less, 0."""
    return 0 if ms <= 1 else math.ceil(math.log(ms) / math.log(LATENCY_RATIO))


def bin_value(b: int) -> float:
    """What a bin stands for: its geometric middle (1 ms for bin 0)."""
    return 1.0 if b <= 0 else float(LATENCY_RATIO ** (b - 0.5))


def rollup_storage(lake: Storage) -> Storage:
    """Where the rollups of ``lake`` live: a sibling directory or prefix (``<root>-rollups``)."""
    return replace(
        lake,
        root=lake.root.rstrip("/") + ROLLUP_SUFFIX,
        uri=lake.uri.rstrip("/") + ROLLUP_SUFFIX,
    )


def hour_dir(hour: datetime) -> str:
    """``dt=…/hour=…`` of the hour starting at ``hour`` (relative to the rollup storage)."""
    return partition_path("x", int(hour.timestamp()) // 3600)[2:]


# Rows written before the distribution table's schema 2 carry kind/items/latency in `extra`.
def _pre_v2(column: str, legacy: str) -> str:
    return f"CASE WHEN schema_version >= 2 THEN {column} ELSE {legacy} END"


_KIND = _pre_v2("kind", "json_extract_string(extra, '$.kind')")
_ITEMS = _pre_v2("items", "TRY_CAST(json_extract_string(extra, '$.items') AS BIGINT)")
_DETECTION = _pre_v2(
    "detection_latency_ms",
    "TRY_CAST(json_extract_string(extra, '$.detection_latency_ms') AS DOUBLE)",
)

_MINUTE_SQL = f"""
WITH d AS (
    SELECT name, ts, reason, {_KIND} AS kind_,
           coalesce({_ITEMS}, CASE WHEN opportunity_id IS NULL THEN 0 ELSE 1 END) AS items_,
           {_DETECTION} AS det
    FROM raw
),
sends AS (SELECT ts FROM d WHERE name = 'distribution.sent' AND coalesce(kind_, 'send') <> 'edit'),
per_s AS (
    SELECT date_trunc('minute', ts) AS b, count(*) AS n FROM sends
    GROUP BY date_trunc('minute', ts), date_trunc('second', ts)
)
SELECT date_trunc('minute', ts) AS bucket, 'sends' AS metric, CAST(NULL AS INTEGER) AS bin,
       CAST(count(*) AS DOUBLE) AS value FROM sends GROUP BY 1
UNION ALL SELECT b, 'peak_1s', NULL, CAST(max(n) AS DOUBLE) FROM per_s GROUP BY 1
UNION ALL SELECT date_trunc('minute', ts), 'flood_429', NULL, CAST(count(*) AS DOUBLE) FROM d
    WHERE name = 'distribution.retried' AND reason = 'flood' GROUP BY 1
UNION ALL SELECT date_trunc('minute', ts), 'accepted', NULL, CAST(count(*) AS DOUBLE) FROM d
    WHERE name = 'distribution.accepted' GROUP BY 1
UNION ALL SELECT date_trunc('minute', ts), 'left', NULL, CAST(count(*) AS DOUBLE) FROM d
    WHERE name IN ('distribution.sent', 'distribution.failed', 'distribution.dropped')
      AND kind_ IS NOT NULL GROUP BY 1
UNION ALL SELECT date_trunc('minute', ts), 'latency_bin',
    CAST(CASE WHEN det <= 1 THEN 0 ELSE ceil(ln(det) / ln({LATENCY_RATIO!r})) END AS INTEGER),
    CAST(count(*) AS DOUBLE) FROM d
    WHERE name = 'distribution.sent' AND coalesce(kind_, 'send') <> 'edit' AND items_ > 0
      AND det IS NOT NULL AND isfinite(det)
    GROUP BY 1, 3
ORDER BY bucket, metric, bin
"""

_HOUR_SQL = """
SELECT date_trunc('hour', bucket) AS bucket, metric, bin,
       CASE WHEN metric = 'peak_1s' THEN max(value) ELSE sum(value) END AS value
FROM minute GROUP BY 1, 2, 3 ORDER BY bucket, metric, bin
"""


@dataclass(frozen=True)
class HourRollup:
    hour: datetime
    minute: pa.Table
    hour_rows: pa.Table
    sources: tuple[str, ...]
    raw_rows: int

    def counters(self) -> dict[str, float]:
        """The hour's counters (the ledger's row)."""
        out = dict.fromkeys(COUNTERS, 0.0)
        for metric, value in zip(
            self.hour_rows["metric"].to_pylist(), self.hour_rows["value"].to_pylist(), strict=True
        ):
            if metric in out:
                out[metric] = value
        return out


def raw_files_of_hour(storage: Storage, hour: datetime) -> list[str]:
    """The live raw files of the distribution partition of ``hour`` (none: an empty list)."""
    directory = partition_path("distribution", int(hour.timestamp()) // 3600)
    files = sorted(storage.parquet_files(directory))
    replaced = _replaced_in(storage, directory, files)
    return [f for f in files if f not in replaced]


def _read_raw(storage: Storage, files: Sequence[str]) -> pa.Table:
    schema = TABLES["distribution"].schema
    if not files:
        return schema.empty_table().select(_COLUMNS)
    dataset = ds.dataset(
        [storage.path(f) for f in files], schema=schema, format="parquet", filesystem=storage.fs
    )
    return dataset.to_table(columns=_COLUMNS)


def rollup_hour(storage: Storage, hour: datetime, files: Sequence[str] | None = None) -> HourRollup:
    """The rollup of one hour, computed from that hour's raw rows only (nothing is written)."""
    files = raw_files_of_hour(storage, hour) if files is None else list(files)
    raw = _read_raw(storage, files)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET threads = 1")  # a background job: one core at most
        con.register("raw", raw)
        minute = con.execute(_MINUTE_SQL).to_arrow_table().cast(ROLLUP_SCHEMA)
        con.register("minute", minute)
        hourly = con.execute(_HOUR_SQL).to_arrow_table().cast(ROLLUP_SCHEMA)
    finally:
        con.close()
    return HourRollup(hour, minute, hourly, tuple(files), raw.num_rows)


def _fingerprint(files: Iterable[str]) -> str:
    # Raw files are immutable once in place (new names for new data, and for compaction).
    names = sorted(f.rsplit("/", 1)[-1] for f in files)
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def write_rollup(lake: Storage, r: HourRollup, settings: AnalyticsSettings) -> None:
    """Write the rollup files of ``r.hour`` beside ``lake`` (each atomically)."""
    out, base = rollup_storage(lake), hour_dir(r.hour)
    meta = {SOURCES_KEY: _fingerprint(r.sources)}
    for table, name in ((r.minute, "minute"), (r.hour_rows, "hour")):
        out.write_parquet(
            table,
            f"{base}/{name}.parquet",
            compression_level=settings.compression_level,
            metadata=meta,
        )


def read_ledger(lake: Storage) -> pa.Table:
    """Every rolled-up hour's counters (empty before the first pass)."""
    out = rollup_storage(lake)
    if not out.exists(LEDGER):
        return LEDGER_SCHEMA.empty_table()
    return out.read_table(LEDGER).cast(LEDGER_SCHEMA)


@dataclass
class RollupResult:
    hours_seen: int = 0
    hours_written: list[datetime] = field(default_factory=list)
    raw_rows: int = 0


_HOUR_PATH = re.compile(r"dt=(\d{4}-\d{2}-\d{2})/hour=(\d{2})")


def _hour_of(path: str) -> datetime:
    m = _HOUR_PATH.search(path)
    if m is None:
        raise ValueError(f"not a partition path: {path}")
    day = datetime.strptime(m[1], "%Y-%m-%d").replace(tzinfo=UTC)
    return day + timedelta(hours=int(m[2]))


def update_rollups(
    lake: Storage,
    settings: AnalyticsSettings | None = None,
    known: dict[datetime, str] | None = None,
) -> RollupResult:
    """Recompute the rollup of every hour whose raw partition changed, then the ledger.

    ``known`` (hour → fingerprint) remembers what a previous pass wrote, so a long-running job
    reads no footers; without it each hour's footer is read once."""
    settings = settings or AnalyticsSettings()
    known = {} if known is None else known
    out = rollup_storage(lake)
    files, _ = live_files(lake, "distribution")
    by_hour: dict[datetime, list[str]] = {}
    for f in files:
        by_hour.setdefault(_hour_of(f), []).append(f)
    result = RollupResult(hours_seen=len(by_hour))
    changed: dict[datetime, dict[str, float]] = {}
    for hour, hour_files in sorted(by_hour.items()):
        fp = _fingerprint(hour_files)
        if hour not in known:
            path = f"{hour_dir(hour)}/minute.parquet"
            if out.exists(path):
                known[hour] = out.read_metadata(path).get(SOURCES_KEY, "")
        if known.get(hour) == fp:
            continue
        r = rollup_hour(lake, hour, hour_files)
        write_rollup(lake, r, settings)
        known[hour] = fp
        changed[hour] = r.counters()
        result.hours_written.append(hour)
        result.raw_rows += r.raw_rows
    ledger_missing = not out.exists(LEDGER) and bool(by_hour)
    if changed or ledger_missing:
        _update_ledger(lake, settings, changed, rebuild=ledger_missing)
    return result


def _update_ledger(
    lake: Storage,
    settings: AnalyticsSettings,
    changed: dict[datetime, dict[str, float]],
    *,
    rebuild: bool,
) -> None:
    out = rollup_storage(lake)
    rows = {} if rebuild else {r["hour"]: r for r in read_ledger(lake).to_pylist()}
    if rebuild:  # from every hour file (once: the ledger was lost or never written)
        for info in out.list_files(""):
            rel = out.rel(info.path)
            if info.base_name == "hour.parquet":
                hour = _hour_of(rel)
                t = out.read_table(rel)
                c = dict.fromkeys(COUNTERS, 0.0)
                for m, v in zip(t["metric"].to_pylist(), t["value"].to_pylist(), strict=True):
                    if m in c:
                        c[m] = v
                rows[hour] = {"hour": hour, **c}
    for hour, c in changed.items():
        rows[hour] = {"hour": hour, **c}
    table = pa.Table.from_pylist([rows[h] for h in sorted(rows)], schema=LEDGER_SCHEMA)
    out.write_parquet(table, LEDGER, compression_level=settings.compression_level)


async def run_rollups(
    storage: Storage,
    settings: AnalyticsSettings,
    stop: asyncio.Event,
    *,
    on_pass: Callable[[RollupResult], None] | None = None,
) -> None:
    """Update the rollups every ``rollup_interval_seconds`` until ``stop`` is set.

    Each pass runs on a thread of its own at a lower priority (``background_nice``), with one
    DuckDB thread: off the event loop that handles updates, and behind it for the CPU."""
    known: dict[datetime, str] = {}
    thread = NicedThread("arbcast-rollups", settings.background_nice)
    try:
        while not stop.is_set():
            result = await thread.run(update_rollups, storage, settings, known)
            if result.hours_written:
                log.info("rollups: %d hours rewritten", len(result.hours_written))
            if on_pass is not None:
                on_pass(result)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.rollup_interval_seconds)
    finally:
        thread.close()
