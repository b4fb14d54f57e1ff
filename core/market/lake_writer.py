"""Writing market updates to the partitioned market-data lake (`core.market.lake_layout`).

`MarketLakeWriter` buffers batches and writes them, one file per hour partition per flush, when
`flush_rows` updates, about `flush_bytes` of Arrow data or `flush_seconds` since the oldest
buffered batch is reached. Files go through `Storage.write_parquet` (written under a temporary
name, fsynced, renamed; a single PUT on S3): a kill loses at most the buffer, never leaves a
partial file where readers look. Its methods are synchronous; `BackgroundLakeWriter` runs the
writes off the event loop.

Batch numbers start from the microsecond the writer was created, so batches of different
writers (an actor Ray restarted, two recorders) never share one in a lake: a replay groups rows
by (recv_ts, batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from core.clock import Clock
from core.market.lake_layout import MarketDataSettings, partition_of
from core.market.models import MarketUpdate
from core.market.tick_table import WRITE_OPTIONS, Batch, encode
from core.parquet_storage import Storage

log = logging.getLogger(__name__)

HOUR = 3600
# Arrow bytes per update until a file has been written (a simulated book with six levels a side
# takes about 300); from then on, the last file's own figure.
FIRST_ROW_BYTES = 300.0


@dataclass(slots=True)
class LakeWriterStats:
    rows_written: int = 0
    batches_written: int = 0
    files_written: int = 0
    arrow_bytes_written: int = 0  # uncompressed, as encoded (what MB/s figures count)
    rows_dropped: int = 0  # refused because the buffer was full
    batches_dropped: int = 0
    write_failures: int = 0  # writes that raised (their batches were kept and retried)


class MarketLakeWriter:
    def __init__(
        self,
        storage: Storage,
        settings: MarketDataSettings,
        *,
        clock: Clock,
        first_batch: int | None = None,
    ) -> None:
        self.storage = storage
        self.settings = settings
        self._clock = clock
        self._next_batch = int(clock.now() * 1_000_000) if first_batch is None else first_batch
        self._pending: list[Batch] = []
        self._rows = 0
        self._row_bytes = FIRST_ROW_BYTES
        self._first_at: float | None = None
        self.stats = LakeWriterStats()

    @property
    def buffered_rows(self) -> int:
        return self._rows

    def add(self, updates: Sequence[MarketUpdate], recv_ts: float) -> None:
        """Buffer one batch received at `recv_ts` (empty batches are not recorded)."""
        if not updates:
            return
        self._pending.append((self._next_batch, recv_ts, list(updates)))
        self._next_batch += 1
        self._rows += len(updates)
        if self._first_at is None:
            self._first_at = self._clock.now()

    def due(self) -> bool:
        s = self.settings
        if self._first_at is None:
            return False
        return (
            self._rows >= s.flush_rows
            or self._rows * self._row_bytes >= s.flush_bytes
            or self._clock.now() - self._first_at >= s.flush_seconds
        )

    def take(self) -> list[Batch]:
        """Everything buffered, which the buffer no longer holds (hand it to `write`)."""
        taken, self._pending = self._pending, []
        self._rows = 0
        self._first_at = None
        return taken

    def give_back(self, batches: list[Batch]) -> None:
        """Put batches whose write failed back in front of the buffer, to be written again."""
        if not batches:
            return
        self._pending[:0] = batches
        self._rows += sum(len(b[2]) for b in batches)
        self._first_at = self._clock.now() if self._first_at is None else self._first_at

    def write(self, batches: Sequence[Batch]) -> list[str]:
        """Write `batches` as one file per hour partition; returns the files (relative to the
        root). Thread-safe with respect to `add`: it touches nothing the buffer holds."""
        by_hour: dict[int, list[Batch]] = defaultdict(list)
        for b in batches:
            by_hour[int(b[1] // HOUR)].append(b)
        files: list[str] = []
        for hour, group in sorted(by_hour.items()):
            table = encode(group)
            if table.num_rows:
                self._row_bytes = table.nbytes / table.num_rows
            rel = f"{partition_of(hour * HOUR)}/part-{uuid.uuid4().hex}.parquet"
            files.append(
                self.storage.write_parquet(
                    table,
                    rel,
                    row_group_rows=max(self.settings.flush_rows, 1),
                    compression_level=self.settings.compression_level,
                    writer_options=WRITE_OPTIONS,
                )
            )
            self.stats.rows_written += table.num_rows
            self.stats.batches_written += len(group)
            self.stats.files_written += 1
            self.stats.arrow_bytes_written += table.nbytes
        return files

    def flush(self) -> list[str]:
        """Write what is buffered now (tools, tests; `BackgroundLakeWriter` in an event loop)."""
        return self.write(self.take())


class BackgroundLakeWriter:
    """A `MarketLakeWriter` fed from an event loop, writing in a worker thread.

    `offer` never waits: the market-data actor calls it for every batch, and detection must not
    wait for a disk or an S3 PUT. What it holds (buffered plus being written) is bounded by
    `max_buffered_rows`; past it a batch is dropped from the recording and counted
    (`stats.rows_dropped`), because a late archive is worth less than a late opportunity.
    `put` is the same with backpressure instead (a recorder that must keep everything waits
    for the write in progress). One write runs at a time; a failed write keeps its batches
    and is tried again `flush_seconds` later.
    """

    def __init__(self, writer: MarketLakeWriter, *, clock: Clock) -> None:
        self.writer = writer
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._in_write = 0  # rows taken by the write in progress
        self._retry_at = 0.0
        self._dropping = False
        self.last_error: str | None = None

    @property
    def stats(self) -> LakeWriterStats:
        return self.writer.stats

    @property
    def held_rows(self) -> int:
        return self.writer.buffered_rows + self._in_write

    def _room_for(self, rows: int) -> bool:
        return self.held_rows + rows <= self.writer.settings.max_buffered_rows

    def offer(self, updates: Sequence[MarketUpdate], recv_ts: float) -> bool:
        """Buffer a batch and start a write when one is due; False if it was dropped."""
        if not updates:
            return True
        if not self._room_for(len(updates)):
            self.stats.rows_dropped += len(updates)
            self.stats.batches_dropped += 1
            if not self._dropping:
                self._dropping = True
                log.warning(
                    "market-data recording is behind (%d rows held): dropping batches until "
                    "the writes catch up",
                    self.held_rows,
                )
            return False
        self._dropping = False
        self.writer.add(updates, recv_ts)
        self._maybe_write()
        return True

    async def put(self, updates: Sequence[MarketUpdate], recv_ts: float) -> None:
        """Buffer a batch, first waiting for the write in progress while there is no room."""
        while not self._room_for(len(updates)) and self._task is not None:
            await asyncio.shield(self._task)
        self.writer.add(updates, recv_ts)
        self._maybe_write()

    def _maybe_write(self) -> None:
        if self._task is None and self.writer.due() and self._clock.now() >= self._retry_at:
            self._task = asyncio.create_task(self._write(), name="market-lake-write")

    async def _write(self) -> None:
        try:
            batches = self.writer.take()
            self._in_write = sum(len(b[2]) for b in batches)
            try:
                await asyncio.to_thread(self.writer.write, batches)
            except Exception as exc:
                self.stats.write_failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._retry_at = self._clock.now() + self.writer.settings.flush_seconds
                self.writer.give_back(batches)
                log.warning("market-data write failed (%s); retrying later", self.last_error)
        finally:
            self._in_write = 0
            self._task = None

    async def settle(self) -> None:
        """Wait for the write in progress, if any (it never raises: failures are kept)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._task)

    async def close(self) -> None:
        """Finish the write in progress, then write everything still buffered."""
        await self.settle()
        if self.writer.buffered_rows:
            batches = self.writer.take()
            try:
                await asyncio.to_thread(self.writer.write, batches)
            except Exception:
                self.writer.give_back(batches)  # a later close may succeed
                raise
