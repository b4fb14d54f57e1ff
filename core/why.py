"""Why a user would or would not be pushed an opportunity now: the six layers over the user's
state as Redis holds it (the same state and the same `explain` the push shards use)."""

from __future__ import annotations

from redis.asyncio import Redis

from core.distribution.eligibility import (
    ChatContext,
    Counters,
    Policy,
    RecipientState,
    Verdict,
    explain,
)
from core.models import Opportunity
from core.profiles import profile_from_hash
from core.quota import QuotaStore
from core.sessions.store import SessionStore
from core.settings import Settings
from core.store import keys
from core.store.client import answer


async def why(
    redis: Redis,
    sessions: SessionStore,
    quota: QuotaStore,
    settings: Settings,
    user_id: int,
    opportunity: Opportunity,
    now: float,
) -> Verdict:
    session = await sessions.get(user_id)
    profile = profile_from_hash(
        user_id, await answer(redis.hgetall(keys.user(user_id))), settings.superadmin_ids
    )
    used_day, used_hour = await quota.used(user_id, now)
    last = await redis.get(keys.last_push(user_id))
    counters = Counters.of(now, used_day, used_hour, float(last) if last else None)
    policy = Policy(settings.tiers, settings.distribution)
    return explain(
        RecipientState(profile, session, counters),
        opportunity,
        now,
        ChatContext.private(user_id),
        policy=policy,
    )
