"""Detectors: from books and funding rates to priced candidates, fees and slippage included.

All percentages are in percent (0.1 means 0.1 %), fees are fractions (0.001 is 0.1 %).

ARBITRAGE (cross-exchange spot, buy on A, sell on B) for a target size of N USD:
  q      = base bought by spending N on A's asks, capped by the base B's bids can absorb
  buy    = VWAP of q on A's asks, sell = VWAP of q on B's bids
  gross  = (best bid B − best ask A) / best ask A × 100              (top of book)
  net    = (sell − buy) / buy × 100 − (fee_A + fee_B) × 100
  slippage = gross − (sell − buy) / buy × 100  (≥ 0), so net = gross − slippage − fees.

FUNDING (perpetuals, long where funding is low, short where it is high), held P periods:
  gross  = (rate_short − rate_long) × P × 100   (shorts receive, longs pay, per 8 h)
  net    = gross − 2 × (fee_long + fee_short) × 100   (taker fees to enter and to leave)
  The entry/exit price basis is assumed to net out; figures carry the per-8h and annualised
  (× 3 × 365) differences.

TECHNICAL (one exchange, long only, mean reversion): RSI(period) below `rsi_oversold` signals;
the target is the slow EMA (`macd_slow` periods) of the mid series:
  buy    = VWAP of N USD on the asks, gross = (target − best ask) / best ask × 100
  net    = (target − buy) / buy × 100 − 2 × fee × 100   (in and out)
  MACD(fast, slow, signal) and volume go into the candidate's figures; Level 2 requires the
  histogram to be rising and the volume confirmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from core.market.depth import fill_notional, fill_quantity, total_qty
from core.market.models import FUNDING_INTERVAL_S, FundingRate, OrderBook
from core.models import OpportunityType
from core.opportunity.indicators import ema, macd, rsi, volume_confirmed
from core.opportunity.settings import DetectionSettings


@dataclass(frozen=True, slots=True)
class Candidate:
    type: OpportunityType
    symbol: str
    buy_exchange: str
    sell_exchange: str
    buy_price: float
    sell_price: float
    gross_spread_pct: float
    net_spread_pct: float
    fees_pct: float
    slippage_pct: float
    position_usd: float  # the size the prices were computed for
    buy_depth_usd: float  # depth on the side bought (asks)
    sell_depth_usd: float  # depth on the side sold (bids)
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identity of "the same opportunity": type, symbol and direction (exchange order)."""
        return f"{self.type.value}|{self.symbol}|{self.buy_exchange}|{self.sell_exchange}"

    @property
    def exchanges(self) -> tuple[str, ...]:
        if self.buy_exchange == self.sell_exchange:
            return (self.buy_exchange,)
        return (self.buy_exchange, self.sell_exchange)

    @property
    def available_depth_usd(self) -> float:
        return min(self.buy_depth_usd, self.sell_depth_usd)


def detect_arbitrage(
    buy_book: OrderBook,
    sell_book: OrderBook,
    buy_fee: float,
    sell_fee: float,
    position_usd: float,
) -> Candidate | None:
    """Buy `position_usd` on `buy_book`'s asks and sell it on `sell_book`'s bids."""
    if not buy_book.asks or not sell_book.bids:
        return None
    q = min(fill_notional(buy_book.asks, position_usd).qty, total_qty(sell_book.bids))
    if q <= 0:
        return None
    buy = fill_quantity(buy_book.asks, q)
    sell = fill_quantity(sell_book.bids, q)
    best_ask, best_bid = buy_book.best_ask, sell_book.best_bid
    gross = (best_bid - best_ask) / best_ask * 100.0
    vwap_spread = (sell.vwap - buy.vwap) / buy.vwap * 100.0
    fees = (buy_fee + sell_fee) * 100.0
    return Candidate(
        type=OpportunityType.ARBITRAGE,
        symbol=buy_book.symbol,
        buy_exchange=buy_book.exchange,
        sell_exchange=sell_book.exchange,
        buy_price=buy.vwap,
        sell_price=sell.vwap,
        gross_spread_pct=gross,
        net_spread_pct=vwap_spread - fees,
        fees_pct=fees,
        slippage_pct=gross - vwap_spread,
        position_usd=buy.notional,
        buy_depth_usd=buy_book.ask_notional,
        sell_depth_usd=sell_book.bid_notional,
        figures={
            "best_ask": best_ask,
            "best_bid": best_bid,
            "qty": q,
            "buy_fees_pct": buy_fee * 100.0,
            "sell_fees_pct": sell_fee * 100.0,
        },
    )


