"""Builders for distribution tests: a reference time, tiers, recipients and opportunities."""

from __future__ import annotations

from typing import Any

from core.distribution.caps import Counters
from core.distribution.eligibility import ChatContext, Policy, RecipientState
from core.distribution.settings import DistributionSettings
from core.models import (
    Opportunity,
    OpportunityType,
    Preferences,
    Priority,
    SessionState,
    Tier,
    UserProfile,
    UserSession,
)
from core.settings import TierLimits

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, ManualClock's default start
EVERY = frozenset(OpportunityType)


def tiers() -> dict[Tier, TierLimits]:
    return {
        Tier.FREE: TierLimits(
            daily_cap=5,
            hourly_cap=2,
            push_cooldown_seconds=4 * 3600,
            opportunity_types=frozenset({OpportunityType.ARBITRAGE}),
            delay_seconds=300,
        ),
        Tier.BASIC: TierLimits(
            daily_cap=20,
            hourly_cap=5,
            push_cooldown_seconds=3600,
            opportunity_types=frozenset({OpportunityType.ARBITRAGE, OpportunityType.FUNDING}),
            delay_seconds=60,
        ),
        Tier.PREMIUM: TierLimits(
            daily_cap=100, hourly_cap=20, push_cooldown_seconds=600, opportunity_types=EVERY
        ),
        Tier.ENTERPRISE: TierLimits(
            daily_cap=1000, hourly_cap=100, push_cooldown_seconds=60, opportunity_types=EVERY
        ),
        Tier.SUPERADMIN: TierLimits(
            daily_cap=0, hourly_cap=0, push_cooldown_seconds=0, opportunity_types=EVERY
        ),
    }


def policy(**settings: Any) -> Policy:
    return Policy(tiers(), DistributionSettings(**settings))


def session(user_id: int = 1, *, now: float = T0, **kw: Any) -> UserSession:
    fields: dict[str, Any] = {
        "session_id": f"s{user_id}",
        "user_id": user_id,
        "state": SessionState.ACTIVE,
        "created_at": now - 3600,
        "last_activity": now - 60,
        "expires_at": now + 7 * 86400,
    }
    fields.update(kw)
    return UserSession(**fields)


def recipient(
    user_id: int = 1,
    *,
    tier: Tier = Tier.PREMIUM,
    prefs: dict[str, Any] | None = None,
    counters: Counters | None = None,
    session_kw: dict[str, Any] | None = None,
    no_session: bool = False,
    **profile: Any,
) -> RecipientState:
    p = UserProfile(user_id=user_id, tier=tier, preferences=Preferences(**(prefs or {})), **profile)
    s = None if no_session else session(user_id, **(session_kw or {}))
    return RecipientState(p, s, counters or Counters())


def opportunity(opp_id: str = "o1", *, now: float = T0, **kw: Any) -> Opportunity:
    fields: dict[str, Any] = {
        "opportunity_id": opp_id,
        "type": OpportunityType.ARBITRAGE,
        "symbol": "BTC/USDT",
        "buy_exchange": "binance",
        "sell_exchange": "okx",
        "buy_price": 100.0,
        "sell_price": 101.0,
        "net_spread_pct": 1.0,
        "expected_profit_pct": 0.8,
        "confidence": 0.9,
        "priority": Priority.MEDIUM,
        "detected_at": now - 3600,
        "updated_at": now - 3600,
        "expires_at": now + 900,
    }
    fields.update(kw)
    return Opportunity(**fields)


PRIVATE = ChatContext.private(1)
GROUP = ChatContext.group(-100)
