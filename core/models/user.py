"""Users: subscription tier, preferences and the exchanges they trade on."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from core.distribution.quiet import in_dnd
from core.models.opportunity import OpportunityType
from core.models.session import OnboardingState


class Tier(StrEnum):
    FREE = "free"
    BASIC = "basic"
    PREMIUM = "premium"
    ENTERPRISE = "enterprise"
    SUPERADMIN = "superadmin"

    @property
    def label(self) -> str:
        return "SuperAdmin" if self is Tier.SUPERADMIN else self.value.capitalize()


class RiskTolerance(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Preferences(BaseModel):
    """What a user wants pushed, and when. Empty sets mean "no narrowing"."""

    model_config = ConfigDict(frozen=True)

    push_enabled: bool = True
    opportunity_types: frozenset[OpportunityType] = frozenset(OpportunityType)
    muted_pairs: frozenset[str] = frozenset()
    # The watchlist narrows alerts only when `watch_only` is on ("only these pairs"); off, the
    # list is kept but every pair except the muted ones reaches the user.
    watchlist: frozenset[str] = frozenset()
    watch_only: bool = False
    min_profit_pct: float = 0.0
    timezone: str = "UTC"
    active_hours: tuple[int, int] = (0, 24)
    dnd_until: float | None = None
    high_priority_pierces_dnd: bool = False
    risk_tolerance: RiskTolerance = RiskTolerance.MEDIUM

    def in_dnd(self, now: float) -> bool:
        return in_dnd(self.dnd_until, now)  # the rule lives with the other quiet times


class UserProfile(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: int
    first_name: str = ""
    tier: Tier = Tier.FREE
    preferences: Preferences = Field(default_factory=Preferences)
    # Exchanges the user trades on; empty means all of them until the user narrows the list.
    exchanges: frozenset[str] = frozenset()
    onboarding: OnboardingState = OnboardingState.PENDING
    trading_restricted: bool = False
    region: str = ""
    # The language texts are written in ("en", "ru"); empty until /start chose one from the
    # user's Telegram language_code (then it is English wherever no update says otherwise).
    language: str = ""
