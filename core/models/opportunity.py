"""An arbitrage opportunity as users see it. Detection fills these in (the opportunity engine)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class OpportunityType(StrEnum):
    ARBITRAGE = "arbitrage"
    FUNDING = "funding"
    TECHNICAL = "technical"

    @property
    def label(self) -> str:
        return {"arbitrage": "Cross-exchange", "funding": "Funding rate", "technical": "Technical"}[
            self.value
        ]


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for the most urgent."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}

Rank = tuple[int, float, float, str]


def best_first(
    priority: Priority, expected_profit_pct: float, confidence: float, opportunity_id: str
) -> Rank:
    """The one ranking of opportunities, as a sort key: priority, then expected profit, then
    confidence, then id (so ties never depend on arrival order). Digests, the queue's choice of
    what fits under a cap, and /opportunities all sort by it."""
    return (priority.rank, -expected_profit_pct, -confidence, opportunity_id)


class Opportunity(BaseModel):
    model_config = ConfigDict(frozen=True)

    opportunity_id: str
    type: OpportunityType
    symbol: str
    buy_exchange: str
    sell_exchange: str
    buy_price: float
    sell_price: float
    net_spread_pct: float
    expected_profit_pct: float
    confidence: float
    priority: Priority
    detected_at: float
    updated_at: float
    expires_at: float
    min_position_usd: float = 0.0
    recommended_position_usd: float = 0.0
    closed: bool = False
    # Filled by the opportunity engine (core.opportunity); defaults keep older payloads valid.
    gross_spread_pct: float = 0.0
    fees_pct: float = 0.0
    slippage_pct: float = 0.0
    available_depth_usd: float = 0.0
    position_usd_low: float = 0.0
    position_usd_medium: float = 0.0
    position_usd_high: float = 0.0
    # The fees charged on each side (in and out where the position is closed again), % of the
    # position; `fees_pct` is their sum. 0 on payloads from before they were recorded.
    buy_fees_pct: float = 0.0
    sell_fees_pct: float = 0.0
    # FUNDING only (0 otherwise): the funding interval, the next funding time (epoch seconds),
    # the rate difference collected per interval (%) and the intervals the position is held.
    funding_interval_s: float = 0.0
    next_funding_ts: float = 0.0
    funding_diff_pct: float = 0.0
    funding_periods: int = 0

    @property
    def rank(self) -> Rank:
        """Its place in `best_first` order (sort ascending)."""
        return best_first(
            self.priority, self.expected_profit_pct, self.confidence, self.opportunity_id
        )

    @property
    def exchanges(self) -> frozenset[str]:
        return frozenset({self.buy_exchange, self.sell_exchange})

    @property
    def pair(self) -> str:
        return self.symbol

    def position_for(self, risk: str) -> float:
        """The recommended size (USD) for a risk tolerance ("low", "medium", "high")."""
        size = {
            "low": self.position_usd_low,
            "medium": self.position_usd_medium,
            "high": self.position_usd_high,
        }.get(str(risk), 0.0)
        return size or self.recommended_position_usd
