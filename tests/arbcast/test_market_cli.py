"""`arbcast market record`, in process with typer's CliRunner: record, then replay the file.

The command calls `asyncio.run`, so each invocation runs in a worker thread (its own event loop,
away from the tests' loop and from the main thread's signal handlers).
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from arbcast.market_cli import FeedKind, app, record_feed
from core.clock import ManualClock
from core.market import MarketSimSettings, MarketUpdate, ReplayFeed, SimulatedFeed, SimulatedMarket

runner = CliRunner()


async def invoke(*args: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, list(args))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ARBCAST_FEED", "ARBCAST_REPLAY_PATH", "ARBCAST_MARKET__SEED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def rows_of(output: str) -> tuple[int, int]:
    m = re.search(r"(\d+) rows in (\d+) batches", output)
    assert m is not None, output
    return int(m.group(1)), int(m.group(2))


async def replayed(path: Path) -> list[list[MarketUpdate]]:
    return [batch async for batch in ReplayFeed(path).updates()]


async def test_record_simulated_fast_then_replay_gives_the_same_updates(tmp_path: Path) -> None:
    out = tmp_path / "ticks.parquet"
    started = time.monotonic()
    done = await invoke("record", "--out", str(out), "--batches", "300", "--fast")
    elapsed = time.monotonic() - started
    assert done.exit_code == 0, done.output
    assert elapsed < 60  # 300 one-second ticks (5 minutes), without waiting for them
    rows, batches = rows_of(done.output)
    assert batches == 300
    assert rows > 300

    back = await replayed(out)
    assert len(back) == 300
    assert sum(len(b) for b in back) == rows

    # the same seed gives the same market: the replay is what the simulator produced
    clock = ManualClock()

    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    feed = SimulatedFeed(SimulatedMarket(MarketSimSettings()), clock, steps=300, sleep=sleep)
    assert [b async for b in feed.updates()] == back


async def test_seconds_with_fast_is_simulated_time(tmp_path: Path) -> None:
    out = tmp_path / "minute.parquet"
    done = await invoke("record", "--out", str(out), "--seconds", "60", "--fast", "--seed", "3")
    assert done.exit_code == 0, done.output
    rows, batches = rows_of(done.output)
    assert batches == 60  # one tick per second of the default settings
    back = await replayed(out)
    assert (len(back), sum(len(b) for b in back)) == (60, rows)


async def test_record_a_replay_copies_it(tmp_path: Path) -> None:
    source = tmp_path / "source.parquet"
    copy = tmp_path / "copy.parquet"
    first = await invoke("record", "--out", str(source), "--batches", "50", "--fast")
    assert first.exit_code == 0, first.output
    done = await invoke(
        "record", "--out", str(copy), "--feed", "replay", "--replay-path", str(source), "--fast"
    )
    assert done.exit_code == 0, done.output
    assert rows_of(done.output) == rows_of(first.output)
    assert await replayed(copy) == await replayed(source)


async def test_record_simulated_in_real_time_stops_after_seconds(tmp_path: Path) -> None:
    out = tmp_path / "real.parquet"
    done = await invoke("record", "--out", str(out), "--seconds", "0.3", "--feed", "simulated")
    assert done.exit_code == 0, done.output
    rows, batches = rows_of(done.output)
    assert batches == 1  # the first tick at once, the next one a second later
    assert rows > 0
    assert out.exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--fast"], "--fast needs --seconds or --batches"),
        (["--seconds", "5", "--batches", "5"], "not both"),
        (["--feed", "replay", "--fast"], "--replay-path"),
        (["--feed", "ccxt", "--fast", "--batches", "1"], "--fast applies"),
    ],
)
async def test_bad_combinations_exit_with_a_clear_error(
    tmp_path: Path, args: list[str], says: str
) -> None:
    done = await invoke("record", "--out", str(tmp_path / "x.parquet"), *args)
    assert done.exit_code == 2
    assert says in done.output
    assert not (tmp_path / "x.parquet").exists()


async def test_feed_defaults_to_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARBCAST_FEED", "replay")
    done = await invoke("record", "--out", str(tmp_path / "x.parquet"), "--batches", "1")
    assert done.exit_code == 2
    assert "--replay-path" in done.output
    assert FeedKind("ccxt") is FeedKind.CCXT


async def test_record_feed_writes_a_valid_file_when_cancelled(tmp_path: Path) -> None:
    out = tmp_path / "cut.parquet"
    feed = SimulatedFeed(SimulatedMarket(MarketSimSettings()), ManualClock(), interval_s=3600)
    task = asyncio.create_task(record_feed(feed, out, clock=None))
    for _ in range(20):
        await asyncio.sleep(0)
    task.cancel()
    result = await asyncio.wait_for(task, 5)
    assert result.interrupted
    assert result.batches == 1
    back = await replayed(out)
    assert sum(len(b) for b in back) == result.rows > 0


async def test_record_the_ccxt_feed_from_recorded_responses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.market.ccxt_feed import CcxtFeed
    from tests.core.market.test_ccxt_feed import EXCHANGES, SYMBOLS, RecordedExchange

    clock = ManualClock()
    recorded = {name: RecordedExchange(name, clock) for name in EXCHANGES}

    def from_settings(cls: type[CcxtFeed], settings: object, *args: object) -> CcxtFeed:
        return cls(recorded, SYMBOLS, interval_s=0.01, clock=clock)

    monkeypatch.setattr(CcxtFeed, "from_settings", classmethod(from_settings))
    out = tmp_path / "live.parquet"
    done = await invoke("record", "--out", str(out), "--feed", "ccxt", "--batches", "3")
    assert done.exit_code == 0, done.output
    assert rows_of(done.output) == (36, 3)  # 3 exchanges x 2 perpetuals x (book + funding)
    back = await replayed(out)
    assert [len(b) for b in back] == [12, 12, 12]
    assert {u.exchange for u in back[0]} == set(EXCHANGES)
    assert all(x.closed for x in recorded.values())


async def test_partitioned_record_writes_the_lake_and_a_day_of_it_replays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--partitioned` writes dt=/hour=/ files under --out (flushed by the market_data
    settings); a replay of the lake, narrowed to its one day, copies it to a single file."""
    monkeypatch.setenv("ARBCAST_MARKET_DATA__FLUSH_ROWS", "1000")
    lake = tmp_path / "market"
    done = await invoke("record", "--partitioned", "--out", str(lake), "--batches", "120", "--fast")
    assert done.exit_code == 0, done.output
    rows, batches = rows_of(done.output)
    assert batches == 120
    files = re.search(r"\((\d+) files under dt=/hour=\)", done.output)
    assert files is not None and int(files.group(1)) == len(list(lake.rglob("*.parquet"))) > 1
    assert all(p.parent.name.startswith("hour=") for p in lake.rglob("*.parquet"))
    back = [batch async for batch in ReplayFeed(lake).updates()]
    assert (len(back), sum(len(b) for b in back)) == (120, rows)

    day = lake.glob("dt=*").__next__().name.removeprefix("dt=")
    copy = tmp_path / "day.parquet"
    args = ["--feed", "replay", "--replay-path", str(lake), "--fast"]
    done = await invoke("record", "--out", str(copy), *args, "--since", day, "--until", day)
    assert done.exit_code == 0, done.output
    assert await replayed(copy) == back
    later = await invoke("record", "--out", str(tmp_path / "none.parquet"), *args,
                         "--since", "2999-01-01")  # fmt: skip
    assert later.exit_code == 0 and rows_of(later.output) == (0, 0)


async def test_partitioned_defaults_to_the_market_data_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARBCAST_DATA_DIR", str(tmp_path / "data"))
    done = await invoke("record", "--partitioned", "--batches", "3", "--fast")
    assert done.exit_code == 0, done.output
    assert len(list((tmp_path / "data" / "market").rglob("dt=*/hour=*/part-*.parquet"))) == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--batches", "1"], "give --out FILE, or --partitioned"),
        (["--out", "x.parquet", "--feed", "replay", "--replay-path", "nothing/*.parquet"],
         "no Parquet file matches"),
        (["--out", "x.parquet", "--since", "yesterday"], "is not a date"),
    ],
)  # fmt: skip
async def test_bad_partitioned_or_replay_arguments_exit_with_a_clear_error(
    args: list[str], says: str
) -> None:
    done = await invoke("record", *args)
    assert done.exit_code == 2
    assert says in done.output
