"""Calibration: turning the model's score into a probability a trader can take at its word.

The event predicted (see `scoring`): a qualified episode lasts at least `min_execution_seconds`
from qualification. A logistic regression is calibrated on its training data but not on new data
(it overfits a small window, and its extreme scores overshoot), so the engine fits Platt scaling
— p' = σ(a · logit(p) + b), two parameters — on predictions the model made for episodes it had
not trained on (`scoring.fit_calibrated`). Platt's smoothed targets ((N₊ + 1) / (N₊ + 2) and
1 / (N₋ + 2)) keep it from claiming certainty on a small slice. Two parameters fitted by Newton
steps: deterministic, no randomness.

What is shown is then clamped to [`confidence_floor`, `confidence_ceiling`] (1 %–99 % by
default): no finite history supports "certain", so a card never says 100 %.

Measures (used by `benchmarks.opportunity` and the tests): the Brier score (mean squared error
of the probability, lower is better; a constant base rate is the baseline to beat) and a
reliability table (equal-width bins: mean predicted vs observed frequency, with counts), whose
count-weighted mean gap is the expected calibration error (ECE).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
_EPS = 1e-6


def _logit(p: Array) -> Array:
    q = np.clip(p, _EPS, 1.0 - _EPS)
    return np.asarray(np.log(q / (1.0 - q)), dtype=np.float64)


def _sigmoid(z: Array) -> Array:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0))), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class PlattCalibrator:
    """p ↦ σ(a · logit(p) + b); the identity is a = 1, b = 0."""

    a: float = 1.0
    b: float = 0.0

    @classmethod
    def fit(cls, p: Array, y: Array, *, max_iter: int = 50) -> PlattCalibrator:
        """Fit on held-out predictions `p` and outcomes `y` (0/1). Both outcomes must appear."""
        positives = float(y.sum())
        negatives = float(len(y)) - positives
        if positives == 0 or negatives == 0:
            raise ValueError("calibration needs both outcomes in the held-out slice")
        target = np.where(y > 0.5, (positives + 1) / (positives + 2), 1 / (negatives + 2))
        z = np.column_stack([_logit(p), np.ones(len(p))])
        w = np.array([1.0, 0.0])
        for _ in range(max_iter):
            q = _sigmoid(z @ w)
            grad = z.T @ (target - q)
            hess = (z * np.maximum(q * (1 - q), 1e-9)[:, None]).T @ z + 1e-6 * np.eye(2)
            step = np.linalg.solve(hess, grad)
            w = w + step
            if float(np.max(np.abs(step))) < 1e-10:
                break
        return cls(float(w[0]), float(w[1]))

    def apply(self, p: Array) -> Array:
        return _sigmoid(self.a * _logit(np.asarray(p, dtype=np.float64)) + self.b)

    def apply_one(self, p: float) -> float:
        return float(self.apply(np.asarray([p]))[0])

    def to_dict(self) -> dict[str, float]:
        return {"a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, d: dict[str, float]) -> PlattCalibrator:
        return cls(float(d["a"]), float(d["b"]))


def clamp_probability(p: float, floor: float, ceiling: float) -> float:
    """`p` within [floor, ceiling]; NaN (no information) becomes the floor."""
    if math.isnan(p):
        return floor
    return min(max(p, floor), ceiling)


def brier(p: Array, y: Array) -> float:
    """Mean squared error of the probabilities `p` against outcomes `y` (0/1)."""
    return float(np.mean((np.asarray(p) - np.asarray(y)) ** 2))


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    lower: float
    upper: float
    count: int
    mean_predicted: float
    observed: float

    @property
    def gap(self) -> float:
        return abs(self.mean_predicted - self.observed)


def reliability(p: Array, y: Array, bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width bins of [0, 1] (the last one closed), empty bins left out."""
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    index = np.minimum((p * bins).astype(int), bins - 1)
    table: list[ReliabilityBin] = []
    for i in range(bins):
        mask = index == i
        n = int(mask.sum())
        if n:
            table.append(
                ReliabilityBin(
                    i / bins, (i + 1) / bins, n, float(p[mask].mean()), float(y[mask].mean())
                )
            )
    return table


def expected_calibration_error(table: list[ReliabilityBin]) -> float:
    """The count-weighted mean |predicted − observed| over the reliability table's bins."""
    total = sum(b.count for b in table)
    return sum(b.count * b.gap for b in table) / total if total else 0.0
