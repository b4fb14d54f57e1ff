"""`CcxtFeed` against recorded ccxt responses: no network, no ccxt needed (but see the last tests).

The fixtures (`fixtures/ccxt_*.json`) hold ccxt's unified `fetch_order_book` and
`fetch_funding_rate` responses for binance, bybit and okx perpetuals, as produced by ccxt's own
parsers (`fixtures/make_ccxt_fixtures.py` says how). `RecordedExchange` replays them.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from core.clock import ManualClock
from core.errors import ConfigError
from core.market import BookCache, Feed, FundingRate, MarketSimSettings, OrderBook
from core.market.ccxt_feed import (
    CcxtFeed,
    CcxtSettings,
    funding_interval_hours,
    is_perpetual,
    parse_funding_rate,
    parse_order_book,
)
from core.market.simulator import ExchangeSpec, SymbolSpec
from core.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
EXCHANGES = ("binance", "bybit", "okx")
SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT")
T0 = 1_767_225_600.0
NEXT_FUNDING = T0 + 8 * 3600


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"ccxt_{name}.json").read_text())
    return data


class NetworkError(Exception):
    """Stands for ccxt.NetworkError (ccxt's errors are plain Exception subclasses)."""


Behaviour = Callable[[], Awaitable[None]]


class RecordedExchange:
    """Replays one exchange's recorded responses, with scripted delays, hangs and errors."""

    def __init__(self, name: str, clock: ManualClock) -> None:
        data = fixture(name)
        self.name = name
        self.has: dict[str, Any] = data["has"]
        self.markets: dict[str, Any] = data["markets"]
        self.books: dict[str, Any] = data["fetch_order_book"]
        self.funding: dict[str, Any] = data["fetch_funding_rate"]
        self.clock = clock
        self.calls: list[tuple[str, str, int | None]] = []
        self.delay_s: dict[str, float] = {}  # symbol -> seconds the call takes (clock time)
        self.hang: set[str] = set()  # symbols whose next book call never answers
        self.fail: Exception | None = None  # every call raises this
        self.closed = False

    async def load_markets(self) -> Mapping[str, Any]:
        return self.markets

    async def _behave(self, symbol: str) -> None:
        if self.fail is not None:
            raise self.fail
        if symbol in self.delay_s or symbol in self.hang:
            for _ in range(50):  # let every quick call of the round finish first
                await asyncio.sleep(0)
            self.clock.advance(seconds=self.delay_s.get(symbol, 0.0))
        if symbol in self.hang:
            await asyncio.Event().wait()

    async def fetch_order_book(self, symbol: str, limit: int | None = None) -> Mapping[str, Any]:
        self.calls.append(("fetch_order_book", symbol, limit))
        await self._behave(symbol)
        return copy.deepcopy(self.books[symbol])

    async def fetch_funding_rate(self, symbol: str) -> Mapping[str, Any]:
        self.calls.append(("fetch_funding_rate", symbol, None))
        if self.fail is not None:
            raise self.fail
        return copy.deepcopy(self.funding[symbol])

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def manual() -> ManualClock:
    return ManualClock(T0 + 5.0)


@pytest.fixture
def exchanges(manual: ManualClock) -> dict[str, RecordedExchange]:
    return {name: RecordedExchange(name, manual) for name in EXCHANGES}


def make_feed(
    exchanges: Mapping[str, RecordedExchange], clock: ManualClock, **kwargs: Any
) -> CcxtFeed:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    options: dict[str, Any] = {"clock": clock, "timer": clock.now, "sleep": sleep, "depth": 10}
    options.update(kwargs)
    return CcxtFeed(exchanges, SYMBOLS, **options)


def books_of(batch: list[Any]) -> dict[tuple[str, str], OrderBook]:
    return {(u.exchange, u.symbol): u for u in batch if isinstance(u, OrderBook)}


def funding_of(batch: list[Any]) -> dict[tuple[str, str], FundingRate]:
    return {(u.exchange, u.symbol): u for u in batch if isinstance(u, FundingRate)}


# ---------------------------------------------------------------- conversion


def test_fixtures_are_in_ccxt_unified_shape() -> None:
    for name in EXCHANGES:
        data = fixture(name)
        for symbol in SYMBOLS:
            book = data["fetch_order_book"][symbol]
            assert {"symbol", "bids", "asks", "timestamp", "datetime", "nonce"} <= set(book)
            assert book["symbol"] == symbol
            assert book["bids"][0][0] > book["bids"][-1][0]  # best (highest) bid first
            assert book["asks"][0][0] < book["asks"][-1][0]  # best (lowest) ask first
            rate = data["fetch_funding_rate"][symbol]
            assert {"symbol", "fundingRate", "fundingTimestamp", "nextFundingTimestamp"} <= set(
                rate
            )
            assert data["markets"][symbol]["swap"] is True


async def test_one_round_converts_every_book_and_funding_rate(
    exchanges: dict[str, RecordedExchange], manual: ManualClock
) -> None:
    feed = make_feed(exchanges, manual)
    batch = await feed.poll_once()
    books, funding = books_of(batch), funding_of(batch)
    assert set(books) == {(x, s) for x in EXCHANGES for s in SYMBOLS}
    assert set(funding) == set(books)  # all perpetuals, all three exchanges have the call

    btc = books[("binance", "BTC/USDT:USDT")]
    assert (btc.best_bid, btc.best_ask) == (94_999.9, 95_000.0)
    assert [lv.qty for lv in btc.bids] == [2.113, 0.4, 1.25, 0.9, 3.0]
    assert [lv.price for lv in btc.asks] == [95_000.0, 95_000.1, 95_000.2, 95_000.3, 95_000.4]
    assert btc.ts == pytest.approx(T0 + 0.118)  # the exchange's timestamp, in seconds
    assert btc.ask_notional == pytest.approx(sum(lv.price * lv.qty for lv in btc.asks))

    okx = books[("okx", "ETH/USDT:USDT")]  # okx levels are [price, amount, count]
    assert (okx.best_bid, okx.best_ask) == (3_399.19, 3_399.2)
    assert len(okx.bids) == len(okx.asks) == 3
    assert okx.mid == pytest.approx((3_399.19 + 3_399.2) / 2)

    bybit = books[("bybit", "BTC/USDT:USDT")]
    assert (bybit.best_bid, bybit.best_ask, len(bybit.bids)) == (95_009.9, 95_010.0, 4)
    assert bybit.ts == pytest.approx(T0 + 0.205)

    assert funding[("binance", "BTC/USDT:USDT")] == FundingRate(
        "binance", "BTC/USDT:USDT", rate=0.0001, next_funding_ts=NEXT_FUNDING, ts=T0 + 1.0
    )
    # bybit's ETH pays every 4 hours: the rate is normalised to 8 hours
    assert funding[("bybit", "ETH/USDT:USDT")].rate == pytest.approx(0.0005)
    assert funding[("bybit", "BTC/USDT:USDT")].rate == pytest.approx(0.0001)
    # okx gives no observation time: the call's time stands in; next settlement, not the one after
    okx_eth = funding[("okx", "ETH/USDT:USDT")]
    assert okx_eth.rate == pytest.approx(-0.0000315)
    assert okx_eth.next_funding_ts == NEXT_FUNDING
    assert okx_eth.ts == T0 + 5.0

    for x in exchanges.values():
        assert ("fetch_order_book", "BTC/USDT:USDT", 10) in x.calls


def test_parse_order_book_truncates_depth_sorts_and_drops_bad_levels() -> None:
    response = {
        "symbol": "BTC/USDT",
        "bids": [[99.0, 1.0], [100.0, 2.0], [98.0, 0.0], [97.0, None], [96.0, 1.0]],
        "asks": [[101.0, 1.0], [102.0, 1.0, 3], [103.0, 1.0]],
        "timestamp": None,
        "datetime": None,
        "nonce": None,
    }
    book = parse_order_book(
        "kraken", "BTC/USDT", response, latency_ms=12.5, fallback_ts=7.0, depth=2
    )
    assert [lv.price for lv in book.bids] == [100.0, 99.0]
    assert [lv.price for lv in book.asks] == [101.0, 102.0]
    assert (book.ts, book.latency_ms) == (7.0, 12.5)


def test_funding_helpers() -> None:
    assert funding_interval_hours("8h") == 8.0
    assert funding_interval_hours("1h") == 1.0
    assert funding_interval_hours("480m") == 8.0
    assert funding_interval_hours(None) == 8.0
    assert funding_interval_hours("weird") == 8.0
    assert parse_funding_rate("x", "s", {"fundingRate": None}, fallback_ts=1.0) is None
    hourly = parse_funding_rate(
        "x", "s", {"fundingRate": 0.00001, "interval": "1h", "timestamp": 1_000}, fallback_ts=0.0
    )
    assert hourly is not None
    assert hourly.rate == pytest.approx(0.00008)
    assert hourly.ts == 1.0
    assert is_perpetual("BTC/USDT:USDT", None)
    assert not is_perpetual("BTC/USDT", None)
    assert not is_perpetual("BTC/USDT:USDT-260327", None)
    assert not is_perpetual("BTC/USDT:USDT", {"swap": False})


# ---------------------------------------------------------------- latency, slowness, failures


async def test_latency_is_measured_and_a_slow_call_is_marked(
    exchanges: dict[str, RecordedExchange], manual: ManualClock
) -> None:
    exchanges["bybit"].delay_s["ETH/USDT:USDT"] = 2.5
    batch = await make_feed(exchanges, manual).poll_once()
    books = books_of(batch)
    slow = books[("bybit", "ETH/USDT:USDT")]
    assert slow.latency_ms == pytest.approx(2_500.0)
    assert slow.best_bid == 3_401.49  # still reported, with its data
    fast = [b for key, b in books.items() if key != ("bybit", "ETH/USDT:USDT")]
    assert all(b.latency_ms == 0.0 for b in fast)

    cache = BookCache(max_age_s=3600.0)
    for book in books.values():
        cache.update(book)
    now = manual.now()
    assert cache.staleness("bybit", "ETH/USDT:USDT", now) == "latency"
    assert cache.staleness("binance", "ETH/USDT:USDT", now) is None


async def test_a_timed_out_call_resends_the_last_book_with_its_latency(
    exchanges: dict[str, RecordedExchange], manual: ManualClock
) -> None:
    feed = make_feed(exchanges, manual, timeout_s=0.05)
    first = books_of(await feed.poll_once())[("okx", "BTC/USDT:USDT")]
    exchanges["okx"].hang.add("BTC/USDT:USDT")
    exchanges["okx"].delay_s["BTC/USDT:USDT"] = 3.0  # the clock moves while it hangs
    batch = await feed.poll_once()
    again = books_of(batch)[("okx", "BTC/USDT:USDT")]
    assert (again.bids, again.asks, again.ts) == (first.bids, first.asks, first.ts)
    assert again.latency_ms == pytest.approx(3_000.0)
    assert feed.timeouts == 1
    assert books_of(batch)[("okx", "ETH/USDT:USDT")].latency_ms < 2_000.0

    cache = BookCache(max_age_s=3600.0)
    cache.update(first)
    cache.update(again)
    assert cache.staleness("okx", "BTC/USDT:USDT", manual.now()) == "latency"


async def test_a_first_call_that_times_out_reports_an_empty_stale_book(
    exchanges: dict[str, RecordedExchange], manual: ManualClock
) -> None:
    exchanges["binance"].hang.add("BTC/USDT:USDT")
    exchanges["binance"].delay_s["BTC/USDT:USDT"] = 2.2
    feed = make_feed(exchanges, manual, timeout_s=0.05)
    book = books_of(await feed.poll_once())[("binance", "BTC/USDT:USDT")]
    assert (book.bids, book.asks) == ((), ())
    assert book.latency_ms == pytest.approx(2_200.0)
    assert book.ts == T0 + 5.0


async def test_an_exchange_that_fails_does_not_stop_the_others(
    exchanges: dict[str, RecordedExchange],
    manual: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    exchanges["bybit"].fail = NetworkError("bybit GET https://api.bybit.com 502 Bad Gateway")
    feed = make_feed(exchanges, manual, rounds=2)
    with caplog.at_level(logging.WARNING, logger="core.market.ccxt_feed"):
        batches = [b async for b in feed.updates()]
    assert len(batches) == 2
    for batch in batches:
        assert {x for x, _ in books_of(batch)} == {"binance", "okx"}
        assert {x for x, _ in funding_of(batch)} == {"binance", "okx"}
    assert feed.errors == 8  # 2 rounds x 2 symbols x (book + funding)
    assert "NetworkError" in caplog.text
    assert "502 Bad Gateway" in caplog.text


async def test_an_unreadable_response_is_skipped(
    exchanges: dict[str, RecordedExchange], manual: ManualClock
) -> None:
    exchanges["okx"].books["BTC/USDT:USDT"]["bids"] = [["not a price", 1.0]]
    batch = await make_feed(exchanges, manual).poll_once()
    assert ("okx", "BTC/USDT:USDT") not in books_of(batch)
    assert ("okx", "ETH/USDT:USDT") in books_of(batch)


async def test_funding_only_where_the_exchange_has_it_and_only_for_perpetuals(
    exchanges: dict[str, RecordedExchange], manual: ManualClock
) -> None:
    exchanges["okx"].has = {**exchanges["okx"].has, "fetchFundingRate": False}
    spot = dict(exchanges["binance"].markets["BTC/USDT:USDT"], swap=False, spot=True)
    exchanges["binance"].markets["BTC/USDT:USDT"] = spot
    batch = await make_feed(exchanges, manual).poll_once()
    assert set(funding_of(batch)) == {
        ("binance", "ETH/USDT:USDT"),
        ("bybit", "BTC/USDT:USDT"),
        ("bybit", "ETH/USDT:USDT"),
    }
    assert not any(c[0] == "fetch_funding_rate" for c in exchanges["okx"].calls)
    assert len(books_of(batch)) == 6


async def test_symbols_an_exchange_does_not_list_are_not_polled(
    exchanges: dict[str, RecordedExchange],
    manual: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    del exchanges["okx"].markets["ETH/USDT:USDT"]
    with caplog.at_level(logging.WARNING, logger="core.market.ccxt_feed"):
        batch = await make_feed(exchanges, manual).poll_once()
    assert ("okx", "ETH/USDT:USDT") not in books_of(batch)
    assert not any(c[1] == "ETH/USDT:USDT" for c in exchanges["okx"].calls)
    assert "okx does not list ETH/USDT:USDT" in caplog.text


async def test_markets_that_fail_to_load_are_retried_next_round(
    exchanges: dict[str, RecordedExchange], manual: ManualClock
) -> None:
    attempts = 0
    okx = exchanges["okx"]

    async def flaky() -> Mapping[str, Any]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise NetworkError("okx load_markets: connection reset")
        return okx.markets

    okx.load_markets = flaky  # type: ignore[method-assign]
    feed = make_feed(exchanges, manual, rounds=2)
    batches = [b async for b in feed.updates()]
    assert {x for x, _ in books_of(batches[0])} == {"binance", "bybit"}
    assert {x for x, _ in books_of(batches[1])} == set(EXCHANGES)
    assert attempts == 2


# ---------------------------------------------------------------- the Feed protocol


async def test_rounds_are_paced_by_the_interval(
    exchanges: dict[str, RecordedExchange], manual: ManualClock
) -> None:
    feed = make_feed(exchanges, manual, interval_s=2.0, rounds=3)
    assert isinstance(feed, Feed)
    seen: list[float] = []
    async for batch in feed.updates():
        assert len(batch) == 12
        seen.append(manual.now())
    assert seen == [T0 + 5.0, T0 + 7.0, T0 + 9.0]


async def test_close_stops_the_iterator_and_closes_the_exchanges(
    exchanges: dict[str, RecordedExchange], manual: ManualClock
) -> None:
    # Real sleeps with an hour between rounds: only close() can end this iteration in time.
    feed = CcxtFeed(exchanges, SYMBOLS, interval_s=3600.0, clock=manual)
    got: list[int] = []
    first = asyncio.Event()

    async def consume() -> None:
        async for batch in feed.updates():
            got.append(len(batch))
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    await feed.close()
    await asyncio.wait_for(task, 5)
    assert got == [12]
    assert all(x.closed for x in exchanges.values())
    assert [b async for b in feed.updates()] == []  # closed for good
    await feed.close()  # idempotent


async def test_close_interrupts_a_round_in_flight(
    exchanges: dict[str, RecordedExchange], manual: ManualClock
) -> None:
    exchanges["okx"].hang.add("BTC/USDT:USDT")
    feed = CcxtFeed(exchanges, SYMBOLS, timeout_s=3600.0, clock=manual)
    task = asyncio.create_task(anext(feed.updates(), None))
    for _ in range(100):
        await asyncio.sleep(0)
    await feed.close()
    assert await asyncio.wait_for(task, 5) is None


# ---------------------------------------------------------------- from_settings


def live_settings(**market: Any) -> Settings:
    exchanges = (
        ExchangeSpec(name="binance", taker_fee=0.0004),
        ExchangeSpec(name="okx", taker_fee=0.0005),
    )
    sim = MarketSimSettings(
        exchanges=exchanges, symbols=(SymbolSpec(symbol="BTC/USDT", price=95_000.0),), **market
    )
    return Settings(market=sim)


def test_from_settings_without_ccxt_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ccxt", None)
    monkeypatch.setitem(sys.modules, "ccxt.async_support", None)
    with pytest.raises(ConfigError, match=r"pip install 'arbcast\[live\]'"):
        CcxtFeed.from_settings(live_settings())


def test_ccxt_settings_keep_the_timeout_above_the_staleness_threshold() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        CcxtSettings(timeout_s=1.0)


async def test_from_settings_builds_ccxt_exchanges_without_network() -> None:
    pytest.importorskip("ccxt.async_support")
    cfg = CcxtSettings(symbols=("BTC/USDT:USDT", "ETH/USDT:USDT"), interval_s=3.0, depth=20)
    feed = CcxtFeed.from_settings(live_settings(), cfg)
    try:
        assert set(feed.exchanges) == {"binance", "okx"}
        assert feed.symbols == ("BTC/USDT:USDT", "ETH/USDT:USDT")
        assert (feed.interval_s, feed.depth, feed.timeout_s) == (3.0, 20, 5.0)
        for name, exchange in feed.exchanges.items():
            assert type(exchange).__module__.startswith("ccxt.async_support")
            assert getattr(exchange, "id", None) == name
            assert getattr(exchange, "enableRateLimit", None) is True
            assert exchange.has.get("fetchOrderBook")
        default = CcxtFeed.from_settings(live_settings())
        assert default.symbols == ("BTC/USDT",)  # settings.market's symbols
        await default.close()
    finally:
        await feed.close()


def test_from_settings_rejects_an_exchange_ccxt_does_not_know() -> None:
    pytest.importorskip("ccxt.async_support")
    settings = Settings(
        market=MarketSimSettings(exchanges=(ExchangeSpec(name="nowhere-ex", taker_fee=0.001),))
    )
    with pytest.raises(ConfigError, match="nowhere-ex"):
        CcxtFeed.from_settings(settings)
