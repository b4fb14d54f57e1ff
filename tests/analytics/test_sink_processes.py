"""Several sink processes at once: every event written once, only complete files visible."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from analytics.duck import connect
from analytics.storage import Storage
from core.events import RedisEventLog
from core.store import keys
from tests.analytics.helpers import mixed_events


def _run_sink(url: str, root: str, name: str) -> None:
    from analytics.sink import ParquetSink
    from core.store.client import connect as redis_connect
    from tests.analytics.helpers import sink_settings

    async def main() -> None:
        redis = redis_connect(url)
        settings = sink_settings(batch_max_rows=700, read_count=3, fsync=True)
        sink = ParquetSink(redis, Storage.local(root), settings, consumer=name)
        await sink.drain()
        await redis.aclose()

    asyncio.run(main())


async def test_several_sink_processes_writing_at_once_leave_only_readable_files(
    redis: Any, redis_url: str, tmp_path: Path
) -> None:
    sent = mixed_events(12_000, span_s=4 * 3600)
    log = RedisEventLog(redis, flush_max_events=40)
    for e in sent:
        log.emit(e)
    await log.flush()
    # Create the group first so no process starts it at the stream's end.
    await redis.xgroup_create(keys.EVENTS_STREAM, "parquet-sink", id="0")
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_run_sink, args=(redis_url, str(tmp_path), f"p{i}")) for i in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        await asyncio.to_thread(p.join, 120)
        assert p.exitcode == 0
    files = [f for f in await asyncio.to_thread(lambda: list(tmp_path.rglob("*"))) if f.is_file()]
    assert files
    assert all(f.name.startswith("part-") and f.suffix == ".parquet" for f in files)
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in files) == len(sent)
    con = connect(Storage.local(tmp_path))
    n, ids = 0, set()
    for t in ("session", "audit", "distribution", "opportunity", "other"):
        rows = con.execute(f"SELECT event_id FROM {t}").fetchall()
        n += len(rows)
        ids |= {r[0] for r in rows}
    assert n == len(ids) == len(sent)
    assert await redis.xlen(keys.EVENTS_STREAM) == 0
    writers = {f.name for f in files}
    assert len(writers) > 4  # several files per process
