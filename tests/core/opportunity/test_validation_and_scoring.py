"""Levels 1, 2 and 4, the history's back-off, the logistic model, priority and sizing."""

from __future__ import annotations

import numpy as np
import pytest

from core.models import OpportunityType, Priority, RiskTolerance
from core.opportunity import (
    Blackout,
    ConfidenceScorer,
    LogisticModel,
    MarketConditions,
    ScoringSettings,
    SpreadHistory,
    ValidationLevel,
    ValidationSettings,
    level1,
    level2,
    level4,
    priority,
    recommend_position_usd,
)
from tests.core.opportunity.helpers import T0, cand

GOOD = MarketConditions(stale_reason=None, data_age_s=0.5, latency_ms=80.0, volatility_pct=0.02)
VS = ValidationSettings()

# ---------------------------------------------------------------- level 1


def test_level1_passes_a_fresh_deep_calm_wide_spread_with_all_figures() -> None:
    r = level1(cand(0.5), "id1", GOOD, T0, VS)
    assert r.passed
    assert r.reason == "ok"
    assert r.level is ValidationLevel.MARKET
    assert (r.opportunity_id, r.ts, r.key) == ("id1", T0, "arbitrage|BTC/USDT|a|b")
    assert r.figures["net_spread_pct"] == 0.5
    assert r.figures["min_spread_pct"] == 0.1
    assert r.figures["volatility_pct"] == 0.02


@pytest.mark.parametrize(
    ("candidate", "conditions", "reason"),
    [
        (cand(0.5), MarketConditions("stale", 9.0, 80.0, 0.02), "data_stale"),
        (cand(0.5), MarketConditions(None, 6.0, 80.0, 0.02), "data_stale"),
        (cand(0.5), MarketConditions(None, 0.5, 2_500.0, 0.02), "latency"),
        (cand(0.05), GOOD, "spread_below_threshold"),
        (cand(0.5, depth=900.0), GOOD, "insufficient_liquidity"),
        (cand(0.5), MarketConditions(None, 0.5, 80.0, None), "volatility_unknown"),
        (cand(0.5), MarketConditions(None, 0.5, 80.0, 0.5), "volatility_out_of_bounds"),
    ],
)
def test_level1_fails_with_the_first_failed_check_as_reason(
    candidate: object, conditions: MarketConditions, reason: str
) -> None:
    r = level1(candidate, "id", conditions, T0, VS)  # type: ignore[arg-type]
    assert not r.passed
    assert r.reason == reason


def test_level1_threshold_depends_on_type() -> None:
    vs = ValidationSettings(min_net_spread_pct={OpportunityType.FUNDING: 0.3})
    assert not level1(cand(0.2, kind=OpportunityType.FUNDING), "i", GOOD, T0, vs).passed
    assert level1(cand(0.2, kind=OpportunityType.ARBITRAGE), "i", GOOD, T0, vs).passed


# ---------------------------------------------------------------- history and level 2


def fill(
    h: SpreadHistory, n: int, lasted: int, *, symbol: str = "BTC/USDT", net: float = 0.3
) -> None:
    for i in range(n):
        h.record(OpportunityType.ARBITRAGE, symbol, net, 10.0 if i < lasted else 1.0, (), T0)


def test_history_counts_success_from_the_execution_window() -> None:
    h = SpreadHistory(min_execution_seconds=3.0)
    ok = h.record(OpportunityType.ARBITRAGE, "X", 0.3, 3.0, (), T0)
    short = h.record(OpportunityType.ARBITRAGE, "X", 0.3, 2.9, (), T0)
    ttl = h.record(OpportunityType.ARBITRAGE, "X", 0.3, 0.0, (), T0, lasted=True)
    assert (ok.success, short.success, ttl.success) == (True, False, True)
    assert [h.bucket(x) for x in (0.1, 0.25, 0.3, 0.7, 1.5, 5.0)] == [0, 1, 1, 2, 3, 4]


def test_level2_cold_start_passes_on_the_documented_prior() -> None:
    r, est = level2(cand(0.3), "id", SpreadHistory(), T0, VS)
    assert r.passed
    assert r.level is ValidationLevel.TECHNICAL
    assert (est.rate, est.level) == (0.70, 3)
    assert r.figures["rate_level"] == 3.0


def test_level2_uses_exact_group_once_it_has_enough_samples() -> None:
    h = SpreadHistory()
    fill(h, 10, lasted=5)
    r, est = level2(cand(0.3), "id", h, T0, VS)
    assert not r.passed
    assert r.reason == "low_success_rate"
    assert (est.rate, est.samples, est.level) == (0.5, 10, 0)
    fill(h, 10, lasted=10)  # now 15/20
    assert level2(cand(0.3), "id", h, T0, VS)[0].passed


