"""The opportunity engine's pure logic: detection, validation (Levels 1, 2, 4), scoring,
deduplication and the per-exchange-pair coordinator core. No Ray, no Redis, no network."""

from core.opportunity.coordinator import (
    CoordinatorOutput,
    PairCoordinatorLogic,
    pair_key,
    technical_hosts,
)
from core.opportunity.detectors import (
    Candidate,
    detect_arbitrage,
    detect_funding,
    detect_technical,
)
from core.opportunity.history import HistorySample, MarketSeries, RateEstimate, SpreadHistory
from core.opportunity.records import ValidationLevel, ValidationRecord
from core.opportunity.scoring import (
    FEATURE_NAMES,
    ConfidenceScorer,
    LogisticModel,
    expected_profit_pct,
    priority,
    recommend_position_usd,
)
from core.opportunity.settings import (
    Blackout,
    DetectionSettings,
    EngineSettings,
    ScoringSettings,
    ValidationSettings,
)
from core.opportunity.tracker import Episode, EpisodeStatus, OpportunityTracker, episode_id
from core.opportunity.validation import MarketConditions, level1, level2, level4

__all__ = [
    "FEATURE_NAMES",
    "Blackout",
    "Candidate",
    "ConfidenceScorer",
    "CoordinatorOutput",
    "DetectionSettings",
    "EngineSettings",
    "Episode",
    "EpisodeStatus",
    "HistorySample",
    "LogisticModel",
    "MarketConditions",
    "MarketSeries",
    "OpportunityTracker",
    "PairCoordinatorLogic",
    "RateEstimate",
    "ScoringSettings",
    "SpreadHistory",
    "ValidationLevel",
    "ValidationRecord",
    "ValidationSettings",
    "detect_arbitrage",
    "detect_funding",
    "detect_technical",
    "episode_id",
    "expected_profit_pct",
    "level1",
    "level2",
    "level4",
    "pair_key",
    "priority",
    "recommend_position_usd",
    "technical_hosts",
]
