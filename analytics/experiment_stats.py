"""The statistics of the experiments report, in plain Python (no SciPy here).

* `wilson`: a proportion's 95% interval (Wilson score; right near 0 and 1, unlike Wald's).
* `two_proportions`: the difference of two proportions with its Wald interval (unpooled) and
  the two-sided p-value of the pooled two-proportion z-test.
* `sample_size`: users (or trials) per arm a two-proportion test needs to detect the observed
  difference at `alpha` (two-sided) with `power`.
* `chi_square_p`: the p-value of a goodness-of-fit chi-square (sample-ratio mismatch), from the
  regularised upper incomplete gamma function.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

_N = NormalDist()


def z_of(confidence: float) -> float:
    """The two-sided normal quantile: 1.96 for 0.95."""
    return _N.inv_cdf(1 - (1 - confidence) / 2)


def wilson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float] | None:
    if trials <= 0:
        return None
    z, p = z_of(confidence), successes / trials
    d = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / d
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class Difference:
    diff: float  # p1 - p0
    low: float
    high: float
    z: float | None
    p_value: float | None


def two_proportions(
    c0: int, n0: int, c1: int, n1: int, confidence: float = 0.95
) -> Difference | None:
    if n0 <= 0 or n1 <= 0:
        return None
    p0, p1 = c0 / n0, c1 / n1
    half = z_of(confidence) * math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    pooled = (c0 + c1) / (n0 + n1)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    z = None if se == 0 else (p1 - p0) / se
    p = None if z is None else math.erfc(abs(z) / math.sqrt(2))
    return Difference(p1 - p0, p1 - p0 - half, p1 - p0 + half, z, p)


def sample_size(p0: float, p1: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Per arm; None when there is no difference to detect."""
    if p0 == p1 or not (0 <= p0 <= 1 and 0 <= p1 <= 1):
        return None
    za, zb = z_of(1 - alpha), _N.inv_cdf(power)
    bar = (p0 + p1) / 2
    num = za * math.sqrt(2 * bar * (1 - bar)) + zb * math.sqrt(p0 * (1 - p0) + p1 * (1 - p1))
    return math.ceil(num * num / ((p1 - p0) ** 2))


def _gamma_q(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) (series below a+1, continued fraction above)."""
    if x <= 0:
        return 1.0
    lg = math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(1000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(-x + a * math.log(x) - lg))
    b, c, d = x + 1 - a, 1e300, 1 / (x + 1 - a)
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return min(1.0, math.exp(-x + a * math.log(x) - lg) * h)


def chi_square_p(observed: Sequence[int], shares: Sequence[float]) -> float | None:
    """P-value of observed counts against expected shares (goodness of fit, df = k - 1)."""
    n, total = sum(observed), sum(shares)
    if n == 0 or len(observed) < 2 or total <= 0:
        return None
    stat = sum(
        (o - n * s / total) ** 2 / (n * s / total) for o, s in zip(observed, shares, strict=True)
    )
    return _gamma_q((len(observed) - 1) / 2, stat / 2)