def test_level2_backs_off_to_other_symbols_then_to_the_type() -> None:
    h = SpreadHistory()
    fill(h, 10, lasted=9, symbol="ETH/USDT")  # same type and bucket, other symbol
    _, est = level2(cand(0.3), "id", h, T0, VS)
    assert (est.rate, est.level) == (0.9, 1)
    _, est = level2(cand(1.5), "id", h, T0, VS)  # other bucket: type-wide
    assert (est.rate, est.level) == (0.9, 2)


def test_level2_blackout_refuses_the_asset_only_inside_its_window() -> None:
    vs = ValidationSettings(blackouts=(Blackout(asset="BTC", start=T0, end=T0 + 60),))
    r, _ = level2(cand(0.3), "id", SpreadHistory(), T0 + 10, vs)
    assert (r.passed, r.reason) == (False, "blackout")
    assert level2(cand(0.3), "id", SpreadHistory(), T0 + 60, vs)[0].passed
    assert level2(cand(0.3, symbol="ETH/USDT"), "id", SpreadHistory(), T0 + 10, vs)[0].passed


def test_level2_technical_needs_rising_macd_and_volume() -> None:
    good = {"rsi": 20.0, "macd_hist": 0.2, "macd_hist_prev": 0.1, "volume_confirmed": 1.0}
    tech = OpportunityType.TECHNICAL
    assert level2(cand(0.3, kind=tech, figures=good), "i", SpreadHistory(), T0, VS)[0].passed
    for change in ({"macd_hist": 0.05}, {"volume_confirmed": 0.0}):
        r, _ = level2(cand(0.3, kind=tech, figures=good | change), "i", SpreadHistory(), T0, VS)
        assert (r.passed, r.reason) == (False, "indicators_not_confirmed")


# ---------------------------------------------------------------- model and level 4


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-(0.5 + 2.0 * x[:, 0] - 1.0 * x[:, 1])))
    return x, (rng.random(n) < p).astype(float)


def test_logistic_model_recovers_signs_and_is_deterministic() -> None:
    x, y = synthetic(2_000)
    m1 = LogisticModel.fit(x, y, l2=1.0)
    m2 = LogisticModel.fit(x, y, l2=1.0)
    assert np.array_equal(m1.weights, m2.weights)
    assert m1.weights[1] > 1.0
    assert m1.weights[2] < -0.5
    assert abs(m1.weights[3]) < 0.2
    assert m1.predict_one((2.0, 0.0, 0.0)) > 0.9 > 0.1 > m1.predict_one((-2.0, 0.0, 0.0))
    assert np.array_equal(LogisticModel.from_dict(m1.to_dict()).weights, m1.weights)


def test_scorer_uses_prior_until_enough_samples_then_retrains_every_n() -> None:
    s = ScoringSettings(min_train_samples=40, retrain_every=20)
    scorer = ConfidenceScorer(s)
    h = SpreadHistory()
    assert scorer.confidence((0.0,) * 3, 0.66) == (0.66, False)
    x, y = synthetic(100, seed=1)
    trained = []
    for i in range(100):
        h.record(OpportunityType.ARBITRAGE, "X", 0.3, 10.0 if y[i] else 0.0, tuple(x[i]), T0)
        trained.append(scorer.maybe_retrain(h))
    assert [i + 1 for i, t in enumerate(trained) if t] == [40, 60, 80, 100]
    conf, from_model = scorer.confidence((2.0, 0.0, 0.0), 0.66)
    assert from_model
    assert conf > 0.8


def test_level4_passes_at_or_above_min_confidence_only() -> None:
    scorer = ConfidenceScorer()
    s = ScoringSettings()
    r, conf = level4(cand(0.5), "id", (), scorer, 0.72, T0, s)
    assert (r.passed, conf, r.level) == (True, 0.72, ValidationLevel.SCORING)
    assert r.figures["expected_profit_pct"] == pytest.approx(0.36)
    r, _ = level4(cand(0.5), "id", (), scorer, 0.69, T0, s)
    assert (r.passed, r.reason) == (False, "low_confidence")


def test_priority_thresholds() -> None:
    s = ScoringSettings()
    assert priority(0.6, 0.9, s) is Priority.HIGH
    assert priority(0.6, 0.8, s) is Priority.MEDIUM
    assert priority(0.25, 0.76, s) is Priority.MEDIUM
    assert priority(0.1, 0.99, s) is Priority.LOW


def test_position_follows_risk_tolerance_and_is_capped_by_depth() -> None:
    s = ScoringSettings()
    assert recommend_position_usd(RiskTolerance.LOW, 100_000, s) == 1_000
    assert recommend_position_usd(RiskTolerance.MEDIUM, 100_000, s) == 5_000
    assert recommend_position_usd(RiskTolerance.HIGH, 100_000, s) == 20_000
    assert recommend_position_usd(RiskTolerance.HIGH, 8_000, s) == 4_000
