"""Why a user would or would not be pushed an opportunity now: the six layers over the user's
state as Redis holds it (the same stores and the same `explain` the push shards use)."""

from __future__ import annotations

from core.distribution.eligibility import ChatContext, Policy, RecipientState, Verdict, explain
from core.models import Opportunity
from core.profiles import ProfileStore
from core.quota import QuotaStore
from core.sessions.store import SessionStore
from core.settings import Settings


async def why(
    sessions: SessionStore,
    profiles: ProfileStore,
    quota: QuotaStore,
    settings: Settings,
    user_id: int,
    opportunity: Opportunity,
    now: float,
) -> Verdict:
    session = await sessions.get(user_id)
    profile = await profiles.get(user_id)
    (counters,) = await quota.counters_many([user_id], now)
    return explain(
        RecipientState(profile, session, counters),
        opportunity,
        now,
        ChatContext.private(user_id),
        policy=Policy(settings.tiers, settings.distribution),
    )
