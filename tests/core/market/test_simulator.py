"""The simulated market: deterministic per seed, realistic features, steppable and paced."""

from __future__ import annotations

from core.clock import ManualClock
from core.market import (
    FundingRate,
    MarketSimSettings,
    MarketUpdate,
    OrderBook,
    SimulatedFeed,
    SimulatedMarket,
)

T0 = 1_767_225_600.0


def run(settings: MarketSimSettings, steps: int) -> list[list[MarketUpdate]]:
    market = SimulatedMarket(settings)
    return [market.step(T0 + i) for i in range(steps)]


def test_same_seed_gives_identical_updates_and_other_seed_differs() -> None:
    a = run(MarketSimSettings(seed=11), 150)
    b = run(MarketSimSettings(seed=11), 150)
    c = run(MarketSimSettings(seed=12), 150)
    assert a == b
    assert a != c


def test_defaults_cover_four_exchanges_with_distinct_fees_and_twenty_symbols() -> None:
    market = SimulatedMarket()
    fees = {x.taker_fee for x in market.exchanges.values()}
    assert len(market.exchanges) >= 4
    assert len(fees) >= 4
    assert all(0.0002 <= f <= 0.001 for f in fees)
    assert len(market.symbols) >= 20
    assert market.mid("BTC/USDT") > 10_000 > market.mid("ETH/USDT") > 100 > market.mid("XRP/USDT")


def test_books_have_sorted_depth_growing_away_from_the_top() -> None:
    batch = SimulatedMarket(MarketSimSettings(seed=1)).step(T0)
    books = [u for u in batch if isinstance(u, OrderBook)]
    assert books
    for b in books:
        assert b.best_bid < b.best_ask
        assert [lv.price for lv in b.bids] == sorted((lv.price for lv in b.bids), reverse=True)
        assert [lv.price for lv in b.asks] == sorted(lv.price for lv in b.asks)
        assert len(b.bids) == len(b.asks) == 6
        assert b.ts <= T0
        assert b.volume > 0


def test_over_two_thousand_steps_spreads_open_feeds_stall_latency_spikes_and_funding_diverges() -> (
    None
):
    """Each realism feature actually happens, visible in the data (not only in the stats)."""
    market = SimulatedMarket(MarketSimSettings(seed=7))
    fees = {x: i.taker_fee for x, i in market.exchanges.items()}
    last_seen: dict[tuple[str, str], float] = {}
    gaps = 0
    spikes = 0
    profitable_crosses = 0
    funding: dict[tuple[str, str], float] = {}
    max_funding_gap = 0.0
    for i in range(2_000):
        now = T0 + i
        books: dict[str, dict[str, OrderBook]] = {}
        for u in market.step(now):
            key = (u.exchange, u.symbol)
            if isinstance(u, FundingRate):
                funding[key] = u.rate
                continue
            if key in last_seen and now - last_seen[key] > 8:
                gaps += 1
            last_seen[key] = now
            spikes += u.latency_ms > 2_000
            books.setdefault(u.symbol, {})[u.exchange] = u
        for per_ex in books.values():
            for buy in per_ex.values():
                for sell in per_ex.values():
                    edge = (sell.best_bid - buy.best_ask) / buy.best_ask
                    profitable_crosses += edge > fees[buy.exchange] + fees[sell.exchange]
        for sym in market.symbols:
            rates = [r for (x, s), r in funding.items() if s == sym]
            if len(rates) > 1:
                max_funding_gap = max(max_funding_gap, max(rates) - min(rates))
    stats = market.stats
    assert stats.dislocations > 50
    assert profitable_crosses > 50
    assert gaps > 5
    assert spikes > 5
    assert max_funding_gap > 0.0005
    assert stats.thin_events > 0
    assert stats.vol_bursts > 0


async def test_feed_paces_steps_on_the_injected_clock() -> None:
    """Four batches, one per interval, without real time passing."""
    clock = ManualClock(T0)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    feed = SimulatedFeed(
        SimulatedMarket(MarketSimSettings(seed=3)), clock, interval_s=2.0, steps=4, sleep=sleep
    )
    stamps = []
    async for batch in feed.updates():
        assert batch
        stamps.append(clock.now())
    assert stamps == [T0, T0 + 2, T0 + 4, T0 + 6]


async def test_feed_stops_when_closed() -> None:
    clock = ManualClock(T0)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    feed = SimulatedFeed(SimulatedMarket(), clock, sleep=sleep)
    n = 0
    async for _ in feed.updates():
        n += 1
        if n == 3:
            await feed.close()
    assert n == 3
