"""Calibration (issue #15): the confidence is a measured probability, monotone in the model's
score, never 0 or 1, and the Brier score and reliability table measure it as defined."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.models import OpportunityType
from core.opportunity.calibration import (
    PlattCalibrator,
    brier,
    clamp_probability,
    expected_calibration_error,
    reliability,
)
from core.opportunity.history import SpreadHistory
from core.opportunity.scoring import ConfidenceScorer, fit_calibrated
from core.opportunity.settings import ScoringSettings

T0 = 1_767_225_600.0


def overconfident(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Scores twice as extreme (in log-odds) as the true probabilities they stand for."""
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(0.0, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-true_logit))).astype(float)
    score = 1 / (1 + np.exp(-2.0 * true_logit))
    return score, y


def test_platt_scaling_undoes_overconfidence_and_is_monotone_and_bounded() -> None:
    score, y = overconfident(4_000)
    cal = PlattCalibrator.fit(score, y)
    assert cal.a == pytest.approx(0.5, abs=0.08)  # the true map halves the log-odds
    assert cal.b == pytest.approx(0.0, abs=0.1)
    fixed = cal.apply(score)
    assert np.mean((fixed - y) ** 2) < np.mean((score - y) ** 2)
    grid = cal.apply(np.linspace(0.0, 1.0, 101))
    assert np.all(np.diff(grid) > 0)
    assert np.all((grid > 0) & (grid < 1))


def test_platt_scaling_leaves_calibrated_scores_nearly_alone() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, 5_000)
    y = (rng.random(5_000) < p).astype(float)
    cal = PlattCalibrator.fit(p, y)
    assert (cal.a, cal.b) == (pytest.approx(1.0, abs=0.12), pytest.approx(0.0, abs=0.12))


def test_platt_scaling_refuses_a_slice_with_one_outcome() -> None:
    with pytest.raises(ValueError, match="both outcomes"):
        PlattCalibrator.fit(np.array([0.2, 0.9]), np.array([1.0, 1.0]))


def test_brier_and_the_reliability_table_by_hand() -> None:
    p = np.array([0.05, 0.15, 0.15, 0.95, 1.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    assert brier(p, y) == pytest.approx((0.05**2 + 0.85**2 + 0.15**2 + 0.05**2 + 0) / 5)
    table = reliability(p, y)
    assert [(b.lower, b.count) for b in table] == [(0.0, 1), (0.1, 2), (0.9, 2)]
    assert [b.mean_predicted for b in table] == pytest.approx([0.05, 0.15, 0.975])
    assert [b.observed for b in table] == pytest.approx([0.0, 0.5, 1.0])
    assert expected_calibration_error(table) == pytest.approx((0.05 + 2 * 0.35 + 2 * 0.025) / 5)


def test_clamp_keeps_confidence_off_zero_and_one() -> None:
    assert clamp_probability(1.0, 0.01, 0.99) == 0.99
    assert clamp_probability(0.0, 0.01, 0.99) == 0.01
    assert clamp_probability(float("nan"), 0.01, 0.99) == 0.01
    assert clamp_probability(0.5, 0.01, 0.99) == 0.5


def separable(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + 0.1 * rng.normal(size=n) > 0).astype(float)
    return x, y


def test_the_scorer_never_says_certain_even_on_separable_data_or_a_perfect_prior() -> None:
    s = ScoringSettings(min_train_samples=40, retrain_every=20)
    scorer = ConfidenceScorer(s)
    assert scorer.confidence((0.0,) * 3, 1.0) == (0.99, False)
    assert scorer.confidence((0.0,) * 3, 0.0) == (0.01, False)
    h = SpreadHistory()
    x, y = separable(100)
    for i in range(100):
        h.record(OpportunityType.ARBITRAGE, "X", 0.3, 10.0 if y[i] else 0.0, tuple(x[i]), T0)
        scorer.maybe_retrain(h)
    assert scorer.calibrator is not None
    high, from_model = scorer.confidence((50.0, 0.0, 0.0), 0.5)
    low, _ = scorer.confidence((-50.0, 0.0, 0.0), 0.5)
    assert from_model and (high, low) == (0.99, 0.01)
    middle = [scorer.confidence((v, 0.0, 0.0), 0.5)[0] for v in np.linspace(-1, 1, 21)]
    assert all(a <= b for a, b in itertools.pairwise(middle))


def test_calibration_waits_for_enough_samples_and_survives_a_snapshot() -> None:
    s = ScoringSettings(min_calibration_samples=60)
    x, y = separable(50, seed=2)
    assert fit_calibrated(x, y, s)[1] is None
    x, y = separable(200, seed=2)
    model, cal = fit_calibrated(x, y, s)
    assert cal is not None
    scorer = ConfidenceScorer(s)
    scorer.model, scorer.calibrator = model, cal
    copy = ConfidenceScorer(s)
    copy.restore(scorer.snapshot())
    assert copy.confidence((0.3, 0.1, 0.0), 0.5) == scorer.confidence((0.3, 0.1, 0.0), 0.5)
    old = scorer.snapshot()
    del old["calibrator"]  # a snapshot taken before calibration existed
    legacy = ConfidenceScorer(s)
    legacy.restore(old)
    assert legacy.calibrator is None and legacy.model is not None
