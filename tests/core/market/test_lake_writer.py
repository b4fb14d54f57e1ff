"""The market-data lake writer: what triggers a file, where files go (dt/hour of the batch's
receive time), that DuckDB reads them back as written, and how the background writer bounds
what it holds (drops counted), survives a failed write and flushes on close."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from core.clock import ManualClock
from core.market import MarketSimSettings, SimulatedMarket
from core.market.lake_layout import MarketDataSettings, partition_of
from core.market.lake_writer import BackgroundLakeWriter, MarketLakeWriter
from core.market.models import MarketUpdate, OrderBook
from core.market.tick_table import SCHEMA, encode
from core.parquet_storage import Storage

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def batches(n: int, start: float = T0, seed: int = 11) -> list[tuple[float, list[MarketUpdate]]]:
    market = SimulatedMarket(MarketSimSettings(seed=seed))
    return [(start + i, market.step(start + i)) for i in range(n)]


def writer_at(root: Path, clock: ManualClock, **overrides: object) -> MarketLakeWriter:
    settings = MarketDataSettings.model_validate({"root": str(root), **overrides})
    return MarketLakeWriter(Storage.local(root), settings, clock=clock, first_batch=0)


def lake_view(root: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        f"CREATE VIEW market_data AS SELECT * FROM read_parquet('{root}/**/*.parquet', "
        "hive_partitioning = true, hive_types = {'dt': DATE, 'hour': INTEGER})"
    )
    return con


def test_rows_bytes_and_age_each_make_a_flush_due(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    data = batches(3)
    rows = sum(len(b) for _, b in data)
    by_rows = writer_at(tmp_path / "r", clock, flush_rows=rows)
    by_bytes = writer_at(tmp_path / "b", clock, flush_bytes=1)
    by_age = writer_at(tmp_path / "a", clock, flush_seconds=30)
    for w in (by_rows, by_bytes, by_age):
        assert not w.due()  # nothing buffered: never due
    for recv, updates in data[:2]:
        for w in (by_rows, by_age):
            w.add(updates, recv)
    by_bytes.add(data[0][1], data[0][0])
    assert by_bytes.due() and not by_rows.due() and not by_age.due()
    by_rows.add(data[2][1], data[2][0])
    assert by_rows.due()
    clock.advance(seconds=29.9)
    assert not by_age.due()
    clock.advance(seconds=0.1)
    assert by_age.due()


def test_each_hour_of_receive_time_gets_its_own_file_and_duckdb_reads_them(
    tmp_path: Path,
) -> None:
    """Batches received from 00:58 to 01:01:59 go to hour=00 and hour=01 of 2026-01-01; DuckDB
    over the lake counts every update once, with dt and hour from the path."""
    data = batches(240, start=T0 + 58 * 60)
    w = writer_at(tmp_path, ManualClock(T0))
    for recv, updates in data:
        w.add(updates, recv)
    files = w.flush()
    assert sorted(f.rsplit("/", 1)[0] for f in files) == [
        "dt=2026-01-01/hour=00",
        "dt=2026-01-01/hour=01",
    ]
    assert w.buffered_rows == 0 and not w.due()
    con = lake_view(tmp_path)
    per_hour = con.execute(
        "SELECT dt::VARCHAR, hour, count(*), count(DISTINCT batch) FROM market_data "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    first = [(r, u) for r, u in data if partition_of(r).endswith("hour=00")]
    second = [(r, u) for r, u in data if partition_of(r).endswith("hour=01")]
    assert len(first) == 120 and len(second) == 120
    assert per_hour == [
        ("2026-01-01", 0, sum(len(u) for _, u in first), 120),
        ("2026-01-01", 1, sum(len(u) for _, u in second), 120),
    ]
    # Books as DuckDB reads them: the best bid of every book equals the object's.
    best = con.execute(
        "SELECT exchange, symbol, ts, bid_px[1], ask_qty[-1] FROM market_data "
        "WHERE kind = 'book' ORDER BY batch, ts, exchange, symbol"
    ).fetchall()
    expected = sorted(
        ((n, u.ts, u.exchange, u.symbol, u.bids[0].price, u.asks[-1].qty)
         for n, (_, ups) in enumerate(data) for u in ups if isinstance(u, OrderBook)),
    )  # fmt: skip
    assert best == [(x, s, ts, b, a) for _, ts, x, s, b, a in expected]
    funding = con.execute("SELECT count(*) FROM market_data WHERE kind = 'funding'").fetchone()
    assert funding == (sum(1 for _, u in data for x in u if not hasattr(x, "bids")),)


def test_files_are_zstd_with_the_recording_schema(tmp_path: Path) -> None:
    w = writer_at(tmp_path, ManualClock(T0))
    for recv, updates in batches(5):
        w.add(updates, recv)
    (rel,) = w.flush()
    meta = pq.ParquetFile(tmp_path / rel).metadata
    assert meta.schema.to_arrow_schema().remove_metadata() == SCHEMA
    assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"ZSTD"}
    assert w.stats.rows_written == meta.num_rows and w.stats.files_written == 1


async def test_a_full_buffer_drops_batches_and_counts_them(tmp_path: Path) -> None:
    """Never due (huge flush thresholds), room for 2.5 batches: the third and later are dropped
    whole and counted, and what is held never exceeds the bound."""
    size = 10
    data = [(r, ups[:size]) for r, ups in batches(6)]
    assert all(len(u) == size for _, u in data)
    clock = ManualClock(T0)
    bg = BackgroundLakeWriter(
        writer_at(tmp_path, clock, max_buffered_rows=size * 5 // 2, flush_rows=10**9),
        clock=clock,
    )
    accepted = [bg.offer(updates, recv) for recv, updates in data[:5]]
    assert accepted == [True, True, False, False, False]
    assert bg.held_rows == 2 * size <= size * 5 // 2
    assert (bg.stats.rows_dropped, bg.stats.batches_dropped) == (3 * size, 3)
    await bg.close()
    back = pq.read_table(tmp_path, schema=SCHEMA)
    assert back.num_rows == 2 * size
    assert back.equals(encode([(0, data[0][0], data[0][1]), (1, data[1][0], data[1][1])]))


async def test_a_failed_write_keeps_its_batches_for_the_next_try(tmp_path: Path) -> None:
    """A file where the hour's directory should be makes the write fail (a real OSError): the
    batches stay buffered and counted once; with the obstacle gone, close() writes them all."""
    data = batches(4)
    clock = ManualClock(T0)
    bg = BackgroundLakeWriter(writer_at(tmp_path, clock, flush_rows=1), clock=clock)
    blocker = tmp_path / "dt=2026-01-01"
    blocker.write_text("not a directory")
    assert bg.offer(data[0][1], data[0][0])
    await bg.settle()
    assert bg.stats.write_failures == 1 and bg.last_error is not None
    assert bg.writer.buffered_rows == len(data[0][1])
    assert bg.offer(data[1][1], data[1][0])  # not retried before flush_seconds
    assert bg.stats.write_failures == 1
    blocker.unlink()
    await bg.close()
    assert bg.stats.rows_written == len(data[0][1]) + len(data[1][1])
    assert lake_view(tmp_path).execute(
        "SELECT count(DISTINCT batch) FROM market_data"
    ).fetchone() == (2,)


async def test_put_waits_for_the_write_in_progress_instead_of_dropping(tmp_path: Path) -> None:
    data = batches(20)
    clock = ManualClock(T0)
    size = len(data[0][1])
    bg = BackgroundLakeWriter(
        writer_at(tmp_path, clock, flush_rows=size, max_buffered_rows=size), clock=clock
    )
    for recv, updates in data:
        await bg.put(updates, recv)
    await bg.close()
    assert bg.stats.rows_dropped == 0
    assert bg.stats.rows_written == sum(len(u) for _, u in data)


@pytest.mark.parametrize(("enabled", "feed", "active"), [
    ("auto", "ccxt", True), ("auto", "simulated", False), ("auto", "replay", False),
    (True, "simulated", True), (False, "ccxt", False),
])  # fmt: skip
def test_recording_is_on_by_default_only_for_the_live_feed(
    enabled: bool | str, feed: str, active: bool
) -> None:
    assert MarketDataSettings.model_validate({"enabled": enabled}).active(feed) is active
