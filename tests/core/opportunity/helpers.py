"""Hand-built books and candidates for the opportunity tests."""

from __future__ import annotations

from core.market import BookLevel, OrderBook
from core.models import OpportunityType
from core.opportunity import Candidate

T0 = 1_767_225_600.0


def mkbook(
    exchange: str,
    bids: list[tuple[float, float]],
    asks: list[tuple[float, float]],
    *,
    symbol: str = "BTC/USDT",
    ts: float = T0,
    latency: float = 50.0,
    volume: float = 1.0,
) -> OrderBook:
    return OrderBook(
        exchange,
        symbol,
        tuple(BookLevel(p, q) for p, q in bids),
        tuple(BookLevel(p, q) for p, q in asks),
        ts,
        latency,
        volume,
    )


def level_book(
    exchange: str, mid: float, *, half: float = 0.01, qty: float = 1_000.0, **kw: object
) -> OrderBook:
    """A deep book around `mid` with a tiny spread (`half` absolute)."""
    return mkbook(
        exchange,
        [(mid - half, qty), (mid - half - 0.5, qty)],
        [(mid + half, qty), (mid + half + 0.5, qty)],
        **kw,  # type: ignore[arg-type]
    )


def cand(
    net: float = 0.5,
    *,
    kind: OpportunityType = OpportunityType.ARBITRAGE,
    symbol: str = "BTC/USDT",
    depth: float = 50_000.0,
    figures: dict[str, float] | None = None,
) -> Candidate:
    return Candidate(
        type=kind,
        symbol=symbol,
        buy_exchange="a",
        sell_exchange="b" if kind is not OpportunityType.TECHNICAL else "a",
        buy_price=100.0,
        sell_price=100.0 * (1 + net / 100),
        gross_spread_pct=net + 0.2,
        net_spread_pct=net,
        fees_pct=0.2,
        slippage_pct=0.0,
        position_usd=10_000.0,
        buy_depth_usd=depth,
        sell_depth_usd=depth,
        figures=figures or {},
    )
