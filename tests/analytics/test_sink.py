"""The sink: events reach Parquet with their types, at least once, whatever crashes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from analytics.duck import connect
from analytics.schemas import TABLES, row_to_event
from analytics.sink import DEAD_LETTER_STREAM
from analytics.storage import Storage
from core.events import Event, RedisEventLog
from core.store import keys
from tests.analytics.helpers import T0, make_sink, mixed_events, normalised


async def _produce(redis: Any, events: list[Event], batch: int = 100) -> None:
    log = RedisEventLog(redis, flush_max_events=batch)
    for e in events:
        log.emit(e)
    await log.flush()


def _all_rows(storage: Storage) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for rel in storage.parquet_files(""):
        rows.extend(storage.read_table(rel).to_pylist())
    return rows


async def test_events_round_trip_to_parquet_with_their_types(redis: Any, tmp_path: Path) -> None:
    sent = mixed_events(700)
    await _produce(redis, sent)
    sink, storage = make_sink(redis, tmp_path)
    stats = await sink.drain()
    assert stats.events_written == 700
    rows = _all_rows(storage)
    assert sorted(normalised(row_to_event(r)) for r in rows) == sorted(normalised(e) for e in sent)
    # Typed columns have their declared Arrow types, and each row validates strictly.
    for rel in storage.parquet_files(""):
        table = rel.split("/", 1)[0]
        schema = pq.read_schema(storage.path(rel))
        assert schema.remove_metadata() == TABLES[table].schema.remove_metadata()
        assert pq.ParquetFile(storage.path(rel)).metadata.row_group(0).column(0).compression == (
            "ZSTD"
        )
        for r in storage.read_table(rel).to_pylist():
            TABLES[table].row_model.model_validate(r)
    # A mistyped value and an unknown attribute are kept in `extra`, not dropped.
    rejected = [r for r in rows if r["name"] == "distribution.rejected"]
    assert all(r["layer"] is None for r in rejected)
    assert json.loads(rejected[0]["extra"]) == {"layer": "3", "new_field": 1.5}
    # Names of no known table land in `other`.
    assert {r["name"] for r in rows if "x" in json.loads(r["extra"] or "{}")} == {"custom_thing"}


async def test_files_are_hive_partitioned_by_table_day_and_hour(redis: Any, tmp_path: Path) -> None:
    await _produce(
        redis,
        [
            Event(name="session.started", ts=T0 + 10, user_id=1),
            Event(name="session.started", ts=T0 + 3600 * 25 + 1, user_id=1),
            Event(name="audit.command", ts=T0 + 5, user_id=1, attrs={"command": "/start"}),
        ],
    )
    sink, storage = make_sink(redis, tmp_path)
    await sink.drain()
    dirs = sorted(rel.rsplit("/", 1)[0] for rel in storage.parquet_files(""))
    assert dirs == [
        "audit/dt=2026-01-01/hour=00",
        "session/dt=2026-01-01/hour=00",
        "session/dt=2026-01-02/hour=01",
    ]
    con = connect(storage)
    assert con.execute("select count(*), min(hour), max(dt)::varchar from session").fetchone() == (
        2,
        0,
        "2026-01-02",
    )


async def test_the_stream_is_acked_and_trimmed_only_after_the_files_are_in_place(
    redis: Any, tmp_path: Path
) -> None:
    await _produce(redis, mixed_events(300))
    sink, storage = make_sink(redis, tmp_path, read_count=1)
    read = await sink.poll(block_seconds=0)
    assert read == 100  # one stream entry: one batch of 100 events
    assert list(storage.parquet_files("")) == []
    pending = await redis.xpending(keys.EVENTS_STREAM, sink.group)
    assert pending["pending"] == 1
    await sink.drain()
    assert (await redis.xpending(keys.EVENTS_STREAM, sink.group))["pending"] == 0
    assert await redis.xlen(keys.EVENTS_STREAM) == 0
    assert sum(storage.read_table(r).num_rows for r in storage.parquet_files("")) == 300


async def test_a_sink_killed_before_acking_loses_nothing_another_sink_claims_its_entries(
    redis: Any, tmp_path: Path
) -> None:
    sent = mixed_events(500)
    await _produce(redis, sent, batch=50)
    dead, storage = make_sink(redis, tmp_path, consumer="dead", read_count=4)
    assert await dead.poll(block_seconds=0) == 200  # read 4 entries, then "killed": no flush
    del dead
    # A second sink with a short claim idle time takes the dead one's entries over.
    other, _ = make_sink(redis, tmp_path, consumer="other", claim_idle_seconds=0)
    stats = await other.drain()
    assert stats.entries_claimed == 4
    rows = _all_rows(storage)
    assert sorted(normalised(row_to_event(r)) for r in rows) == sorted(normalised(e) for e in sent)
    assert (await redis.xpending(keys.EVENTS_STREAM, other.group))["pending"] == 0


async def test_a_sink_restarted_under_its_name_rereads_its_own_pending_entries(
    redis: Any, tmp_path: Path
) -> None:
    sent = mixed_events(300)
    await _produce(redis, sent, batch=10)
    first, storage = make_sink(redis, tmp_path, consumer="box-1", read_count=7)
    await first.poll(block_seconds=0)
    await first.poll(block_seconds=0)  # 14 entries read, none written
    again, _ = make_sink(redis, tmp_path, consumer="box-1", read_count=5)
    await again.drain()
    rows = _all_rows(storage)
    assert len(rows) == 300
    assert len({r["event_id"] for r in rows}) == 300


async def test_a_crash_after_writing_but_before_acking_duplicates_with_the_same_event_ids(
    redis: Any, tmp_path: Path
) -> None:
    await _produce(redis, mixed_events(100))
    crashed, storage = make_sink(redis, tmp_path, consumer="a")
    await crashed.poll(block_seconds=0)
    crashed._write(list(crashed._buffer))  # files renamed into place, then the process dies
    other, _ = make_sink(redis, tmp_path, consumer="b", claim_idle_seconds=0)
    await other.drain()
    ids = Counter(r["event_id"] for r in _all_rows(storage))
    assert len(ids) == 100
    assert set(ids.values()) == {2}  # at least once: every event twice, identifiable


async def test_the_sink_writes_when_rows_bytes_or_age_reach_their_limits(
    redis: Any, tmp_path: Path
) -> None:
    now = [0.0]
    sink, _ = make_sink(redis, tmp_path, batch_max_rows=250, batch_max_seconds=15)
    sink._clock = lambda: now[0]
    await _produce(redis, mixed_events(200))
    await sink.poll(block_seconds=0)
    assert not sink.due()
    now[0] = 14.9
    assert not sink.due()
    now[0] = 15.0
    assert sink.due()
    await sink.flush()
    await _produce(redis, mixed_events(300))
    await sink.poll(block_seconds=0)
    assert sink.buffered_events == 300
    assert sink.due()  # rows
    await sink.flush()
    small, _ = make_sink(redis, tmp_path / "b", consumer="x", batch_max_bytes=1000)
    await _produce(redis, mixed_events(50))
    small.group = "other-group"
    await small.poll(block_seconds=0)
    assert small.due()  # bytes


async def test_malformed_entries_go_to_a_dead_letter_stream_and_do_not_block_the_rest(
    redis: Any, tmp_path: Path
) -> None:
    await _produce(redis, mixed_events(10))
    await redis.xadd(keys.EVENTS_STREAM, {"v": "m4", "n": "1", "d": "\x00junk"})
    await _produce(redis, mixed_events(10, seed=2))
    sink, _ = make_sink(redis, tmp_path)
    stats = await sink.drain()
    assert stats.entries_dead == 1
    assert stats.events_written == 20
    dead = await redis.xrange(DEAD_LETTER_STREAM)
    assert len(dead) == 1
    assert "_error" in dead[0][1]
    assert (await redis.xpending(keys.EVENTS_STREAM, sink.group))["pending"] == 0


def test_no_temporary_file_is_left_or_visible_after_a_write(tmp_path: Path) -> None:
    storage = Storage.local(tmp_path)
    table = TABLES["session"].schema.empty_table()
    storage.write_parquet(table, "session/dt=2026-01-01/hour=00/part-x.parquet")
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["part-x.parquet"]


def test_object_store_mode_writes_the_final_key_directly(tmp_path: Path) -> None:
    """S3 has no rename: objects appear when their upload completes. Same code, local files."""
    from pyarrow import fs as pafs

    storage = Storage(pafs.LocalFileSystem(), str(tmp_path), atomic_rename=False, fsync=False)
    table = TABLES["audit"].schema.empty_table()
    storage.write_parquet(table, "audit/dt=2026-01-01/hour=00/part-y.parquet")
    assert list(storage.parquet_files("audit")) == ["audit/dt=2026-01-01/hour=00/part-y.parquet"]
    sub = Storage(pafs.SubTreeFileSystem(str(tmp_path), pafs.LocalFileSystem()), "", False, False)
    assert list(sub.parquet_files("audit")) == ["audit/dt=2026-01-01/hour=00/part-y.parquet"]


def test_s3_settings_build_an_s3_filesystem_with_endpoint_and_credentials() -> None:
    from pyarrow import fs as pafs

    from analytics.settings import AnalyticsSettings

    s = AnalyticsSettings(
        root="s3://bucket/arbcast",
        s3_endpoint="127.0.0.1:9000",
        s3_scheme="http",
        s3_access_key="minio",  # type: ignore[arg-type]
        s3_secret_key="minio123",  # type: ignore[arg-type]
    )
    storage = Storage.from_settings(s)
    assert isinstance(storage.fs, pafs.S3FileSystem)
    assert storage.root == "bucket/arbcast"
    assert storage.atomic_rename is False
    assert storage.uri == "s3://bucket/arbcast"
