"""Recording to Parquet and replaying: same updates, same batches, timestamp order."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from core.clock import ManualClock
from core.market import (
    MarketSimSettings,
    MarketUpdate,
    ReplayFeed,
    SimulatedFeed,
    SimulatedMarket,
    TickRecorder,
    read_batches,
    record,
)

T0 = 1_767_225_600.0


def batches(n: int, seed: int = 5) -> list[list[MarketUpdate]]:
    market = SimulatedMarket(MarketSimSettings(seed=seed))
    return [market.step(T0 + i) for i in range(n)]


async def test_record_then_replay_yields_identical_batches(tmp_path: Path) -> None:
    original = batches(30)
    path = tmp_path / "ticks.parquet"
    rows = record(original, path)
    assert rows == sum(len(b) for b in original)
    replayed = [b async for b in ReplayFeed(path).updates()]
    assert replayed == original


def test_recording_is_zstd_parquet(tmp_path: Path) -> None:
    path = tmp_path / "ticks.parquet"
    record(batches(3), path)
    meta = pq.ParquetFile(path).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_flat_list_records_as_one_batch(tmp_path: Path) -> None:
    flat = [u for b in batches(2) for u in b]
    path = tmp_path / "flat.parquet"
    record(flat, path)
    assert [b for _, b in read_batches(path)] == [flat]


def test_replay_sorts_batches_by_timestamp(tmp_path: Path) -> None:
    """Batches written out of order come back in receive-time order."""
    original = batches(5)
    path = tmp_path / "shuffled.parquet"
    with TickRecorder(path, flush_rows=7) as rec:  # small flushes: several row groups
        for i in (3, 0, 4, 1, 2):
            rec.write(original[i], recv_ts=T0 + i)
    assert [b for _, b in read_batches(path)] == original


async def test_replay_at_speed_sleeps_recorded_gaps_divided_by_speed(tmp_path: Path) -> None:
    path = tmp_path / "ticks.parquet"
    with TickRecorder(path) as rec:
        for i, b in enumerate(batches(4)):
            rec.write(b, recv_ts=T0 + 2 * i)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    n = len([b async for b in ReplayFeed(path, speed=4.0, sleep=sleep).updates()])
    assert n == 4
    assert slept == [0.5, 0.5, 0.5]
    fast: list[float] = []

    async def no_sleep(seconds: float) -> None:
        fast.append(seconds)

    assert len([b async for b in ReplayFeed(path, sleep=no_sleep).updates()]) == 4
    assert fast == []


async def test_recorder_drains_any_feed(tmp_path: Path) -> None:
    clock = ManualClock(T0)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    feed = SimulatedFeed(SimulatedMarket(MarketSimSettings(seed=9)), clock, steps=6, sleep=sleep)
    path = tmp_path / "feed.parquet"
    with TickRecorder(path) as rec:
        assert await rec.record_feed(feed, clock=clock) == 6
    assert [b async for b in ReplayFeed(path).updates()] == batches(6, seed=9)


def test_empty_recording_is_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    with TickRecorder(path):
        pass
    assert list(read_batches(path)) == []
