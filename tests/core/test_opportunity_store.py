"""The live opportunities, best first: the one ranking (`best_first`) that digests use too, on
real Redis."""

from __future__ import annotations

from typing import Any

from core.models import Priority
from core.opportunity_store import OpportunityStore
from tests.core.distribution.factories import T0, opportunity


async def test_live_is_best_first_by_priority_then_profit_then_confidence_then_id(
    redis: Any,
) -> None:
    store = OpportunityStore(redis, ttl=1800)
    opened = [
        opportunity("m-rich", priority=Priority.MEDIUM, expected_profit_pct=2.0),
        opportunity("h-poor", priority=Priority.HIGH, expected_profit_pct=0.2),
        opportunity("m-sure", priority=Priority.MEDIUM, expected_profit_pct=0.5, confidence=0.9),
        opportunity("m-unsure", priority=Priority.MEDIUM, expected_profit_pct=0.5, confidence=0.6),
        opportunity("l-b", priority=Priority.LOW, expected_profit_pct=0.5, confidence=0.6),
        opportunity("l-a", priority=Priority.LOW, expected_profit_pct=0.5, confidence=0.6),
        opportunity("gone", expires_at=T0 - 1),
    ]
    await store.apply(opened=opened)
    live = [o.opportunity_id for o in await store.live(T0)]
    assert live == ["h-poor", "m-rich", "m-sure", "m-unsure", "l-a", "l-b"]
