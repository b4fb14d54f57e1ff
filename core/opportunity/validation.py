"""Levels 1, 2 and 4 of the validation pipeline, as pure functions returning records.

Level 3 (user-specific: session, tier, preferences, exchanges, caps) runs per user in the
distribution layer, not in the coordinator.

Each level checks in a fixed order and reports the first failure as `reason`; `figures` holds
every measured value whatever the outcome, so the audit log explains passes as well as failures.

Level 1 (market): data fresh and API latency under the ceiling → net spread ≥ the type's
threshold → depth ≥ `min_position_usd` on both sides → volatility (stdev of recent mid returns
on every exchange involved, the highest counts) known and within bounds.
Level 2 (technical): no blackout on the asset → similar-pattern success rate ≥ 60 % (see
`history` for similarity and cold start) → for TECHNICAL, MACD histogram rising and volume
confirmed.
Level 4 (scoring): confidence ≥ `min_confidence` (see `scoring`).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models import OpportunityType
from core.opportunity.detectors import Candidate
from core.opportunity.history import RateEstimate, SpreadHistory
from core.opportunity.records import OK, ValidationLevel, ValidationRecord
from core.opportunity.scoring import ConfidenceScorer, expected_profit_pct
from core.opportunity.settings import ScoringSettings, ValidationSettings


@dataclass(frozen=True, slots=True)
class MarketConditions:
    """What Level 1 needs to know about the markets a candidate trades on."""

    stale_reason: str | None  # from the book cache; None when every market is fresh
    data_age_s: float  # oldest book involved
    latency_ms: float  # highest latency involved
    volatility_pct: float | None  # highest stdev of returns involved; None when unknown


def level1(
    c: Candidate,
    opportunity_id: str,
    cond: MarketConditions,
    now: float,
    settings: ValidationSettings,
) -> ValidationRecord:
    s = settings
    min_spread = s.min_spread(c.type)
    figures = {
        "net_spread_pct": c.net_spread_pct,
        "gross_spread_pct": c.gross_spread_pct,
        "fees_pct": c.fees_pct,
        "slippage_pct": c.slippage_pct,
        "min_spread_pct": min_spread,
        "buy_depth_usd": c.buy_depth_usd,
        "sell_depth_usd": c.sell_depth_usd,
        "min_position_usd": s.min_position_usd,
        "data_age_s": cond.data_age_s,
        "latency_ms": cond.latency_ms,
        "volatility_pct": -1.0 if cond.volatility_pct is None else cond.volatility_pct,
    }
    vol = cond.volatility_pct
    if cond.stale_reason is not None:
        reason = f"data_{cond.stale_reason}"
    elif cond.data_age_s > s.max_data_age_s:
        reason = "data_stale"
    elif cond.latency_ms > s.max_latency_ms:
        reason = "latency"
    elif c.net_spread_pct < min_spread:
        reason = "spread_below_threshold"
    elif c.available_depth_usd < s.min_position_usd:
        reason = "insufficient_liquidity"
    elif vol is None:
        reason = "volatility_unknown"
    elif not (s.min_volatility_pct <= vol <= s.max_volatility_pct):
        reason = "volatility_out_of_bounds"
    else:
        reason = OK
    return ValidationRecord(
        opportunity_id, ValidationLevel.MARKET, reason == OK, reason, figures, now, c.key
    )


def level2(
    c: Candidate,
    opportunity_id: str,
    history: SpreadHistory,
    now: float,
    settings: ValidationSettings,
) -> tuple[ValidationRecord, RateEstimate]:
    s = settings
    est = history.success_rate(
        c.type,
        c.symbol,
        c.net_spread_pct,
        min_samples=s.min_similar_samples,
        prior=s.cold_start_prior,
    )
    figures = {
        "success_rate": est.rate,
        "similar_samples": float(est.samples),
        "rate_level": float(est.level),
        "spread_bucket": float(history.bucket(c.net_spread_pct)),
        "min_success_rate": s.min_success_rate,
    }
    confirmed = True
    if c.type is OpportunityType.TECHNICAL:
        for name in ("rsi", "macd_hist", "macd_hist_prev", "volume_confirmed"):
            figures[name] = c.figures.get(name, 0.0)
        confirmed = (
            c.figures.get("macd_hist", 0.0) > c.figures.get("macd_hist_prev", 0.0)
            and c.figures.get("volume_confirmed", 0.0) >= 1.0
        )
    blackout = next((b for b in s.blackouts if b.covers(c.symbol, now)), None)
    if blackout is not None:
        figures["blackout_end"] = blackout.end
        reason = "blackout"
    elif est.rate < s.min_success_rate:
        reason = "low_success_rate"
    elif not confirmed:
        reason = "indicators_not_confirmed"
    else:
        reason = OK
    record = ValidationRecord(
        opportunity_id, ValidationLevel.TECHNICAL, reason == OK, reason, figures, now, c.key
    )
    return record, est


def level4(
    c: Candidate,
    opportunity_id: str,
    feats: tuple[float, ...],
    scorer: ConfidenceScorer,
    prior: float,
    now: float,
    settings: ScoringSettings,
) -> tuple[ValidationRecord, float]:
    confidence, from_model = scorer.confidence(feats, prior)
    passed = confidence >= settings.min_confidence
    figures = {
        "confidence": confidence,
        "from_model": 1.0 if from_model else 0.0,
        "prior": prior,
        "min_confidence": settings.min_confidence,
        "expected_profit_pct": expected_profit_pct(c.net_spread_pct, confidence),
    }
    record = ValidationRecord(
        opportunity_id,
        ValidationLevel.SCORING,
        passed,
        OK if passed else "low_confidence",
        figures,
        now,
        c.key,
    )
    return record, confidence
