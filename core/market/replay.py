"""Recording market updates to one Parquet file, and replaying recordings.

The schema (one row per update, `batch` and `recv_ts` per batch) is `core.market.tick_table`'s,
the same the partitioned market-data lake (`core.market.lake_writer`) writes. A replay reads one
file, a lake root (hour by hour, optionally only the dates in [since, until]) or a glob.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from core.clock import Clock
from core.market.feed import Feed, Sleep
from core.market.lake_layout import resolve_source
from core.market.models import MarketUpdate
from core.market.tick_table import SCHEMA, WRITE_OPTIONS, Batch, decode, encode

__all__ = ["SCHEMA", "ReplayFeed", "TickRecorder", "read_batches", "record"]


def _batch_ts(updates: list[MarketUpdate]) -> float:
    return max((u.ts for u in updates), default=0.0)


class TickRecorder:
    """Writes batches of updates to a Parquet file (zstd), buffering `flush_rows` rows."""

    def __init__(self, path: str | Path, *, flush_rows: int = 50_000) -> None:
        self.path = Path(path)
        self.flush_rows = flush_rows
        self._batches: list[Batch] = []
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = None
        self._batch = 0
        self.rows_written = 0

    def write(self, updates: list[MarketUpdate], recv_ts: float | None = None) -> None:
        """Record one batch; `recv_ts` defaults to its newest update timestamp."""
        when = _batch_ts(updates) if recv_ts is None else recv_ts
        self._batches.append((self._batch, when, list(updates)))
        self._buffered += len(updates)
        self._batch += 1
        if self._buffered >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if not self._batches:
            return
        table: pa.Table = encode(self._batches)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                str(self.path), SCHEMA, compression="zstd", **WRITE_OPTIONS
            )
        self._writer.write_table(table)
        self.rows_written += table.num_rows
        self._batches, self._buffered = [], 0

    def close(self) -> None:
        self.flush()
        if self._writer is None:  # nothing recorded: still leave a valid, empty file
            self._writer = pq.ParquetWriter(
                str(self.path), SCHEMA, compression="zstd", **WRITE_OPTIONS
            )
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


def read_batches(
    source: str | Path, *, since: date | None = None, until: date | None = None
) -> Iterator[tuple[float, list[MarketUpdate]]]:
    """(recv_ts, updates) per recorded batch, in receive-time order (stable within a batch).

    `source` is a file, a market-data lake root (read one hour partition at a time; only the
    dates in [since, until], both inclusive) or a glob (read as one set)."""
    for files in resolve_source(source, since, until):
        tables = [pq.read_table(str(f), schema=SCHEMA) for f in files]
        yield from decode(pa.concat_tables(tables) if len(tables) > 1 else tables[0])


class ReplayFeed:
    """Replays a recording as a `Feed`.

    `speed=None` (or inf) yields as fast as possible; otherwise the gaps between batches'
    `recv_ts` are slept, divided by `speed` (2.0 plays twice as fast).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float | None = None,
        sleep: Sleep = asyncio.sleep,
        since: date | None = None,
        until: date | None = None,
    ) -> None:
        self.path = path
        self.speed = speed
        self.since = since
        self.until = until
        self._sleep = sleep
        self._closed = False

    async def updates(self) -> AsyncIterator[list[MarketUpdate]]:
        previous: float | None = None
        for recv, batch in read_batches(self.path, since=self.since, until=self.until):
            if self._closed:
                return
            if self.speed is not None and not math.isinf(self.speed) and previous is not None:
                await self._sleep(max(0.0, (recv - previous) / self.speed))
            previous = recv
            yield batch

    async def close(self) -> None:
        self._closed = True
