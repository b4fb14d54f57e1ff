"""Indicators and detectors: known answers computed by hand, and properties."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.market import BookLevel, FundingRate, OrderBook
from core.models import OpportunityType
from core.opportunity import DetectionSettings, detect_arbitrage, detect_funding, detect_technical
from core.opportunity.indicators import ema, macd, returns_stdev_pct, rsi, volume_confirmed
from tests.core.opportunity.helpers import T0, mkbook

# ---------------------------------------------------------------- indicators


def test_rsi_known_answer_period_3() -> None:
    """Changes +1, −.5, +1 → gain 2/3, loss 1/6; then −.5 → gain 4/9, loss 5/18; RS 1.6."""
    assert rsi([10, 11, 10.5, 11.5, 11], 3) == pytest.approx(100 - 100 / 2.6)


def test_rsi_extremes_and_short_series() -> None:
    assert rsi([1.0, 2.0, 3.0, 4.0], 3) == 100.0
    assert rsi([4.0, 3.0, 2.0, 1.0], 3) == 0.0
    assert rsi([5.0] * 4, 3) == 50.0
    assert rsi([1.0, 2.0, 3.0], 3) is None


def test_ema_seeds_with_sma_then_smooths() -> None:
    """Period 3 (α = .5): seed (1+2+3)/3 = 2, then 2 + .5(6−2) = 4."""
    assert ema([1.0, 2.0, 3.0, 6.0], 3) == [2.0, 4.0]


def test_macd_of_a_linear_series_is_seven_slopes_with_flat_histogram() -> None:
    """SMA-seeded EMA(n) of p_t = a + b t lags exactly (n−1)/2 · b: MACD = (12.5 − 5.5) b."""
    prices = [100.0 + 0.5 * t for t in range(60)]
    m = macd(prices, 12, 26, 9)
    assert m is not None
    assert m.macd == pytest.approx(3.5)
    assert m.signal == pytest.approx(3.5)
    assert m.histogram == pytest.approx(0.0, abs=1e-9)
    assert macd(prices[:34], 12, 26, 9) is None


def test_volume_confirmation_compares_last_volume_to_window_mean() -> None:
    assert volume_confirmed([1.0] * 5 + [1.2], window=5, factor=1.2)
    assert not volume_confirmed([1.0] * 5 + [1.1], window=5, factor=1.2)
    assert not volume_confirmed([1.0] * 3, window=5)


def test_returns_stdev_matches_sample_stdev_in_percent() -> None:
    prices = [100.0, 101.0, 100.0, 102.0]
    rets = [0.01, -1 / 101, 0.02]
    assert returns_stdev_pct(prices, 10) == pytest.approx(statistics.stdev(rets) * 100)
    assert returns_stdev_pct([100.0, 101.0], 10) is None


# ---------------------------------------------------------------- arbitrage


def test_arbitrage_known_answer_with_slippage_and_fees() -> None:
    """202 USD buys 1 @100 + 1 @102 (VWAP 101); selling 2 gets 1 @104 + 1 @100 (VWAP 102).

    gross = (104 − 100)/100 = 4 %; VWAP spread = 1/101 = 0.990099 %; fees .1 % + .1 %;
    net = 0.790099 %; slippage = 4 − 0.990099 = 3.009901 %.
    """
    a = mkbook("a", [(99.0, 5.0)], [(100.0, 1.0), (102.0, 1.0)])
    b = mkbook("b", [(104.0, 1.0), (100.0, 5.0)], [(105.0, 5.0)])
    c = detect_arbitrage(a, b, 0.001, 0.001, 202.0)
    assert c is not None
    assert c.key == "arbitrage|BTC/USDT|a|b"
    assert c.buy_price == pytest.approx(101.0)
    assert c.sell_price == pytest.approx(102.0)
    assert c.gross_spread_pct == pytest.approx(4.0)
    assert c.fees_pct == pytest.approx(0.2)
    assert c.net_spread_pct == pytest.approx(100 / 101 - 0.2)
    assert c.slippage_pct == pytest.approx(4.0 - 100 / 101)
    assert c.position_usd == pytest.approx(202.0)
    assert c.buy_depth_usd == pytest.approx(202.0)
    assert c.sell_depth_usd == pytest.approx(604.0)


def test_arbitrage_size_is_capped_by_the_sell_side_depth() -> None:
    """Only 0.5 can be sold: buy 0.5 @100 (50 USD), sell @104: net 4 − 0.2 = 3.8 %."""
    a = mkbook("a", [(99.0, 5.0)], [(100.0, 1.0), (102.0, 1.0)])
    b = mkbook("b", [(104.0, 0.5)], [(105.0, 5.0)])
    c = detect_arbitrage(a, b, 0.001, 0.001, 202.0)
    assert c is not None
    assert c.position_usd == pytest.approx(50.0)
    assert c.net_spread_pct == pytest.approx(3.8)
    assert c.slippage_pct == pytest.approx(0.0)


def test_arbitrage_in_the_wrong_direction_is_negative() -> None:
    a = mkbook("a", [(99.0, 5.0)], [(100.0, 1.0)])
    b = mkbook("b", [(104.0, 1.0)], [(105.0, 5.0)])
    c = detect_arbitrage(b, a, 0.001, 0.001, 100.0)
    assert c is not None
    assert c.net_spread_pct < 0


levels = st.lists(
    st.tuples(st.floats(1.0, 1_000.0), st.floats(0.001, 100.0)), min_size=1, max_size=6
)


@settings(max_examples=200, deadline=None)
@given(
    asks=levels,
    bids=levels,
    fa=st.floats(0, 0.003),
    fb=st.floats(0, 0.003),
    size=st.floats(1.0, 1e6),
)
def test_net_spread_never_exceeds_gross_and_decomposes_exactly(
    asks: list[tuple[float, float]],
    bids: list[tuple[float, float]],
    fa: float,
    fb: float,
    size: float,
) -> None:
    """net = gross − slippage − fees, with slippage ≥ 0 and fees ≥ 0."""
    buy = OrderBook(
        "a", "X", (BookLevel(1.0, 1.0),), tuple(BookLevel(p, q) for p, q in sorted(asks)), T0
    )
    sell = OrderBook(
        "b",
        "X",
        tuple(BookLevel(p, q) for p, q in sorted(bids, reverse=True)),
        (BookLevel(2_000.0, 1.0),),
        T0,
    )
    c = detect_arbitrage(buy, sell, fa, fb, size)
    assert c is not None
    assert c.slippage_pct >= -1e-9
    assert c.net_spread_pct <= c.gross_spread_pct + 1e-9
    assert c.net_spread_pct == pytest.approx(
        c.gross_spread_pct - c.slippage_pct - c.fees_pct, abs=1e-9
    )
    assert c.position_usd <= size * (1 + 1e-9)


# ---------------------------------------------------------------- funding


def test_funding_known_answer_over_three_periods() -> None:
    """Short receives .11 %, long pays .01 %: .1 %/8h × 3 = .3 %; fees 2 × (.04 + .06) = .2 %."""
    ba = mkbook("a", [(99.0, 100.0)], [(100.0, 100.0)])
    bb = mkbook("b", [(100.0, 100.0)], [(101.0, 100.0)])
    long_r = FundingRate("a", "BTC/USDT", 0.0001, T0 + 3600, T0)
    short_r = FundingRate("b", "BTC/USDT", 0.0011, T0 + 3600, T0)
    c = detect_funding(long_r, short_r, ba, bb, 0.0004, 0.0006, periods=3, position_usd=5_000)
    assert c is not None
    assert c.type is OpportunityType.FUNDING
    assert (c.buy_exchange, c.sell_exchange) == ("a", "b")
    assert c.gross_spread_pct == pytest.approx(0.3)
    assert c.fees_pct == pytest.approx(0.2)
    assert c.net_spread_pct == pytest.approx(0.1)
    assert c.figures["funding_annualised_pct"] == pytest.approx(0.1 * 3 * 365)
    assert c.position_usd == 5_000
    assert c.figures["funding_interval_s"] == 8 * 3600
    assert c.figures["next_funding_ts"] == T0 + 3600
    assert (c.figures["buy_fees_pct"], c.figures["sell_fees_pct"]) == (
        pytest.approx(0.08),
        pytest.approx(0.12),
    )
    reverse = detect_funding(short_r, long_r, bb, ba, 0.0006, 0.0004, periods=3, position_usd=1)
    assert reverse is not None
    assert reverse.net_spread_pct == pytest.approx(-0.5)


# ---------------------------------------------------------------- technical


def test_technical_known_answer_on_a_steady_decline() -> None:
    """p_t = 200 − t (60 points): RSI 0; EMA26 = last + 12.5 = 153.5; buy 1,000 USD @141.5.

    gross = net before fees = 12/141.5 = 8.480565 %; fees 2 × .1 %; MACD −7, histogram flat.
    """
    mids = [200.0 - t for t in range(60)]
    volumes = [1.0] * 59 + [2.0]
    b = mkbook("a", [(140.5, 100.0)], [(141.5, 100.0)])
    s = DetectionSettings(target_position_usd=1_000.0)
    c = detect_technical(b, mids, volumes, 0.001, s)
    assert c is not None
    assert c.key == "technical|BTC/USDT|a|a"
    assert c.sell_price == pytest.approx(153.5)
    assert c.buy_price == pytest.approx(141.5)
    assert c.gross_spread_pct == pytest.approx(1200 / 141.5)
    assert c.net_spread_pct == pytest.approx(1200 / 141.5 - 0.2)
    assert c.figures["rsi"] == 0.0
    assert c.figures["macd"] == pytest.approx(-7.0)
    assert c.figures["macd_hist"] == pytest.approx(0.0, abs=1e-9)
    assert c.figures["volume_confirmed"] == 1.0


def test_technical_needs_an_oversold_rsi() -> None:
    mids = [100.0 + t for t in range(60)]
    b = mkbook("a", [(158.0, 100.0)], [(160.0, 100.0)])
    assert detect_technical(b, mids, [1.0] * 60, 0.001, DetectionSettings()) is None
    assert detect_technical(b, mids[:10], [1.0] * 10, 0.001, DetectionSettings()) is None
