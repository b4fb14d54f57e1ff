"""A seeded, deterministic market simulator for development, tests and load runs.

`SimulatedMarket.step(now)` advances the market to `now` (the caller's clock) and returns the
updates produced since the previous step: no real time, no network. Same settings and same
sequence of `now` values give the same updates, bit for bit (one `random.Random(seed)` drives
everything, and iteration orders are fixed).

What it models, per symbol: a log-normal random walk of the mid price with occasional
volatility bursts; per exchange, a small independent price noise, a bid/ask spread and several
depth levels whose size grows with distance from the top; occasionally a cross-exchange
dislocation (one exchange cheap, another rich) whose size and lifetime are log-normal (larger
dislocations are arbitraged away faster); perpetual funding rates that drift around a
symbol-wide level and occasionally diverge on one exchange; stale feeds (an exchange stops
publishing a symbol for a while), thin books, and exchange-wide latency spikes above 2 s.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from core.market.models import (
    FUNDING_INTERVAL_S,
    BookLevel,
    ExchangeInfo,
    FundingRate,
    MarketUpdate,
    OrderBook,
)

FUNDING_PERIOD_S = FUNDING_INTERVAL_S


class ExchangeSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    taker_fee: float = Field(ge=0, le=0.01)
    base_latency_ms: float = Field(default=80.0, ge=0)
    half_spread_pct: float = Field(default=0.005, gt=0, description="Half bid/ask spread, %")


class SymbolSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    symbol: str
    price: float = Field(gt=0)


DEFAULT_EXCHANGES = (
    ExchangeSpec(name="binance", taker_fee=0.0004, base_latency_ms=40, half_spread_pct=0.003),
    ExchangeSpec(name="bybit", taker_fee=0.00055, base_latency_ms=60, half_spread_pct=0.004),
    ExchangeSpec(name="okx", taker_fee=0.0005, base_latency_ms=70, half_spread_pct=0.004),
    ExchangeSpec(name="kraken", taker_fee=0.001, base_latency_ms=120, half_spread_pct=0.006),
)

DEFAULT_SYMBOLS = tuple(
    SymbolSpec(symbol=f"{base}/USDT", price=price)
    for base, price in (
        ("BTC", 95_000.0),
        ("ETH", 3_400.0),
        ("SOL", 190.0),
        ("BNB", 690.0),
        ("XRP", 2.3),
        ("ADA", 0.95),
        ("DOGE", 0.32),
        ("AVAX", 38.0),
        ("DOT", 7.2),
        ("LINK", 22.0),
        ("LTC", 105.0),
        ("TRX", 0.25),
        ("ATOM", 6.5),
        ("NEAR", 5.1),
        ("APT", 9.5),
        ("ARB", 0.8),
        ("OP", 1.9),
        ("SUI", 4.2),
        ("TON", 5.6),
        ("POL", 0.5),
    )
)


class MarketSimSettings(BaseModel):
    """Every knob of the simulator. Probabilities are per step (per symbol or per market)."""

    model_config = ConfigDict(frozen=True)

    seed: int = 7
    exchanges: tuple[ExchangeSpec, ...] = DEFAULT_EXCHANGES
    symbols: tuple[SymbolSpec, ...] = DEFAULT_SYMBOLS
    tick_interval_s: float = Field(default=1.0, gt=0, description="Pace of the async feed")
    step_volatility_pct: float = Field(default=0.02, ge=0, description="Mid stdev per tick, %")
    vol_burst_probability: float = Field(default=0.0008, ge=0, le=1)
    vol_burst_multiplier: float = Field(default=12.0, ge=1)
    vol_burst_duration_s: tuple[float, float] = (20.0, 90.0)
    exchange_noise_pct: float = Field(default=0.003, ge=0, description="Per-exchange noise, %")
    depth_levels: int = Field(default=6, ge=1)
    level_step_pct: float = Field(default=0.01, gt=0, description="Price gap between levels, %")
    top_level_usd: float = Field(default=20_000.0, gt=0)
    depth_growth: float = Field(default=0.35, ge=0, description="Extra size per level, fraction")
    thin_book_probability: float = Field(default=0.001, ge=0, le=1)
    thin_book_factor: float = Field(default=0.01, gt=0, le=1)
    thin_book_duration_s: tuple[float, float] = (10.0, 60.0)
    update_probability: float = Field(default=0.9, gt=0, le=1, description="Book publish odds")
    spread_open_probability: float = Field(default=0.006, ge=0, le=1)
    spread_size_median_pct: float = Field(default=0.35, gt=0)
    spread_size_sigma: float = Field(default=0.6, ge=0)
    spread_lifetime_median_s: float = Field(default=6.0, gt=0)
    spread_lifetime_sigma: float = Field(default=0.9, ge=0)
    spread_lifetime_size_exponent: float = Field(
        default=0.5, ge=0, description="Lifetime median scales as (size/median)^-exponent"
    )
    stale_probability: float = Field(default=0.0004, ge=0, le=1)
    stale_duration_s: tuple[float, float] = (10.0, 60.0)
    latency_spike_probability: float = Field(default=0.0015, ge=0, le=1)
    latency_spike_ms: tuple[float, float] = (2_500.0, 6_000.0)
    latency_spike_duration_s: tuple[float, float] = (5.0, 30.0)
    funding_publish_interval_s: float = Field(default=30.0, gt=0)
    funding_base_rate: float = Field(default=0.0001, description="Per 8 h, fraction")
    funding_noise: float = Field(default=0.00003, ge=0)
    funding_divergence_probability: float = Field(default=0.0005, ge=0, le=1)
    funding_divergence_size: tuple[float, float] = (0.0005, 0.003)
    funding_divergence_duration_s: tuple[float, float] = (300.0, 3_600.0)
    volume_base_usd: float = Field(default=50_000.0, gt=0, description="Traded per tick")

    def exchange_infos(self) -> dict[str, ExchangeInfo]:
        return {e.name: ExchangeInfo(name=e.name, taker_fee=e.taker_fee) for e in self.exchanges}


@dataclass(slots=True)
class _Dislocation:
    cheap: str
    rich: str
    size_pct: float
    opened_at: float
    closes_at: float


@dataclass(slots=True)
class _SymbolState:
    mid: float
    funding_level: float
    burst_until: float = -math.inf
    dislocation: _Dislocation | None = None
    last_return: float = 0.0


@dataclass(slots=True)
class _MarketState:
    stale_until: float = -math.inf
    thin_until: float = -math.inf
    next_funding_publish: float = -math.inf
    funding_extra: float = 0.0
    funding_extra_until: float = -math.inf
    half_spread_scale: float = 1.0


@dataclass(slots=True)
class _ExchangeState:
    spike_until: float = -math.inf
    spike_ms: float = 0.0


@dataclass(slots=True)
class SimStats:
    """Counts of what the simulator did, for tests and reports."""

    dislocations: int = 0
    stale_events: int = 0
    latency_spikes: int = 0
    thin_events: int = 0
    vol_bursts: int = 0
    funding_divergences: int = 0
    dislocation_log: list[tuple[str, str, str, float, float, float]] = field(default_factory=list)


class SimulatedMarket:
    def __init__(self, settings: MarketSimSettings | None = None) -> None:
        self.settings = s = settings or MarketSimSettings()
        self._rng = random.Random(s.seed)
        self._last_now: float | None = None
        self.stats = SimStats()
        self._symbols = {
            spec.symbol: _SymbolState(
                mid=spec.price, funding_level=s.funding_base_rate * self._rng.uniform(0.5, 1.5)
            )
            for spec in s.symbols
        }
        self._markets = {
            (ex.name, spec.symbol): _MarketState(half_spread_scale=self._rng.uniform(0.7, 1.5))
            for spec in s.symbols
            for ex in s.exchanges
        }
        self._exchanges = {ex.name: _ExchangeState() for ex in s.exchanges}

    @property
    def exchanges(self) -> dict[str, ExchangeInfo]:
        return self.settings.exchange_infos()

    @property
    def symbols(self) -> list[str]:
        return [spec.symbol for spec in self.settings.symbols]

    def mid(self, symbol: str) -> float:
        return self._symbols[symbol].mid

    def step(self, now: float) -> list[MarketUpdate]:
        """Advance the market to `now` and return the updates published at `now`."""
        s = self.settings
        rng = self._rng
        dt = s.tick_interval_s if self._last_now is None else max(0.0, now - self._last_now)
        self._last_now = now
        scale = math.sqrt(dt / s.tick_interval_s) if dt > 0 else 0.0

        for ex_state in self._exchanges.values():
            if now >= ex_state.spike_until and rng.random() < s.latency_spike_probability:
                ex_state.spike_until = now + rng.uniform(*s.latency_spike_duration_s)
                ex_state.spike_ms = rng.uniform(*s.latency_spike_ms)
                self.stats.latency_spikes += 1

        names = [ex.name for ex in s.exchanges]
        updates: list[MarketUpdate] = []
        for spec in s.symbols:
            sym = spec.symbol
            st = self._symbols[sym]
            if now >= st.burst_until and rng.random() < s.vol_burst_probability:
                st.burst_until = now + rng.uniform(*s.vol_burst_duration_s)
                self.stats.vol_bursts += 1
            vol = s.step_volatility_pct / 100.0
            if now < st.burst_until:
                vol *= s.vol_burst_multiplier
            ret = rng.gauss(0.0, vol) * scale
            st.mid *= math.exp(ret - 0.5 * (vol * scale) ** 2)
            st.last_return = ret
            st.funding_level += rng.gauss(0.0, s.funding_noise * 0.1) * scale

            d = st.dislocation
            if d is not None and now >= d.closes_at:
                st.dislocation = d = None
            if d is None and len(names) >= 2 and rng.random() < s.spread_open_probability:
                cheap, rich = rng.sample(names, 2)
                size = s.spread_size_median_pct * math.exp(rng.gauss(0.0, s.spread_size_sigma))
                median_life = s.spread_lifetime_median_s * (size / s.spread_size_median_pct) ** (
                    -s.spread_lifetime_size_exponent
                )
                life = median_life * math.exp(rng.gauss(0.0, s.spread_lifetime_sigma))
                st.dislocation = d = _Dislocation(cheap, rich, size, now, now + life)
                self.stats.dislocations += 1
                self.stats.dislocation_log.append((sym, cheap, rich, size, now, life))

            for ex in s.exchanges:
                updates.extend(self._market_updates(ex, sym, st, now, scale))
        return updates

    def _market_updates(
        self, ex: ExchangeSpec, sym: str, st: _SymbolState, now: float, scale: float
    ) -> list[MarketUpdate]:
        s = self.settings
        rng = self._rng
        ms = self._markets[(ex.name, sym)]
        ex_state = self._exchanges[ex.name]
        out: list[MarketUpdate] = []

        if now >= ms.stale_until and rng.random() < s.stale_probability:
            ms.stale_until = now + rng.uniform(*s.stale_duration_s)
            self.stats.stale_events += 1
        if now >= ms.thin_until and rng.random() < s.thin_book_probability:
            ms.thin_until = now + rng.uniform(*s.thin_book_duration_s)
            self.stats.thin_events += 1
        if now >= ms.funding_extra_until and rng.random() < s.funding_divergence_probability:
            ms.funding_extra = rng.choice((-1.0, 1.0)) * rng.uniform(*s.funding_divergence_size)
            ms.funding_extra_until = now + rng.uniform(*s.funding_divergence_duration_s)
            self.stats.funding_divergences += 1
        publish = rng.random() < s.update_probability
        noise = rng.gauss(0.0, s.exchange_noise_pct / 100.0)
        if now < ms.stale_until or not publish:
            return out

        offset = noise
        d = st.dislocation
        if d is not None:
            if ex.name == d.cheap:
                offset -= d.size_pct / 200.0
            elif ex.name == d.rich:
                offset += d.size_pct / 200.0
        mid = st.mid * (1.0 + offset)
        half = ex.half_spread_pct / 100.0 * ms.half_spread_scale
        step = s.level_step_pct / 100.0
        top_usd = s.top_level_usd * (s.thin_book_factor if now < ms.thin_until else 1.0)
        rand = rng.random
        growth = s.depth_growth
        bids = tuple(
            BookLevel(px, top_usd * (1.0 + growth * i) * (0.6 + 0.8 * rand()) / px)
            for i, px in enumerate([mid * (1.0 - half - step * i) for i in range(s.depth_levels)])
        )
        asks = tuple(
            BookLevel(px, top_usd * (1.0 + growth * i) * (0.6 + 0.8 * rand()) / px)
            for i, px in enumerate([mid * (1.0 + half + step * i) for i in range(s.depth_levels)])
        )

        latency = ex.base_latency_ms * rng.uniform(0.5, 1.5)
        if now < ex_state.spike_until:
            latency = ex_state.spike_ms * rng.uniform(0.9, 1.1)
        move = abs(st.last_return) / max(s.step_volatility_pct / 100.0, 1e-12)
        volume_usd = s.volume_base_usd * scale * math.exp(rng.gauss(0.0, 0.4)) * (0.5 + 0.5 * move)
        out.append(
            OrderBook(
                exchange=ex.name,
                symbol=sym,
                bids=bids,
                asks=asks,
                ts=now - latency / 1000.0,
                latency_ms=latency,
                volume=volume_usd / mid,
            )
        )
        if now >= ms.next_funding_publish:
            if ms.next_funding_publish == -math.inf:  # stagger first publications
                ms.next_funding_publish = now + rng.uniform(0.0, s.funding_publish_interval_s)
            else:
                ms.next_funding_publish = now + s.funding_publish_interval_s
            extra = ms.funding_extra if now < ms.funding_extra_until else 0.0
            rate = st.funding_level + extra + rng.gauss(0.0, s.funding_noise)
            out.append(
                FundingRate(
                    exchange=ex.name,
                    symbol=sym,
                    rate=rate,
                    next_funding_ts=(math.floor(now / FUNDING_PERIOD_S) + 1) * FUNDING_PERIOD_S,
                    ts=now - latency / 1000.0,
                )
            )
        return out
