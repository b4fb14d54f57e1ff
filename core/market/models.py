"""Market data: order books, funding rates and exchange facts.

Frozen slotted dataclasses rather than pydantic models: the simulator and the coordinators
create and read hundreds of thousands of these, and validation would dominate the cost.
Each type round-trips through plain dicts (`to_dict` / `*_from_dict`) for snapshots and
Parquet recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_LATENCY_MS = 2_000.0
FUNDING_INTERVAL_S = 8 * 3600.0  # the interval `FundingRate.rate` is quoted for


@dataclass(frozen=True, slots=True)
class BookLevel:
    price: float
    qty: float  # base-asset quantity

    @property
    def notional(self) -> float:
        return self.price * self.qty


@dataclass(frozen=True, slots=True)
class OrderBook:
    """A depth snapshot. Bids best (highest) first, asks best (lowest) first.

    `ts` is the exchange's own timestamp of the snapshot (seconds since the epoch),
    `latency_ms` the API round-trip measured when it was fetched, and `volume` the base-asset
    volume traded since the previous snapshot (0 when unknown), used by technical signals.
    """

    exchange: str
    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    ts: float
    latency_ms: float = 0.0
    volume: float = 0.0
    bid_notional: float = field(init=False, repr=False, compare=False)
    ask_notional: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Depth in quote currency per side, computed once (books are read far more than built).
        object.__setattr__(self, "bid_notional", sum(lv.price * lv.qty for lv in self.bids))
        object.__setattr__(self, "ask_notional", sum(lv.price * lv.qty for lv in self.asks))

    @property
    def best_bid(self) -> float:
        return self.bids[0].price if self.bids else 0.0

    @property
    def best_ask(self) -> float:
        return self.asks[0].price if self.asks else 0.0

    @property
    def mid(self) -> float:
        if not self.bids or not self.asks:
            return 0.0
        return (self.bids[0].price + self.asks[0].price) / 2.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "book",
            "exchange": self.exchange,
            "symbol": self.symbol,
            "ts": self.ts,
            "latency_ms": self.latency_ms,
            "volume": self.volume,
            "bids": [[lv.price, lv.qty] for lv in self.bids],
            "asks": [[lv.price, lv.qty] for lv in self.asks],
        }


@dataclass(frozen=True, slots=True)
class FundingRate:
    """A perpetual's funding rate, as a fraction per 8-hour funding interval."""

    exchange: str
    symbol: str
    rate: float
    next_funding_ts: float
    ts: float = 0.0  # when the rate was observed (exchange timestamp)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "funding",
            "exchange": self.exchange,
            "symbol": self.symbol,
            "rate": self.rate,
            "next_funding_ts": self.next_funding_ts,
            "ts": self.ts,
        }


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    name: str
    taker_fee: float  # fraction: 0.001 is 0.1 %


MarketUpdate = OrderBook | FundingRate


def update_ts(update: MarketUpdate) -> float:
    return update.ts


def update_to_dict(update: MarketUpdate) -> dict[str, Any]:
    return update.to_dict()


def update_from_dict(data: dict[str, Any]) -> MarketUpdate:
    if data["kind"] == "book":
        return OrderBook(
            exchange=str(data["exchange"]),
            symbol=str(data["symbol"]),
            bids=tuple(BookLevel(float(p), float(q)) for p, q in data["bids"]),
            asks=tuple(BookLevel(float(p), float(q)) for p, q in data["asks"]),
            ts=float(data["ts"]),
            latency_ms=float(data["latency_ms"]),
            volume=float(data.get("volume", 0.0)),
        )
    if data["kind"] == "funding":
        return FundingRate(
            exchange=str(data["exchange"]),
            symbol=str(data["symbol"]),
            rate=float(data["rate"]),
            next_funding_ts=float(data["next_funding_ts"]),
            ts=float(data.get("ts", 0.0)),
        )
    raise ValueError(f"unknown market update kind: {data.get('kind')!r}")
