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
