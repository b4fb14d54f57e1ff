"""Recording market updates to Parquet and replaying them.

One row per update, in a flat schema (`kind`, `exchange`, `symbol`, `ts`, `latency_ms`,
`volume`, `bid_px`, `bid_qty`, `ask_px`, `ask_qty` as lists, `rate`, `next_funding_ts`),
zstd-compressed. `batch` numbers the batches the updates arrived in, so a replay yields the same
batches; `recv_ts` is when the batch was received (the pacing reference for a replay at speed).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.clock import Clock
from core.market.feed import Feed, Sleep
from core.market.models import BookLevel, FundingRate, MarketUpdate, OrderBook

SCHEMA = pa.schema(
    [
        ("batch", pa.int64()),
        ("recv_ts", pa.float64()),
        ("kind", pa.string()),
        ("exchange", pa.string()),
        ("symbol", pa.string()),
        ("ts", pa.float64()),
        ("latency_ms", pa.float64()),
        ("volume", pa.float64()),
        ("bid_px", pa.list_(pa.float64())),
        ("bid_qty", pa.list_(pa.float64())),
        ("ask_px", pa.list_(pa.float64())),
        ("ask_qty", pa.list_(pa.float64())),
        ("rate", pa.float64()),
        ("next_funding_ts", pa.float64()),
    ]
)


def _row(batch: int, recv_ts: float, u: MarketUpdate) -> dict[str, Any]:
    if isinstance(u, OrderBook):
        return {
            "batch": batch,
            "recv_ts": recv_ts,
            "kind": "book",
            "exchange": u.exchange,
            "symbol": u.symbol,
            "ts": u.ts,
            "latency_ms": u.latency_ms,
            "volume": u.volume,
            "bid_px": [lv.price for lv in u.bids],
            "bid_qty": [lv.qty for lv in u.bids],
            "ask_px": [lv.price for lv in u.asks],
            "ask_qty": [lv.qty for lv in u.asks],
            "rate": None,
            "next_funding_ts": None,
        }
    return {
        "batch": batch,
        "recv_ts": recv_ts,
        "kind": "funding",
        "exchange": u.exchange,
        "symbol": u.symbol,
        "ts": u.ts,
        "latency_ms": None,
        "volume": None,
        "bid_px": None,
        "bid_qty": None,
        "ask_px": None,
        "ask_qty": None,
        "rate": u.rate,
        "next_funding_ts": u.next_funding_ts,
    }


def _update(row: dict[str, Any]) -> MarketUpdate:
    if row["kind"] == "book":
        return OrderBook(
            exchange=row["exchange"],
            symbol=row["symbol"],
            bids=tuple(BookLevel(p, q) for p, q in zip(row["bid_px"], row["bid_qty"], strict=True)),
            asks=tuple(BookLevel(p, q) for p, q in zip(row["ask_px"], row["ask_qty"], strict=True)),
            ts=row["ts"],
            latency_ms=row["latency_ms"],
            volume=row["volume"],
        )
    return FundingRate(
        exchange=row["exchange"],
        symbol=row["symbol"],
        rate=row["rate"],
        next_funding_ts=row["next_funding_ts"],
        ts=row["ts"],
    )


def _batch_ts(updates: list[MarketUpdate]) -> float:
    return max((u.ts for u in updates), default=0.0)


class TickRecorder:
    """Writes batches of updates to a Parquet file (zstd), buffering `flush_rows` rows."""

    def __init__(self, path: str | Path, *, flush_rows: int = 50_000) -> None:
        self.path = Path(path)
        self.flush_rows = flush_rows
        self._rows: list[dict[str, Any]] = []
        self._writer: pq.ParquetWriter | None = None
        self._batch = 0
        self.rows_written = 0

    def write(self, updates: list[MarketUpdate], recv_ts: float | None = None) -> None:
        """Record one batch; `recv_ts` defaults to its newest update timestamp."""
        when = _batch_ts(updates) if recv_ts is None else recv_ts
        self._rows.extend(_row(self._batch, when, u) for u in updates)
        self._batch += 1
        if len(self._rows) >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        table = pa.Table.from_pylist(self._rows, schema=SCHEMA)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(str(self.path), SCHEMA, compression="zstd")
        self._writer.write_table(table)
        self.rows_written += len(self._rows)
        self._rows = []

    def close(self) -> None:
        self.flush()
        if self._writer is None:  # nothing recorded: still leave a valid, empty file
            self._writer = pq.ParquetWriter(str(self.path), SCHEMA, compression="zstd")
        self._writer.close()

    def __enter__(self) -> TickRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def record_feed(self, feed: Feed, *, clock: Clock | None = None) -> int:
        """Drain `feed` into the file (until it ends); returns the number of batches."""
        n = 0
        async for batch in feed.updates():
            self.write(batch, None if clock is None else clock.now())
            n += 1
        return n


def record(updates: Iterable[list[MarketUpdate]] | list[MarketUpdate], path: str | Path) -> int:
    """Write updates (a flat list, or an iterable of batches) to `path`; returns rows written."""
    with TickRecorder(path) as rec:
        items = list(updates)
        if items and not isinstance(items[0], list):
            rec.write([u for u in items if not isinstance(u, list)])
        else:
            for batch in items:
                if isinstance(batch, list):
                    rec.write(batch)
    return rec.rows_written


def read_batches(path: str | Path) -> Iterator[tuple[float, list[MarketUpdate]]]:
    """(recv_ts, updates) per recorded batch, in timestamp order (stable within a batch)."""
    table = pq.read_table(str(path))
    rows = table.to_pylist()
    rows.sort(key=lambda r: (r["recv_ts"], r["batch"]))
    current: int | None = None
    recv = 0.0
    out: list[MarketUpdate] = []
    for row in rows:
        if row["batch"] != current:
            if out:
                yield recv, out
            current, recv, out = row["batch"], row["recv_ts"], []
        out.append(_update(row))
    if out:
        yield recv, out


class ReplayFeed:
    """Replays a recording as a `Feed`.

    `speed=None` (or inf) yields as fast as possible; otherwise the gaps between batches'
    `recv_ts` are slept, divided by `speed` (2.0 plays twice as fast).
    """

    def __init__(
        self, path: str | Path, *, speed: float | None = None, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.path = Path(path)
        self.speed = speed
        self._sleep = sleep
        self._closed = False

    async def updates(self) -> AsyncIterator[list[MarketUpdate]]:
        previous: float | None = None
        for recv, batch in read_batches(self.path):
            if self._closed:
                return
            if self.speed is not None and not math.isinf(self.speed) and previous is not None:
                await self._sleep(max(0.0, (recv - previous) / self.speed))
            previous = recv
            yield batch

    async def close(self) -> None:
        self._closed = True
