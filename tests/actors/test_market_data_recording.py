"""The market-data actor records its feed to the partitioned lake, and a recorded stretch
replays through the engine to the very opportunities the live feed gave.

No Ray: `MarketDataCoordinator` and `PairCoordinatorLogic` are plain classes. The coordinators'
Ray handles are stood in for by `LocalPair` (`.on_updates.remote(...)` runs the real pair logic
in this process). The oracle is detection run directly on the simulator's batches in memory,
routed and timed by this test's own rule (a pair sees the updates of its two exchanges; `now`
is the batch's newest update time).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import duckdb

from actors.market_data import MarketDataCoordinator
from actors.opportunity import BatchResult
from core.clock import ManualClock
from core.market import MarketSimSettings, ReplayFeed, SimulatedFeed, SimulatedMarket
from core.market.lake_layout import MarketDataSettings
from core.market.models import MarketUpdate
from core.market.simulator import DEFAULT_EXCHANGES, DEFAULT_SYMBOLS
from core.models import Opportunity
from core.opportunity.coordinator import PairCoordinatorLogic
from core.settings import Settings

START = 1_767_225_600.0 + 3600 - 400  # 2026-01-01 00:53:20 UTC: the run crosses into hour 01
STEPS = 900
MARKET = MarketSimSettings(
    seed=11,
    exchanges=DEFAULT_EXCHANGES[:3],
    symbols=DEFAULT_SYMBOLS[:5],
    spread_open_probability=0.03,
)

Outcome = dict[str, list[tuple[str, list[Opportunity]]]]


class LocalPair:
    """A coordinator handle that runs `PairCoordinatorLogic` here, keeping what came out."""

    def __init__(self, logic: PairCoordinatorLogic) -> None:
        self.logic = logic
        self.on_updates = self
        self.out: list[tuple[str, list[Opportunity]]] = []

    async def remote(self, updates: list[MarketUpdate], now: float) -> BatchResult:
        out = self.logic.on_updates(updates, now)
        for change, opps in (
            ("opened", out.opened),
            ("updated", out.updated),
            ("closed", out.closed),
        ):
            if opps:
                self.out.append((change, opps))
        return BatchResult(len(out.opened), len(out.updated), len(out.closed), len(out.records))


def pairs() -> dict[str, tuple[str, str]]:
    names = sorted(x.name for x in MARKET.exchanges)
    return {f"{a}-{b}": (a, b) for a, b in itertools.combinations(names, 2)}


def local_pairs(settings: Settings) -> dict[str, LocalPair]:
    exchanges = SimulatedMarket(MARKET).exchanges
    return {
        name: LocalPair(PairCoordinatorLogic(pair, exchanges, settings.engine))
        for name, pair in pairs().items()
    }


def engine_settings(root: Path, *, record: bool) -> Settings:
    base = Settings(_env_file=None)
    return base.model_copy(
        update={
            "market": MARKET,
            "market_data": MarketDataSettings(enabled=record, root=str(root), flush_rows=2_000),
            "engine_runtime": base.engine_runtime.model_copy(update={"max_in_flight": 1}),
        }
    )


def simulated_feed(clock: ManualClock) -> SimulatedFeed:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    return SimulatedFeed(SimulatedMarket(MARKET), clock, steps=STEPS, sleep=sleep)


def oracle(settings: Settings) -> Outcome:
    market = SimulatedMarket(MARKET)
    logics = {
        name: PairCoordinatorLogic(pair, market.exchanges, settings.engine)
        for name, pair in pairs().items()
    }
    got: Outcome = {name: [] for name in logics}
    for i in range(STEPS):
        batch = market.step(START + i)
        now = max(u.ts for u in batch)
        for name, pair in pairs().items():
            mine = [u for u in batch if u.exchange in pair]
            out = logics[name].on_updates(mine, now)
            for change, opps in (
                ("opened", out.opened),
                ("updated", out.updated),
                ("closed", out.closed),
            ):
                if opps:
                    got[name].append((change, opps))
    return got


async def run_engine(settings: Settings, feed: Any, clock: ManualClock) -> Outcome:
    handles = local_pairs(settings)
    engine = MarketDataCoordinator(settings, handles, clock=clock)
    await engine._run(feed)  # the actor's feed loop, on this feed
    await engine.stop()  # writes the recording's buffer
    assert engine.batches == STEPS
    return {name: h.out for name, h in handles.items()}


async def test_a_recorded_stretch_replays_to_the_same_opportunities(tmp_path: Path) -> None:
    lake = tmp_path / "market"
    recording = engine_settings(lake, record=True)
    clock = ManualClock(START)
    live = await run_engine(recording, simulated_feed(clock), clock)

    expected = oracle(recording)
    opened = [o for outs in expected.values() for change, opps in outs if change == "opened"
              for o in opps]  # fmt: skip
    assert len(opened) >= 20, "the stretch must open opportunities to compare"
    assert live == expected

    # The lake: two hour partitions, every batch once, readable by DuckDB.
    hours = sorted(p.relative_to(lake).as_posix() for p in lake.glob("dt=*/hour=*"))
    assert hours == ["dt=2026-01-01/hour=00", "dt=2026-01-01/hour=01"]
    counted = duckdb.sql(
        f"SELECT count(DISTINCT batch), count(*) FROM read_parquet('{lake}/**/*.parquet')"
    ).fetchone()
    market = SimulatedMarket(MARKET)
    rows = sum(len(market.step(START + i)) for i in range(STEPS))
    assert counted == (STEPS, rows)

    replay_settings = engine_settings(tmp_path / "unused", record=False)
    replayed = await run_engine(replay_settings, ReplayFeed(lake), ManualClock(START))
    assert replayed == expected
    assert not (tmp_path / "unused").exists()  # recording off: nothing written


async def test_stats_report_the_recording(tmp_path: Path) -> None:
    settings = engine_settings(tmp_path / "market", record=True)
    clock = ManualClock(START)
    engine = MarketDataCoordinator(settings, local_pairs(settings), clock=clock)
    await engine.run_steps(START, 5)
    before = (await engine.stats())["recording"]
    assert before["rows_written"] == 0 and before["rows_dropped"] == 0  # buffered, not due
    await engine.stop()
    after = (await engine.stats())["recording"]
    assert after["batches_written"] == 5 and after["files_written"] == 1
    off = MarketDataCoordinator(engine_settings(tmp_path / "x", record=False), {})
    assert (await off.stats())["recording"] is None
