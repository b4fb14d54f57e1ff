"""`CcxtFeed`: live order books and funding rates from exchanges' REST APIs through ccxt.

Every `interval_s`, for each exchange and each symbol it lists, `fetch_order_book(symbol,
depth)` and, for perpetual swaps on exchanges whose `has['fetchFundingRate']` is set,
`fetch_funding_rate(symbol)`: all concurrently, each under `timeout_s`. One round is one batch.

- A book's `latency_ms` is the measured round-trip of its call (ccxt's client-side rate-limit
  wait included: data that arrives late is late). `ts` is the exchange's timestamp, or the
  time the call was made when the exchange gives none.
- A call slower than 2 s is reported like any other, with its latency, so `BookCache` marks the
  market stale. A call that times out is reported too: the last book of that market is sent
  again, same `ts`, with the timed-out call's latency (an empty book when there is none yet).
- A call that fails is logged and skipped; it never stops the feed or the other calls.
- Funding rates are normalised to 8 hours (`FundingRate.rate` is per 8 h): ccxt's `interval`
  ("4h", "1h", ...) scales the rate; unknown intervals count as 8 h. `next_funding_ts` is the
  next settlement (ccxt's `fundingTimestamp`, else `nextFundingTimestamp`).

ccxt is an optional dependency (`pip install 'arbcast[live]'`), imported only by
`CcxtFeed.from_settings`. The feed itself takes any objects shaped like ccxt's async exchanges
(`ExchangeLike`), so tests replay recorded responses without network and without ccxt.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from core.clock import Clock, SystemClock
from core.errors import ConfigError
from core.market.feed import Sleep
from core.market.models import MAX_LATENCY_MS, BookLevel, FundingRate, MarketUpdate, OrderBook

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

INSTALL_HINT = "pip install 'arbcast[live]'"
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd])\s*$")
_UNIT_HOURS = {"m": 1 / 60, "h": 1.0, "d": 24.0}


class ExchangeLike(Protocol):
    """What `CcxtFeed` uses of a `ccxt.async_support` exchange."""

    has: Mapping[str, Any]

    async def load_markets(self) -> Mapping[str, Any]: ...

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None
    ) -> Mapping[str, Any]: ...

    async def fetch_funding_rate(self, symbol: str) -> Mapping[str, Any]: ...

    async def close(self) -> None: ...


class CcxtSettings(BaseModel):
    """Knobs of the live feed. Exchanges are `settings.market.exchanges` (names are ccxt ids;
    their taker fees are the engine's)."""

    model_config = ConfigDict(frozen=True)

    symbols: tuple[str, ...] = Field(
        default=(),
        description="ccxt unified symbols, e.g. BTC/USDT:USDT (perpetual: funding too) or "
        "BTC/USDT (spot); empty: the symbols of settings.market",
    )
    interval_s: float = Field(default=2.0, gt=0, description="One round of calls this often")
    timeout_s: float = Field(
        default=5.0,
        gt=MAX_LATENCY_MS / 1000.0,
        description="A call is abandoned (and its market reported stale) after this long",
    )
    depth: int = Field(default=10, ge=1, le=1000, description="Order book levels per side")
    markets_timeout_s: float = Field(
        default=30.0, gt=0, description="Time allowed to load an exchange's market list"
    )
    enable_rate_limit: bool = Field(default=True, description="ccxt's client-side rate limiter")


def parse_order_book(
    exchange: str,
    symbol: str,
    response: Mapping[str, Any],
    *,
    latency_ms: float,
    fallback_ts: float,
    depth: int | None = None,
) -> OrderBook:
    """ccxt's unified order book (`bids`/`asks` as [price, amount, ...], best first;
    `timestamp` in ms or None) as an `OrderBook`."""
    timestamp = response.get("timestamp")
    return OrderBook(
        exchange=exchange,
        symbol=symbol,
        bids=_levels(response.get("bids"), depth, reverse=True),
        asks=_levels(response.get("asks"), depth, reverse=False),
        ts=float(timestamp) / 1000.0 if timestamp is not None else fallback_ts,
        latency_ms=latency_ms,
    )


def parse_funding_rate(
    exchange: str, symbol: str, response: Mapping[str, Any], *, fallback_ts: float
) -> FundingRate | None:
    """ccxt's unified funding rate as a `FundingRate` per 8 h; None without a rate."""
    rate = response.get("fundingRate")
    if rate is None:
        return None
    timestamp = response.get("timestamp")
    ts = float(timestamp) / 1000.0 if timestamp is not None else fallback_ts
    settlements = [
        float(v) / 1000.0
        for v in (response.get("fundingTimestamp"), response.get("nextFundingTimestamp"))
        if v is not None
    ]
    upcoming = [s for s in settlements if s > ts]
    next_ts = upcoming[0] if upcoming else max(settlements, default=0.0)
    return FundingRate(
        exchange=exchange,
        symbol=symbol,
        rate=float(rate) * 8.0 / funding_interval_hours(response.get("interval")),
        next_funding_ts=next_ts,
        ts=ts,
    )


def funding_interval_hours(interval: object) -> float:
    """ccxt's funding `interval` ("8h", "4h", "60m", "1d") in hours; 8 when unknown."""
    if isinstance(interval, str):
        m = _INTERVAL.match(interval)
        if m:
            hours = float(m.group(1)) * _UNIT_HOURS[m.group(2)]
            if hours > 0:
                return hours
    return 8.0


def _levels(raw: object, depth: int | None, *, reverse: bool) -> tuple[BookLevel, ...]:
    if not isinstance(raw, Sequence):
        return ()
    out: list[BookLevel] = []
    for entry in raw:
        if not isinstance(entry, Sequence) or len(entry) < 2:
            continue
        price, qty = entry[0], entry[1]
        if price is None or qty is None:
            continue
        p, q = float(price), float(qty)
        if p > 0 and q > 0 and math.isfinite(p) and math.isfinite(q):
            out.append(BookLevel(p, q))
    out.sort(key=lambda lv: lv.price, reverse=reverse)  # ccxt sorts already; be sure
    return tuple(out if depth is None else out[:depth])


def is_perpetual(symbol: str, market: Mapping[str, Any] | None) -> bool:
    """A perpetual swap: by the exchange's market when known, else ccxt's notation
    (BASE/QUOTE:SETTLE, no expiry suffix)."""
    if market is not None and "swap" in market:
        return bool(market["swap"])
    if ":" not in symbol:
        return False
    return "-" not in symbol.split(":", 1)[1]


class CcxtFeed:
    """Polls exchanges through ccxt's async API; see the module docstring."""

    def __init__(
        self,
        exchanges: Mapping[str, ExchangeLike],
        symbols: Sequence[str],
        *,
        interval_s: float = 2.0,
        timeout_s: float = 5.0,
        depth: int = 10,
        markets_timeout_s: float = 30.0,
        clock: Clock | None = None,
        timer: Callable[[], float] = time.perf_counter,
        sleep: Sleep = asyncio.sleep,
        rounds: int | None = None,
    ) -> None:
        """`exchanges` by name (the name goes into every update); `clock` stamps data that the
        exchange does not timestamp; `timer` (monotonic seconds) measures latencies and paces
        rounds; `rounds` bounds the number of batches (None: until `close()`)."""
        if not exchanges:
            raise ConfigError("CcxtFeed needs at least one exchange")
        if not symbols:
            raise ConfigError("CcxtFeed needs at least one symbol")
        self.exchanges = dict(exchanges)
        self.symbols = tuple(symbols)
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.depth = depth
        self.markets_timeout_s = markets_timeout_s
        self.rounds = rounds
        self._clock: Clock = clock or SystemClock()
        self._timer = timer
        self._sleep = sleep
        self._closed = asyncio.Event()
        self._markets: dict[str, Mapping[str, Any]] = {}  # exchange -> its markets, once loaded
        self._last_books: dict[tuple[str, str], OrderBook] = {}
        self.errors = 0  # failed calls, for stats and tests
        self.timeouts = 0

    @classmethod
    def from_settings(
        cls, settings: Settings, ccxt_settings: CcxtSettings | None = None, **kwargs: Any
    ) -> CcxtFeed:
        """Build ccxt exchanges for `settings.market.exchanges` (public data, no API keys).

        Uses `ccxt_settings`, else `settings.ccxt` when Settings has it, else the defaults.
        Raises ConfigError when ccxt is not installed or does not know an exchange.
        """
        cfg = ccxt_settings or getattr(settings, "ccxt", None) or CcxtSettings()
        if not isinstance(cfg, CcxtSettings):
            raise ConfigError("settings.ccxt must be a CcxtSettings")
        try:
            # optional dependency (arbcast[live]); imported by name: ccxt ships no type hints
            ccxt_async: Any = importlib.import_module("ccxt.async_support")
        except ImportError as exc:
            raise ConfigError(f"ARBCAST_FEED=ccxt needs the ccxt package: {INSTALL_HINT}") from exc
        names = [spec.name for spec in settings.market.exchanges]
        unknown = [n for n in names if n not in ccxt_async.exchanges]
        if unknown:
            raise ConfigError(
                f"ccxt does not know exchange(s) {', '.join(unknown)}: set "
                "ARBCAST_MARKET__EXCHANGES to ccxt exchange ids (binance, bybit, okx, ...)"
            )
        symbols = cfg.symbols or tuple(spec.symbol for spec in settings.market.symbols)
        # ccxt's own HTTP timeout a little later than ours, so ours reports the stale market
        timeout_ms = int(cfg.timeout_s * 1000) + 1000
        exchanges: dict[str, ExchangeLike] = {
            name: getattr(ccxt_async, name)(
                {"enableRateLimit": cfg.enable_rate_limit, "timeout": timeout_ms}
            )
            for name in names
        }
        return cls(
            exchanges,
            symbols,
            interval_s=cfg.interval_s,
            timeout_s=cfg.timeout_s,
            depth=cfg.depth,
            markets_timeout_s=cfg.markets_timeout_s,
            **kwargs,
        )

    # ---------------------------------------------------------------- the Feed protocol

    async def updates(self) -> AsyncIterator[list[MarketUpdate]]:
        done = 0
        while not self._closed.is_set() and (self.rounds is None or done < self.rounds):
            started = self._timer()
            finished, batch = await self._until_closed(self.poll_once())
            if not finished or batch is None:  # closed meanwhile
                return
            yield batch
            done += 1
            if self._closed.is_set() or (self.rounds is not None and done >= self.rounds):
                return
            delay = max(0.0, started + self.interval_s - self._timer())
            finished, _ = await self._until_closed(self._sleep(delay))
            if not finished:
                return

    async def close(self) -> None:
        """Stop the iterator (promptly, even mid-round) and close the exchanges' sessions."""
        if self._closed.is_set():
            return
        self._closed.set()
        for name, exchange in self.exchanges.items():
            try:
                await exchange.close()
            except Exception as exc:
                log.warning("closing %s failed: %s", name, exc)

    # ---------------------------------------------------------------- one round

    async def poll_once(self) -> list[MarketUpdate]:
        """One round of calls: every book and funding rate, concurrently; failures skipped."""
        await self._load_markets()
        calls: list[Awaitable[MarketUpdate | None]] = []
        for name, exchange in self.exchanges.items():
            markets = self._markets.get(name)
            if markets is None:
                continue  # market list not loaded yet: retried next round
            funding = bool(exchange.has.get("fetchFundingRate"))
            for symbol in self.symbols:
                market = markets.get(symbol)
                if market is None:
                    continue
                calls.append(self._book(name, exchange, symbol))
                if funding and is_perpetual(symbol, market):
                    calls.append(self._funding(name, exchange, symbol))
        results = await asyncio.gather(*calls)
        return [u for u in results if u is not None]

    async def _load_markets(self) -> None:
        pending = [n for n in self.exchanges if n not in self._markets]
        if not pending:
            return

        async def load(name: str) -> None:
            try:
                markets = await asyncio.wait_for(
                    self.exchanges[name].load_markets(), self.markets_timeout_s
                )
            except TimeoutError:
                log.warning("%s: loading markets timed out; retrying next round", name)
                return
            except Exception as exc:
                log.warning("%s: loading markets failed (%s); retrying next round", name, exc)
                return
            self._markets[name] = markets
            missing = [s for s in self.symbols if s not in markets]
            if missing:
                log.warning("%s does not list %s: not polled there", name, ", ".join(missing))

        await asyncio.gather(*(load(n) for n in pending))

    async def _book(self, name: str, exchange: ExchangeLike, symbol: str) -> OrderBook | None:
        called_at = self._clock.now()
        started = self._timer()
        try:
            response = await asyncio.wait_for(
                exchange.fetch_order_book(symbol, self.depth), self.timeout_s
            )
        except TimeoutError:
            latency_ms = (self._timer() - started) * 1000.0
            self.timeouts += 1
            log.warning("%s %s: order book timed out after %.0f ms", name, symbol, latency_ms)
            last = self._last_books.get((name, symbol))
            if last is None:
                return OrderBook(name, symbol, (), (), ts=called_at, latency_ms=latency_ms)
            return OrderBook(name, symbol, last.bids, last.asks, ts=last.ts, latency_ms=latency_ms)
        except Exception as exc:
            self.errors += 1
            log.warning("%s %s: fetch_order_book failed: %s", name, symbol, _describe(exc))
            return None
        latency_ms = (self._timer() - started) * 1000.0
        try:
            book = parse_order_book(
                name, symbol, response, latency_ms=latency_ms, fallback_ts=called_at,
                depth=self.depth,
            )  # fmt: skip
        except (TypeError, ValueError, AttributeError) as exc:
            self.errors += 1
            log.warning("%s %s: unreadable order book: %s", name, symbol, exc)
            return None
        if latency_ms > MAX_LATENCY_MS:
            log.info("%s %s: slow order book (%.0f ms)", name, symbol, latency_ms)
        self._last_books[(name, symbol)] = book
        return book

    async def _funding(self, name: str, exchange: ExchangeLike, symbol: str) -> FundingRate | None:
        called_at = self._clock.now()
        try:
            response = await asyncio.wait_for(exchange.fetch_funding_rate(symbol), self.timeout_s)
            return parse_funding_rate(name, symbol, response, fallback_ts=called_at)
        except TimeoutError:
            self.timeouts += 1
            log.warning("%s %s: funding rate timed out", name, symbol)
        except Exception as exc:
            self.errors += 1
            log.warning("%s %s: fetch_funding_rate failed: %s", name, symbol, _describe(exc))
        return None

    async def _until_closed(self, work: Awaitable[T]) -> tuple[bool, T | None]:
        """(True, `work`'s result), or (False, None) as soon as the feed is closed (the work is
        then cancelled)."""
        task = asyncio.ensure_future(work)
        closing = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({task, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, closing):
                if not pending.done():
                    pending.cancel()
        if not task.done() or task.cancelled():
            return False, None
        return True, task.result()


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__
