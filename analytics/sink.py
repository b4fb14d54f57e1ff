"""The Parquet sink: reads the event stream with a consumer group and writes Parquet files.

Delivery is at least once, and nothing is lost on a crash:

* producers (`core.events.RedisEventLog`) keep a batch whose XADD failed and retry it;
* the sink reads entries with XREADGROUP, so an entry it read stays in the group's pending
  list until XACKed; it XACKs only after every file holding the entry's events has been
  renamed into place (fsynced first);
* a sink that dies leaves its entries pending: on restart under the same consumer name it
  re-reads them, and any other sink XAUTOCLAIMs entries idle longer than
  ``claim_idle_seconds``;
* a crash between the rename and the XACK writes those events again; they keep their
  ``event_id`` (stream entry id and index), so compaction (and any reader) can drop the copies.

The sink trims the stream up to the oldest entry some group has not written and acked yet, so
the stream holds only what is still in flight.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.exceptions
from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from analytics.schemas import TABLES, hour_bucket, partition_path, table_of, to_arrow
from analytics.settings import AnalyticsSettings
from analytics.storage import Storage
from core.events import Event, MalformedEntryError, decode_entry
from core.store import keys
from core.store.client import blocking_wait

log = logging.getLogger(__name__)

DEAD_LETTER_STREAM = f"{keys.EVENTS_STREAM}:dead"
NEVER_DECODE = {"NEVER_DECODE": True}


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _id(v: Any) -> tuple[int, int]:
    ms, _, seq = _text(v).partition("-")
    return int(ms), int(seq or 0)


@dataclass
class _Entry:
    entry_id: str
    records: list[dict[str, Any]]
    nbytes: int


@dataclass
class SinkStats:
    entries_read: int = 0
    entries_claimed: int = 0
    entries_dead: int = 0
    events_written: int = 0
    files_written: int = 0
    flushes: int = 0
    files: list[str] = field(default_factory=list)


def write_batches(
    storage: Storage,
    settings: AnalyticsSettings,
    batches: Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
) -> list[str]:
    """Write decoded batches (entry id, event records) as one file per table and hour.

    Event ids are ``<entry id>:<index>``. Returns the files written (relative paths).
    """
    groups: dict[tuple[str, int], tuple[list[str], list[Mapping[str, Any]]]] = defaultdict(
        lambda: ([], [])
    )
    for entry_id, records in batches:
        for i, r in enumerate(records):
            ids, recs = groups[(table_of(r["name"]), hour_bucket(r["ts"]))]
            ids.append(f"{entry_id}:{i}")
            recs.append(r)
    files = []
    for (table, bucket), (ids, recs) in sorted(groups.items()):
        arrow = to_arrow(TABLES[table], ids, recs)
        rel = f"{partition_path(table, bucket)}/part-{uuid.uuid4().hex}.parquet"
        files.append(
            storage.write_parquet(
                arrow,
                rel,
                row_group_rows=settings.row_group_rows,
                compression_level=settings.compression_level,
            )
        )
    return files


def write_events(
    storage: Storage,
    events: Sequence[Event],
    settings: AnalyticsSettings | None = None,
    *,
    batch_id: str | None = None,
) -> list[str]:
    """Write events straight to Parquet, without the stream (tools, tests, benchmarks)."""
    batch_id = batch_id or f"direct-{uuid.uuid4().hex[:12]}"
    return write_batches(
        storage, settings or AnalyticsSettings(), [(batch_id, [e.__dict__ for e in events])]
    )


class ParquetSink:
    """One sink consumer. Several may run at once (processes or hosts) in the same group."""

    def __init__(
        self,
        redis: Redis,
        storage: Storage,
        settings: AnalyticsSettings | None = None,
        *,
        consumer: str | None = None,
        stream: str = keys.EVENTS_STREAM,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self.storage = storage
        self.settings = settings or AnalyticsSettings()
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.stream = stream
        self.group = self.settings.consumer_group
        self._clock = clock
        self._buffer: list[_Entry] = []
        self._buffered_ids: set[str] = set()
        self._to_ack: list[str] = []  # dead letters, acked with the next flush
        self._dead: list[dict[FieldT, EncodableT]] = []
        self._rows = 0
        self._bytes = 0
        self._first_at: float | None = None
        self._own_pending_done = False
        self._own_cursor = "0"
        self._claim_cursor = "0-0"
        self._group_ready = False
        self.stats = SinkStats()

    # --- reading -----------------------------------------------------------------------------

    async def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def poll(self, block_seconds: float | None = None) -> int:
        """Read what is available into the buffer; returns the number of events read.

        First this consumer's own pending entries (a restart under the same name), then
        entries other consumers left idle, then new entries (waiting up to ``block_seconds``
        for them; None: the setting; 0: do not wait).
        """
        await self.ensure_group()
        s = self.settings
        n = 0
        if not self._own_pending_done:
            entries = await self._xreadgroup(self._own_cursor, block_ms=None)
            if entries:
                self._own_cursor = _text(entries[-1][0])
            else:
                self._own_pending_done = True
            n += self._add(entries)
        n += await self._claim()
        room = s.read_count
        if n == 0 and room > 0:
            wait = s.block_seconds if block_seconds is None else block_seconds
            if self._first_at is not None:
                wait = min(wait, max(0.0, self._first_at + s.batch_max_seconds - self._clock()))
            block_ms = int(blocking_wait(self._redis, wait) * 1000) if wait > 0 else None
            n += self._add(await self._xreadgroup(">", block_ms=block_ms))
        return n

    async def _xreadgroup(self, start: str, *, block_ms: int | None) -> list[tuple[Any, Any]]:
        args: list[Any] = ["GROUP", self.group, self.consumer, "COUNT", self.settings.read_count]
        if block_ms:
            args += ["BLOCK", block_ms]
        args += ["STREAMS", self.stream, start]
        reply = await self._redis.execute_command(  # type: ignore[no-untyped-call]
            "XREADGROUP", *args, **NEVER_DECODE
        )
        if not reply:
            return []
        if isinstance(reply, Mapping):  # RESP3
            return [tuple(e) for v in reply.values() for e in v[0]]
        return [tuple(e) for _, entries in reply for e in entries]

    async def _claim(self) -> int:
        idle_ms = int(self.settings.claim_idle_seconds * 1000)
        reply = await self._redis.execute_command(  # type: ignore[no-untyped-call]
            "XAUTOCLAIM",
            self.stream,
            self.group,
            self.consumer,
            idle_ms,
            self._claim_cursor,
            "COUNT",
            self.settings.read_count,
            **NEVER_DECODE,
        )
        cursor, entries = reply[0], reply[1]
        self._claim_cursor = _text(cursor)
        gone = [e[0] for e in entries if e is None or e[1] is None] if entries else []
        live = [tuple(e) for e in entries or () if e is not None and e[1] is not None]
        for entry_id in gone:  # trimmed while pending (Redis < 7 still lists them)
            if entry_id is not None:
                self._to_ack.append(_text(entry_id))
        live = [e for e in live if _text(e[0]) not in self._buffered_ids]
        self.stats.entries_claimed += len(live)
        if live:
            log.info("claimed %d stream entries left by other sinks", len(live))
        return self._add(live)

    def _add(self, entries: Sequence[tuple[Any, ...]]) -> int:
        n = 0
        for raw_id, fields in entries:
            entry_id = _text(raw_id)
            if entry_id in self._buffered_ids or fields is None:
                continue
            fields = dict(fields)
            try:
                records = decode_entry(fields)
            except MalformedEntryError as exc:
                self._dead_letter(entry_id, fields, str(exc))
                continue
            nbytes = sum(len(v) for v in fields.values() if isinstance(v, bytes | str))
            self._buffer.append(_Entry(entry_id, records, nbytes))
            self._buffered_ids.add(entry_id)
            self._rows += len(records)
            self._bytes += nbytes
            if self._first_at is None:
                self._first_at = self._clock()
            n += len(records)
            self.stats.entries_read += 1
        return n

    def _dead_letter(self, entry_id: str, fields: dict[Any, Any], error: str) -> None:
        log.error(
            "stream entry %s is malformed (%s); moved to %s", entry_id, error, DEAD_LETTER_STREAM
        )
        payload: dict[FieldT, EncodableT] = {
            **{_text(k): v for k, v in fields.items()},
            "_id": entry_id,
            "_error": error,
        }
        self._dead.append(payload)
        self._to_ack.append(entry_id)
        self.stats.entries_dead += 1

    # --- writing -----------------------------------------------------------------------------

    @property
    def buffered_events(self) -> int:
        return self._rows

    def due(self) -> bool:
        s = self.settings
        if self._first_at is None:
            return False
        return (
            self._rows >= s.batch_max_rows
            or self._bytes >= s.batch_max_bytes
            or self._clock() - self._first_at >= s.batch_max_seconds
        )

    async def flush(self) -> list[str]:
        """Write the buffer as Parquet, then XACK it and trim the stream. Returns new files."""
        files: list[str] = []
        if self._buffer:
            files = await asyncio.to_thread(self._write, list(self._buffer))
            # Written: from here on only the acks are owed. A Redis error below keeps them in
            # `_to_ack` for the next flush instead of writing these events a second time.
            self._to_ack.extend(e.entry_id for e in self._buffer)
            self.stats.events_written += self._rows
            self.stats.files_written += len(files)
            self.stats.files.extend(files)
            self._buffer.clear()
            self._rows = self._bytes = 0
            self._first_at = None
        while self._dead:
            await self._redis.xadd(DEAD_LETTER_STREAM, self._dead[0])
            self._dead.pop(0)
        ids = list(self._to_ack)
        for i in range(0, len(ids), 1000):
            await self._redis.xack(self.stream, self.group, *ids[i : i + 1000])
        self.stats.flushes += 1
        self._to_ack.clear()
        self._buffered_ids.difference_update(ids)
        if ids and self.settings.trim_written:
            await self.trim()
        return files

    def _write(self, entries: list[_Entry]) -> list[str]:
        return write_batches(
            self.storage, self.settings, [(e.entry_id, e.records) for e in entries]
        )

    async def trim(self) -> int:
        """Drop stream entries that every consumer group has read and acked."""
        floor: tuple[int, int] | None = None
        for g in await self._redis.xinfo_groups(self.stream):
            ms, seq = _id(g["last-delivered-id"])
            candidate = (ms, seq + 1)
            if int(g["pending"]) > 0:
                pending = await self._redis.xpending(self.stream, _text(g["name"]))
                if pending and pending.get("min") is not None:
                    candidate = min(candidate, _id(pending["min"]))
            floor = candidate if floor is None else min(floor, candidate)
        if floor is None:
            return 0
        trimmed = await self._redis.execute_command(  # type: ignore[no-untyped-call]
            "XTRIM", self.stream, "MINID", f"{floor[0]}-{floor[1]}"
        )
        return int(trimmed)

    # --- running -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> SinkStats:
        """Read and write until ``stop`` is set (or the task is cancelled), then flush."""
        stop = stop or asyncio.Event()
        try:
            await self.ensure_group()
            while not stop.is_set():
                await self.poll()
                if self.due():
                    await self.flush()
        except redis.exceptions.ResponseError as exc:
            if "NOGROUP" in str(exc):
                self._group_ready = False  # Redis lost the group (restarted empty): recreate
            raise
        finally:
            if self._buffer or self._to_ack:
                try:
                    await asyncio.shield(self.flush())
                except Exception as exc:  # Redis is down: kept for the next run's flush
                    log.warning("sink flush failed (%s); %d entries kept", exc, len(self._to_ack))
        return self.stats

    async def drain(self) -> SinkStats:
        """Read and write everything available now, without waiting (tools and tests)."""
        while await self.poll(block_seconds=0):
            if self.due():
                await self.flush()
        await self.flush()
        return self.stats
