"""Market models, depth walking and the book cache."""

from __future__ import annotations

import pytest

from core.market import (
    BookCache,
    BookLevel,
    FundingRate,
    OrderBook,
    fill_notional,
    fill_quantity,
    update_from_dict,
)

T0 = 1_767_225_600.0


def book(
    exchange: str = "a", symbol: str = "BTC/USDT", ts: float = T0, latency: float = 50.0
) -> OrderBook:
    return OrderBook(
        exchange,
        symbol,
        bids=(BookLevel(99.0, 1.0), BookLevel(98.0, 2.0)),
        asks=(BookLevel(101.0, 1.0), BookLevel(102.0, 3.0)),
        ts=ts,
        latency_ms=latency,
    )


def test_book_exposes_best_prices_mid_and_side_depth_in_quote() -> None:
    b = book()
    assert (b.best_bid, b.best_ask, b.mid) == (99.0, 101.0, 100.0)
    assert b.bid_notional == pytest.approx(99.0 + 196.0)
    assert b.ask_notional == pytest.approx(101.0 + 306.0)


def test_updates_round_trip_through_dicts() -> None:
    f = FundingRate("a", "BTC/USDT", 0.0001, T0 + 3600, ts=T0)
    assert update_from_dict(book().to_dict()) == book()
    assert update_from_dict(f.to_dict()) == f


def test_fill_quantity_walks_levels_for_vwap() -> None:
    """1 at 101 + 1 at 102 → VWAP 101.5, complete."""
    fill = fill_quantity(book().asks, 2.0)
    assert fill.qty == 2.0
    assert fill.notional == 203.0
    assert fill.vwap == 101.5
    assert fill.complete


def test_fill_notional_spends_quote_across_levels_and_reports_shortfall() -> None:
    """Spending 203 buys 1 at 101 and 1 at 102; spending 10,000 exhausts the book."""
    fill = fill_notional(book().asks, 203.0)
    assert fill.qty == pytest.approx(2.0)
    assert fill.complete
    short = fill_notional(book().asks, 10_000.0)
    assert short.qty == 4.0
    assert short.notional == pytest.approx(101.0 + 306.0)
    assert not short.complete


def test_cache_keeps_latest_book_and_ignores_out_of_order_ones() -> None:
    cache = BookCache()
    cache.update(book(ts=T0 + 2))
    cache.update(book(ts=T0 + 1))
    got = cache.get("a", "BTC/USDT")
    assert got is not None
    assert got.ts == T0 + 2


def test_cache_marks_market_stale_when_older_than_threshold() -> None:
    cache = BookCache(max_age_s=5.0)
    cache.update(book("a", ts=T0))
    cache.update(book("a", "ETH/USDT", ts=T0 + 10))
    assert cache.staleness("a", "BTC/USDT", T0 + 10) == "stale"
    assert cache.is_fresh("a", "ETH/USDT", T0 + 10)
    assert cache.staleness("a", "SOL/USDT", T0) == "no_data"


def test_cache_marks_market_stale_on_latency_above_two_seconds() -> None:
    cache = BookCache()
    cache.update(book("a", ts=T0, latency=2_500.0))
    assert cache.staleness("a", "BTC/USDT", T0) == "latency"


def test_cache_marks_whole_exchange_stale_on_latency_spike_or_silence() -> None:
    """A spike seen on one symbol makes the exchange's other symbols unusable too."""
    cache = BookCache(max_age_s=5.0)
    cache.update(book("a", "ETH/USDT", ts=T0))
    cache.update(book("a", "BTC/USDT", ts=T0 + 1, latency=3_000.0))
    assert cache.exchange_staleness("a", T0 + 1) == "exchange_latency"
    assert cache.staleness("a", "ETH/USDT", T0 + 1) == "exchange_latency"
    silent = BookCache(max_age_s=5.0)
    silent.update(book("b", ts=T0))
    assert silent.exchange_staleness("b", T0 + 6) == "exchange_stale"


def test_fresh_books_returns_only_fresh_exchanges_sorted() -> None:
    cache = BookCache(max_age_s=5.0)
    cache.update(book("c", ts=T0 + 9))
    cache.update(book("a", ts=T0 + 9))
    cache.update(book("b", ts=T0))  # stale at T0 + 9
    assert list(cache.fresh_books("BTC/USDT", T0 + 9)) == ["a", "c"]


def test_cache_snapshot_restores_identical_state() -> None:
    cache = BookCache()
    cache.update(book("a", ts=T0))
    cache.update(book("b", "ETH/USDT", ts=T0 + 1, latency=2_100))
    other = BookCache()
    other.restore(cache.snapshot())
    assert other.snapshot() == cache.snapshot()
    assert other.staleness("b", "ETH/USDT", T0 + 1) == cache.staleness("b", "ETH/USDT", T0 + 1)
