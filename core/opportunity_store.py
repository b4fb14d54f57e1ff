"""Live opportunities in Redis, as the opportunity engine publishes them and users read them.

Each opportunity is a JSON string with a TTL; a sorted set indexes the live ones by expiry so a
read is one ZRANGEBYSCORE and one MGET.
"""

from __future__ import annotations

from typing import Any

from core.models import Opportunity
from core.store import keys
from core.store.client import store_errors


class OpportunityStore:
    def __init__(self, redis: Any, *, ttl: float) -> None:
        self._redis = redis
        self.ttl = ttl

    async def put(self, opportunity: Opportunity) -> None:
        ttl_ms = max(1, int((opportunity.expires_at - opportunity.updated_at) * 1000))
        async with store_errors("saving an opportunity"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(
                    keys.opportunity(opportunity.opportunity_id),
                    opportunity.model_dump_json(),
                    px=ttl_ms,
                )
                pipe.zadd(
                    keys.LIVE_OPPORTUNITIES, {opportunity.opportunity_id: opportunity.expires_at}
                )
                await pipe.execute()

    async def get(self, opportunity_id: str) -> Opportunity | None:
        async with store_errors("reading an opportunity"):
            raw = await self._redis.get(keys.opportunity(opportunity_id))
        return Opportunity.model_validate_json(raw) if raw else None

    async def live(self, now: float) -> list[Opportunity]:
        """Open opportunities that have not expired, best first."""
        async with store_errors("reading opportunities"):
            await self._redis.zremrangebyscore(keys.LIVE_OPPORTUNITIES, "-inf", f"({now!r}")
            ids = await self._redis.zrangebyscore(keys.LIVE_OPPORTUNITIES, f"({now!r}", "+inf")
            raws = await self._redis.mget([keys.opportunity(i) for i in ids]) if ids else []
        found = [Opportunity.model_validate_json(r) for r in raws if r]
        live = [o for o in found if not o.closed and o.expires_at > now]
        return sorted(live, key=lambda o: o.expected_profit_pct * o.confidence, reverse=True)
