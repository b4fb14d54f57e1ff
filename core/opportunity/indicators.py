"""Technical indicators over short price/volume windows, in plain Python.

Windows are a few hundred points at most, where plain loops beat numpy's call overhead.

Conventions (they matter for known answers):
- `ema`: seeded with the simple average of the first `period` values, then
  `e = e + α (x − e)` with `α = 2 / (period + 1)`; defined from index `period − 1`.
- `rsi`: Wilder's: the first average gain/loss is the plain mean of the first `period` changes,
  then `avg = (avg × (period − 1) + x) / period`. 100 when there were no losses (50 when flat).
- `macd`: `ema(fast) − ema(slow)`, its signal line `ema(signal)` of the MACD values, histogram
  `macd − signal`; defined once `slow + signal − 1` prices are known.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass


def ema(values: Sequence[float], period: int) -> list[float]:
    """EMA values aligned to `values[period - 1:]` (empty when too short)."""
    if period < 1 or len(values) < period:
        return []
    alpha = 2.0 / (period + 1)
    e = sum(values[:period]) / period
    out = [e]
    for x in values[period:]:
        e += alpha * (x - e)
        out.append(e)
    return out


def rsi(prices: Sequence[float], period: int = 14) -> float | None:
    """Wilder's RSI of the whole series' last point; None with fewer than period + 1 prices."""
    n = len(prices)
    if n < period + 1:
        return None
    gain = loss = 0.0
    for i in range(1, period + 1):
        c = prices[i] - prices[i - 1]
        if c > 0:
            gain += c
        else:
            loss -= c
    gain /= period
    loss /= period
    keep = (period - 1) / period
    for i in range(period + 1, n):
        c = prices[i] - prices[i - 1]
        if c > 0:
            gain = gain * keep + c / period
            loss = loss * keep
        else:
            gain = gain * keep
            loss = loss * keep - c / period
    if loss == 0.0:
        return 50.0 if gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + gain / loss)


@dataclass(frozen=True, slots=True)
class Macd:
    macd: float
    signal: float
    histogram: float
    prev_histogram: float

    @property
    def rising(self) -> bool:
        """Momentum turning up: the histogram grew on the last point."""
        return self.histogram > self.prev_histogram


def macd(prices: Sequence[float], fast: int = 12, slow: int = 26, signal: int = 9) -> Macd | None:
    """MACD at the last point (and the previous histogram); None when too short."""
    if len(prices) < slow + signal:  # one extra point for the previous histogram
        return None
    fast_e = ema(prices, fast)[slow - fast :]
    slow_e = ema(prices, slow)
    line = [f - s for f, s in zip(fast_e, slow_e, strict=True)]
    sig = ema(line, signal)
    hist = [m - s for m, s in zip(line[signal - 1 :], sig, strict=True)]
    return Macd(macd=line[-1], signal=sig[-1], histogram=hist[-1], prev_histogram=hist[-2])


def volume_confirmed(volumes: Sequence[float], window: int = 20, factor: float = 1.2) -> bool:
    """The last volume is at least `factor` × the mean of the `window` before it."""
    if len(volumes) < window + 1:
        return False
    base = sum(volumes[-window - 1 : -1]) / window
    return base > 0 and volumes[-1] >= factor * base


def returns_stdev_pct(prices: Sequence[float], window: int) -> float | None:
    """Sample stdev of the last `window` simple returns, in %; None with fewer than 2 returns."""
    tail = prices[-(window + 1) :]
    rets = [(b - a) / a for a, b in itertools.pairwise(tail) if a > 0]
    if len(rets) < 2:
        return None
    mean = sum(rets) / len(rets)
    var = sum((r - mean) ** 2 for r in rets) / (len(rets) - 1)
    return math.sqrt(var) * 100.0
