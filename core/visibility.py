"""Which live opportunities a user may see on demand: their tier's types and delay, and the
preferences that narrow what they want (types, muted pairs, minimum profit, exchanges).

Pushes apply these and more (the six eligibility layers); /opportunities applies these.

Two halves, because they answer different questions:

- `entitled_to`: what the user's plan pays for (the tier's types and its delay). This
  is access control: every button on an opportunity (Details, mutes, votes) applies it, so a
  forged or outdated button never reveals an opportunity the plan does not include.
- `wanted_by`: the user's own filters. They decide what is listed, not what may be seen: a
  Details press on a card shown before the user muted its pair still answers.

`visible_to` is both, and is what /opportunities lists.
"""

from __future__ import annotations

from core.models import Opportunity, UserProfile
from core.settings import TierLimits


def entitled_to(opp: Opportunity, profile: UserProfile, limits: TierLimits, now: float) -> bool:
    """The user's plan includes this opportunity now (type and delay)."""
    return opp.type in limits.opportunity_types and opp.detected_at + limits.delay_seconds <= now


def wanted_by(opp: Opportunity, profile: UserProfile) -> bool:
    """The user's preferences let this opportunity through (types, mutes, profit, exchanges)."""
    prefs = profile.preferences
    return (
        opp.type in prefs.opportunity_types
        and opp.symbol not in prefs.muted_pairs
        and opp.expected_profit_pct >= prefs.min_profit_pct
        and (not profile.exchanges or opp.exchanges <= profile.exchanges)
    )


def visible_to(opp: Opportunity, profile: UserProfile, limits: TierLimits, now: float) -> bool:
    return entitled_to(opp, profile, limits, now) and wanted_by(opp, profile)
