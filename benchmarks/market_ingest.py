"""Market-data ingest: `MarketUpdate` objects to zstd Parquet files of the partitioned lake.

    python -m benchmarks.market_ingest [--rows 400000] [--repeats 3]

Updates come from the simulator (generated first, not timed). Timed, per repeat:

* **writer**: `MarketLakeWriter` from the objects to files on disk, as the engine's recording
  runs it: columns built from the objects (`core.market.tick_table.encode`), grouped by hour
  partition, written through `Storage.write_parquet` (temporary name, fsync, rename);
* **baseline**: pyarrow's own `write_table` of the same rows, already an Arrow table, with the
  same options (zstd level, encodings, row groups) and fsync: the rate of the Parquet write
  alone;
* **previous**: the recorder's former path (one dict per row, `Table.from_pylist`, write), for
  reference.

MB are the Arrow bytes of the rows (`Table.nbytes`, what a reader gets back), the same figure
for every path; file MB (zstd) are reported too. Wall-clock rates are the headline; CPU-time
rates (the process's CPU seconds, all threads) are reported beside them, as the machine is shared.

Target: the design's 100 MB/s, and a quarter of pyarrow's own write rate. Why a quarter and
not a half: the writer does all of the baseline's work plus reading every price and size out of
Python objects (24 floats per simulated book), which no columnar trick avoids; that step alone
costs about three times the Parquet write here. Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.report import table
from core.clock import ManualClock
from core.market.lake_layout import MarketDataSettings
from core.market.lake_writer import MarketLakeWriter
from core.market.models import FundingRate, OrderBook
from core.market.simulator import MarketSimSettings, SimulatedMarket
from core.market.tick_table import SCHEMA, WRITE_OPTIONS, Batch, encode
from core.parquet_storage import Storage

TARGET_MB_S = 100.0
TARGET_RATIO = 0.25
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z: one hour partition holds a run of this size


def generate(rows: int, seed: int = 7) -> list[Batch]:
    market = SimulatedMarket(MarketSimSettings(seed=seed))
    out: list[Batch] = []
    n, i = 0, 0
    while n < rows:
        updates = market.step(T0 + i * 0.01)
        out.append((i, T0 + i * 0.01, updates))
        n += len(updates)
        i += 1
    return out


def _previous_rows(batches: Sequence[Batch]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, recv, updates in batches:
        for u in updates:
            row: dict[str, Any] = {"batch": number, "recv_ts": recv, "kind": None}
            row.update({"exchange": u.exchange, "symbol": u.symbol, "ts": u.ts})
            if isinstance(u, OrderBook):
                row.update(
                    kind="book",
                    latency_ms=u.latency_ms,
                    volume=u.volume,
                    bid_px=[lv.price for lv in u.bids],
                    bid_qty=[lv.qty for lv in u.bids],
                    ask_px=[lv.price for lv in u.asks],
                    ask_qty=[lv.qty for lv in u.asks],
                )
            elif isinstance(u, FundingRate):
                row.update(kind="funding", rate=u.rate, next_funding_ts=u.next_funding_ts)
            rows.append(row)
    return rows


def _fsynced_write(tbl: pa.Table, path: Path, settings: MarketDataSettings) -> None:
    with open(path, "wb") as f:
        pq.write_table(
            tbl,
            f,
            compression="zstd",
            compression_level=settings.compression_level,
            row_group_size=settings.flush_rows,
            **WRITE_OPTIONS,
        )
        f.flush()
        os.fsync(f.fileno())


def _dir_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.parquet"))


def measure(rows: int, repeats: int = 3) -> dict[str, Any]:
    batches = generate(rows)
    n_rows = sum(len(b[2]) for b in batches)
    reference = encode(batches)  # the baseline's input, and the MB every path is credited
    arrow_bytes = reference.nbytes
    settings = MarketDataSettings(flush_rows=n_rows + 1, flush_bytes=2**62, root="unused")
    times: dict[str, list[float]] = {"writer": [], "baseline": [], "previous": []}
    cpu: dict[str, list[float]] = {"writer": [], "baseline": []}
    file_bytes = 0
    with tempfile.TemporaryDirectory(prefix="market-ingest-") as tmp:
        work = Path(tmp)
        for r in range(repeats):
            lake = Storage.local(work / f"lake-{r}", fsync=True)
            writer = MarketLakeWriter(lake, settings, clock=ManualClock(T0))
            started, cpu_started = time.perf_counter(), time.process_time()
            for _, recv, updates in batches:
                writer.add(updates, recv)
            files = writer.flush()
            times["writer"].append(time.perf_counter() - started)
            cpu["writer"].append(time.process_time() - cpu_started)
            assert writer.stats.rows_written == n_rows and len(files) >= 1
            file_bytes = _dir_bytes(work / f"lake-{r}")

            started, cpu_started = time.perf_counter(), time.process_time()
            _fsynced_write(reference, work / f"baseline-{r}.parquet", settings)
            times["baseline"].append(time.perf_counter() - started)
            cpu["baseline"].append(time.process_time() - cpu_started)

            started = time.perf_counter()
            old = pa.Table.from_pylist(_previous_rows(batches), schema=SCHEMA)
            _fsynced_write(old, work / f"previous-{r}.parquet", settings)
            times["previous"].append(time.perf_counter() - started)
    best = {k: statistics.median(v) for k, v in times.items()}
    return {
        "rows": n_rows,
        "batches": len(batches),
        "arrow_bytes": arrow_bytes,
        "file_bytes": file_bytes,
        "seconds": best,
        "cpu_seconds": {k: statistics.median(v) for k, v in cpu.items()},
        "repeats": repeats,
        "load_1m": os.getloadavg()[0],
    }


def report(r: dict[str, Any]) -> dict[str, object]:
    mb = r["arrow_bytes"] / 1e6
    s = r["seconds"]
    mbs = {k: mb / v for k, v in s.items()}
    rps = {k: r["rows"] / v for k, v in s.items()}
    table(
        f"Market-data ingest: {r['rows']:,} updates ({mb:,.1f} MB Arrow, "
        f"{r['file_bytes'] / 1e6:,.1f} MB zstd), median of {r['repeats']}",
        ["path", "seconds", "MB/s", "rows/s"],
        [
            ["writer: objects → lake files", s["writer"], mbs["writer"], rps["writer"]],
            ["baseline: pyarrow write_table", s["baseline"], mbs["baseline"], rps["baseline"]],
            ["previous: from_pylist + write", s["previous"], mbs["previous"], rps["previous"]],
            ["writer, CPU time", r["cpu_seconds"]["writer"], mb / r["cpu_seconds"]["writer"],
             r["rows"] / r["cpu_seconds"]["writer"]],
            ["baseline, CPU time", r["cpu_seconds"]["baseline"],
             mb / r["cpu_seconds"]["baseline"], r["rows"] / r["cpu_seconds"]["baseline"]],
        ],
    )  # fmt: skip
    ratio = mbs["writer"] / mbs["baseline"]
    line: dict[str, object] = {
        "benchmark": "market_ingest",
        "metric": "writer_mb_per_s",
        "value": round(mbs["writer"], 3),
        "unit": "MB/s",
        "baseline": round(mbs["baseline"], 3),
        "ratio": round(ratio, 3),
        "target": TARGET_MB_S,
        "ratio_target": TARGET_RATIO,
        "met": mbs["writer"] >= TARGET_MB_S and ratio >= TARGET_RATIO,
        "rows_per_s": round(rps["writer"]),
        "baseline_rows_per_s": round(rps["baseline"]),
        "previous_mb_per_s": round(mbs["previous"], 3),
        "file_mb_per_s": round(r["file_bytes"] / 1e6 / s["writer"], 3),
        "cpu_mb_per_s": round(mb / r["cpu_seconds"]["writer"], 3),
        "baseline_cpu_mb_per_s": round(mb / r["cpu_seconds"]["baseline"], 3),
        "load_1m": round(r["load_1m"], 2),
        "rows": r["rows"],
        "machine": f"{platform.machine()} {platform.python_version()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    print(json.dumps(line))
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=400_000, help="updates to write")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    report(measure(args.rows, args.repeats))


if __name__ == "__main__":
    main()
