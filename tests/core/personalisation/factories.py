"""Opportunities and profiles for personalisation tests."""

from __future__ import annotations

from typing import Any

from core.models import Opportunity, OpportunityType, Priority, Tier, UserProfile

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, ManualClock's default start


def opp(
    oid: str,
    kind: OpportunityType = OpportunityType.ARBITRAGE,
    symbol: str = "BTC/USDT",
    priority: Priority = Priority.MEDIUM,
    **kw: Any,
) -> Opportunity:
    fields: dict[str, Any] = {
        "opportunity_id": oid,
        "type": kind,
        "symbol": symbol,
        "buy_exchange": "binance",
        "sell_exchange": "okx",
        "buy_price": 100.0,
        "sell_price": 101.0,
        "net_spread_pct": 0.6,
        "expected_profit_pct": 0.5,
        "confidence": 0.8,
        "priority": priority,
        "detected_at": T0,
        "updated_at": T0,
        "expires_at": T0 + 30 * 86_400,
    }
    fields.update(kw)
    return Opportunity(**fields)


def profile(user_id: int, tier: Tier = Tier.PREMIUM, **kw: Any) -> UserProfile:
    return UserProfile(user_id=user_id, tier=tier, **kw)