def detect_funding(
    long_rate: FundingRate,
    short_rate: FundingRate,
    long_book: OrderBook,
    short_book: OrderBook,
    long_fee: float,
    short_fee: float,
    *,
    periods: int,
    position_usd: float,
) -> Candidate | None:
    """Long the perpetual on `long_rate`'s exchange, short it on `short_rate`'s."""
    if not long_book.asks or not short_book.bids:
        return None
    diff = short_rate.rate - long_rate.rate
    gross = diff * periods * 100.0
    fees = 2.0 * (long_fee + short_fee) * 100.0
    return Candidate(
        type=OpportunityType.FUNDING,
        symbol=long_rate.symbol,
        buy_exchange=long_rate.exchange,
        sell_exchange=short_rate.exchange,
        buy_price=long_book.best_ask,
        sell_price=short_book.best_bid,
        gross_spread_pct=gross,
        net_spread_pct=gross - fees,
        fees_pct=fees,
        slippage_pct=0.0,
        position_usd=min(position_usd, long_book.ask_notional, short_book.bid_notional),
        buy_depth_usd=long_book.ask_notional,
        sell_depth_usd=short_book.bid_notional,
        figures={
            "funding_diff_8h_pct": diff * 100.0,
            "funding_annualised_pct": diff * 3 * 365 * 100.0,
            "long_rate_8h_pct": long_rate.rate * 100.0,
            "short_rate_8h_pct": short_rate.rate * 100.0,
            "periods": float(periods),
            "funding_interval_s": FUNDING_INTERVAL_S,
            # Both legs are paid at the earlier of the two exchanges' next funding times.
            "next_funding_ts": min(long_rate.next_funding_ts, short_rate.next_funding_ts),
            "buy_fees_pct": 2.0 * long_fee * 100.0,
            "sell_fees_pct": 2.0 * short_fee * 100.0,
        },
    )


def detect_technical(
    book: OrderBook,
    mids: Sequence[float],
    volumes: Sequence[float],
    fee: float,
    settings: DetectionSettings,
) -> Candidate | None:
    """An RSI-oversold mean-reversion long on one exchange (None when no signal)."""
    s = settings
    # RSI on the trailing `rsi_lookback_periods` × period points: Wilder smoothing's weight on
    # anything older is below (1 − 1/period)^(3 × period) ≈ 5 %, and it bounds the cost.
    value = rsi(mids[-(s.rsi_lookback_periods * s.rsi_period + 1) :], s.rsi_period)
    if value is None or value >= s.rsi_oversold or not book.asks:
        return None
    slow = ema(mids, s.macd_slow)
    m = macd(mids, s.macd_fast, s.macd_slow, s.macd_signal)
    if not slow or m is None:
        return None
    target = slow[-1]
    buy = fill_notional(book.asks, s.target_position_usd)
    if buy.qty <= 0:
        return None
    best_ask = book.best_ask
    gross = (target - best_ask) / best_ask * 100.0
    to_target = (target - buy.vwap) / buy.vwap * 100.0
    fees = 2.0 * fee * 100.0
    return Candidate(
        type=OpportunityType.TECHNICAL,
        symbol=book.symbol,
        buy_exchange=book.exchange,
        sell_exchange=book.exchange,
        buy_price=buy.vwap,
        sell_price=target,
        gross_spread_pct=gross,
        net_spread_pct=to_target - fees,
        fees_pct=fees,
        slippage_pct=gross - to_target,
        position_usd=buy.notional,
        buy_depth_usd=book.ask_notional,
        sell_depth_usd=book.bid_notional,
        figures={
            "rsi": value,
            "macd": m.macd,
            "macd_signal": m.signal,
            "macd_hist": m.histogram,
            "macd_hist_prev": m.prev_histogram,
            "volume_confirmed": float(volume_confirmed(volumes, s.volume_window, s.volume_factor)),
            "buy_fees_pct": fees,
            "sell_fees_pct": 0.0,
        },
    )
