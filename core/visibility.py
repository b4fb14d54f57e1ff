"""Which live opportunities a user may see on demand: their tier's types and delay, and the
preferences that narrow what they want (types, muted pairs, minimum profit, exchanges).

Pushes apply these and more (the six eligibility layers); /opportunities applies these.
"""

from __future__ import annotations

from core.models import Opportunity, UserProfile
from core.settings import TierLimits


def visible_to(opp: Opportunity, profile: UserProfile, limits: TierLimits, now: float) -> bool:
    prefs = profile.preferences
    return (
        opp.type in limits.opportunity_types
        and opp.detected_at + limits.delay_seconds <= now
        and opp.type in prefs.opportunity_types
        and opp.symbol not in prefs.muted_pairs
        and opp.expected_profit_pct >= prefs.min_profit_pct
        and (not profile.exchanges or opp.exchanges <= profile.exchanges)
    )
