"""Every threshold of detection, validation and scoring, with defaults.

`EngineSettings` groups the three so a coordinator takes one object; each field documents
itself (`description`), and all are plain pydantic models so the lead can nest them in the
environment-driven `core.settings.Settings`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.models import OpportunityType, RiskTolerance


class DetectionSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    target_position_usd: Annotated[
        float, Field(gt=0, description="Size for which depth is walked to estimate slippage")
    ] = 10_000.0
    min_detect_net_pct: Annotated[
        float, Field(description="Detectors report candidates whose net spread exceeds this, %")
    ] = 0.0
    funding_holding_periods: Annotated[
        int, Field(ge=1, description="8-hour funding periods a funding position is held")
    ] = 3
    series_window: Annotated[int, Field(ge=40, description="Mid/volume points kept per market")] = (
        200
    )
    rsi_period: Annotated[int, Field(ge=2)] = 14
    rsi_oversold: Annotated[float, Field(gt=0, lt=50)] = 30.0
    rsi_lookback_periods: Annotated[
        int, Field(ge=2, description="RSI is computed over this many periods of trailing data")
    ] = 4
    update_min_change_pct: Annotated[
        float,
        Field(
            ge=0,
            description="A live opportunity is re-published when its net spread moved "
            "by at least this (percentage points) or its priority changed",
        ),
    ] = 0.02
    macd_fast: Annotated[int, Field(ge=1)] = 12
    macd_slow: Annotated[int, Field(ge=2)] = 26
    macd_signal: Annotated[int, Field(ge=1)] = 9
    volume_window: Annotated[int, Field(ge=2, description="Volume average lookback")] = 20
    volume_factor: Annotated[
        float, Field(gt=0, description="Last volume ≥ factor × average confirms a signal")
    ] = 1.2
    ttl_seconds: Annotated[float, Field(gt=0, description="Opportunity lifetime (expires_at)")] = (
        900.0
    )
    close_below_ratio: Annotated[
        float,
        Field(
            gt=0,
            le=1,
            description="A live opportunity closes when its net spread falls below this "
            "fraction of the type's opening threshold (hysteresis against flapping)",
        ),
    ] = 0.5


class Blackout(BaseModel):
    """No opportunities on `asset` between `start` and `end` (epoch seconds), e.g. news events.

    `asset` is a base currency ("BTC": every BTC market) or a full symbol ("BTC/USDT").
    """

    model_config = ConfigDict(frozen=True)

    asset: str
    start: float
    end: float
    reason: str = ""

    def covers(self, symbol: str, now: float) -> bool:
        if not (self.start <= now < self.end):
            return False
        return self.asset == symbol or self.asset == symbol.split("/", 1)[0]


def _default_min_spread() -> dict[OpportunityType, float]:
    return {
        OpportunityType.ARBITRAGE: 0.1,
        OpportunityType.FUNDING: 0.05,
        OpportunityType.TECHNICAL: 0.1,
    }


class ValidationSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Level 1
    min_net_spread_pct: Annotated[
        dict[OpportunityType, float],
        Field(description="Level 1: minimum net spread (after fees and slippage) per type, %"),
    ] = Field(default_factory=_default_min_spread)
    min_position_usd: Annotated[
        float, Field(gt=0, description="Level 1: both sides must hold at least this much depth")
    ] = 1_000.0
    max_data_age_s: Annotated[float, Field(gt=0, description="Level 1: book freshness")] = 5.0
    max_latency_ms: Annotated[float, Field(gt=0, description="Level 1: API latency ceiling")] = (
        2_000.0
    )
    volatility_window: Annotated[int, Field(ge=3, description="Mid returns in the stdev")] = 30
    min_volatility_samples: Annotated[int, Field(ge=2)] = 10
    min_volatility_pct: Annotated[float, Field(ge=0, description="Stdev of returns, %")] = 0.0
    max_volatility_pct: Annotated[float, Field(gt=0, description="Stdev of returns, %")] = 0.1
    # Level 2
    min_success_rate: Annotated[float, Field(ge=0, le=1)] = 0.60
    min_execution_seconds: Annotated[
        float, Field(gt=0, description="A spread that lasted this long counted as executable")
    ] = 3.0
    min_similar_samples: Annotated[
        int, Field(ge=1, description="Below this, the success rate backs off to a wider group")
    ] = 10
    cold_start_prior: Annotated[
        float,
        Field(
            ge=0,
            le=1,
            description="Success rate assumed with no usable history (also the Level 4 prior "
            "then: at the default 0.70 a fresh deployment alerts, at LOW priority)",
        ),
    ] = 0.70
    spread_bucket_edges: Annotated[
        tuple[float, ...], Field(description="Net-spread bucket edges, %, ascending")
    ] = (0.25, 0.5, 1.0, 2.0)
    history_per_bucket: Annotated[int, Field(ge=10, description="Samples kept per group")] = 200
    blackouts: tuple[Blackout, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> ValidationSettings:
        if list(self.spread_bucket_edges) != sorted(self.spread_bucket_edges):
            raise ValueError("spread_bucket_edges must be ascending")
        return self

    def min_spread(self, kind: OpportunityType) -> float:
        return self.min_net_spread_pct.get(kind, 0.0)


def _default_risk_caps() -> dict[RiskTolerance, float]:
    return {RiskTolerance.LOW: 1_000.0, RiskTolerance.MEDIUM: 5_000.0, RiskTolerance.HIGH: 20_000.0}


class ScoringSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    min_confidence: Annotated[float, Field(ge=0, le=1, description="Level 4 pass mark")] = 0.70
    min_train_samples: Annotated[
        int, Field(ge=10, description="History size before the model replaces the prior")
    ] = 60
    min_class_samples: Annotated[
        int, Field(ge=1, description="Each outcome must appear this often to train")
    ] = 5
    retrain_every: Annotated[int, Field(ge=1, description="Retrain after this many samples")] = 25
    train_window: Annotated[int, Field(ge=10, description="Most recent samples trained on")] = 2_000
    l2: Annotated[float, Field(ge=0, description="Ridge penalty on standardised weights")] = 1.0
    max_iter: Annotated[int, Field(ge=1)] = 30
    calibration_folds: Annotated[
        int, Field(ge=2, le=20, description="Cross-fitting folds for the calibration")
    ] = 5
    min_calibration_samples: Annotated[
        int, Field(ge=10, description="Window size before the confidence is calibrated")
    ] = 40
    confidence_floor: Annotated[
        float, Field(ge=0, lt=0.5, description="Lowest confidence shown (never 0 %)")
    ] = 0.01
    confidence_ceiling: Annotated[
        float, Field(gt=0.5, lt=1, description="Highest confidence shown (never 100 %)")
    ] = 0.99
    high_min_profit_pct: Annotated[float, Field(description="HIGH: expected profit ≥ this, %")] = (
        0.5
    )
    high_min_confidence: Annotated[float, Field(ge=0, le=1)] = 0.85
    medium_min_profit_pct: Annotated[
        float, Field(description="MEDIUM: expected profit ≥ this, %")
    ] = 0.2
    medium_min_confidence: Annotated[float, Field(ge=0, le=1)] = 0.75
    risk_position_usd: Annotated[
        dict[RiskTolerance, float], Field(description="Position cap per risk tolerance, USD")
    ] = Field(default_factory=_default_risk_caps)
    max_depth_fraction: Annotated[
        float, Field(gt=0, le=1, description="Never recommend more than this share of depth")
    ] = 0.5


class EngineSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    detection: DetectionSettings = Field(default_factory=DetectionSettings)
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
