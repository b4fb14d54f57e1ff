"""Replaying the partitioned lake: a lake root (hours in order, a date range), a glob, and the
clear errors for what holds nothing; the single-file recorder and the lake agree row for row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from core.clock import ManualClock
from core.market import MarketSimSettings, ReplayFeed, SimulatedMarket, read_batches, record
from core.market.lake_layout import MarketDataSettings
from core.market.lake_writer import MarketLakeWriter
from core.market.models import MarketUpdate
from core.parquet_storage import Storage

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DAY = 86_400.0


def day_batches(n: int, start: float) -> list[tuple[float, list[MarketUpdate]]]:
    market = SimulatedMarket(MarketSimSettings(seed=21))
    return [(start + 61 * i, market.step(start + 61 * i)) for i in range(n)]


def write_lake(root: Path, data: list[tuple[float, list[MarketUpdate]]], chunk: int) -> int:
    """Written in flushes of `chunk` batches (several files per hour); returns files."""
    w = MarketLakeWriter(
        Storage.local(root), MarketDataSettings(root=str(root)), clock=ManualClock(T0)
    )
    files = 0
    for i, (recv, updates) in enumerate(data):
        w.add(updates, recv)
        if (i + 1) % chunk == 0:
            files += len(w.flush())
    return files + len(w.flush())


@pytest.fixture
def two_days(tmp_path: Path) -> tuple[Path, list[tuple[float, list[MarketUpdate]]]]:
    """Batches every 61 s from 2026-01-01 23:00 to 2026-01-02 01:00 (three hours, two days)."""
    data = day_batches(118, T0 + DAY - 3600)
    assert write_lake(tmp_path / "lake", data, chunk=7) > 3
    return tmp_path / "lake", data


async def test_a_lake_root_replays_every_batch_in_order(
    two_days: tuple[Path, list[tuple[float, list[MarketUpdate]]]],
) -> None:
    root, data = two_days
    assert list(read_batches(root)) == data
    assert [b async for b in ReplayFeed(root).updates()] == [u for _, u in data]


def test_a_date_range_replays_only_those_days(
    two_days: tuple[Path, list[tuple[float, list[MarketUpdate]]]],
) -> None:
    root, data = two_days
    jan2 = [(r, u) for r, u in data if r >= T0 + DAY]
    assert 0 < len(jan2) < len(data)
    assert list(read_batches(root, since=date(2026, 1, 2))) == jan2
    assert list(read_batches(root, until=date(2026, 1, 1))) == data[: len(data) - len(jan2)]
    assert list(read_batches(root, since=date(2026, 1, 3))) == []


def test_a_glob_replays_the_files_it_matches(
    two_days: tuple[Path, list[tuple[float, list[MarketUpdate]]]],
) -> None:
    root, data = two_days
    hour0 = [(r, u) for r, u in data if T0 + DAY <= r < T0 + DAY + 3600]
    assert list(read_batches(f"{root}/dt=2026-01-02/hour=00/*.parquet")) == hour0
    assert list(read_batches(f"{root}/**/*.parquet")) == data


def test_partial_files_are_not_replayed(
    two_days: tuple[Path, list[tuple[float, list[MarketUpdate]]]],
) -> None:
    """A writer's temporary file (killed mid-write) is invisible to a replay."""
    root, data = two_days
    hour = root / "dt=2026-01-02" / "hour=00"
    (hour / ".tmp-0123-part-x.parquet.inprogress").write_bytes(b"PAR1 truncated")
    assert list(read_batches(root)) == data


def test_what_holds_nothing_says_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no dt=YYYY-MM-DD/hour=HH partitions"):
        list(read_batches(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="no Parquet file matches"):
        list(read_batches(f"{tmp_path}/*/x*.parquet"))
    with pytest.raises(FileNotFoundError, match="no recording at"):
        list(read_batches(tmp_path / "missing.parquet"))


def test_the_single_file_and_the_lake_hold_the_same_rows(tmp_path: Path) -> None:
    """One schema: the recorder's file and the lake's files differ only in batch numbers."""
    data = day_batches(30, T0)
    record([u for _, u in data], tmp_path / "one.parquet")
    write_lake(tmp_path / "lake", data, chunk=100)
    one = pq.read_table(tmp_path / "one.parquet").drop_columns(["batch"])
    lake = pq.read_table(next((tmp_path / "lake").rglob("*.parquet"))).drop_columns(["batch"])
    assert one.schema == lake.schema.remove_metadata()
    # The recorder stamps each batch with its newest update time; the lake with its recv_ts.
    assert one.drop_columns(["recv_ts"]).equals(lake.drop_columns(["recv_ts"]))
