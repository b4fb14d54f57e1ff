"""Live opportunities in Redis, as the opportunity engine publishes them and users read them.

Each opportunity is a JSON string with a TTL; a sorted set indexes the live ones by expiry, so a
read is one ZRANGEBYSCORE and one MGET. Every change (opened, updated, closed) is also appended
to the ``arbcast:opps:changes`` stream, which distribution consumes with a consumer group: a
stream rather than an actor call because it outlives either side's restart, replays what a
consumer missed, and decouples the engine's pace from distribution's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from redis.asyncio import Redis

from core.models import Opportunity
from core.store import keys
from core.store.client import answer, store_errors

Change = Literal["opened", "updated", "closed"]


class OpportunityStore:
    def __init__(self, redis: Redis, *, ttl: float, closed_retention: float = 3600.0) -> None:
        self._redis = redis
        self.ttl = ttl
        self.closed_retention = closed_retention

    async def put(self, opportunity: Opportunity) -> None:
        await self.apply(opened=[opportunity])

    async def apply(
        self,
        *,
        opened: Iterable[Opportunity] = (),
        updated: Iterable[Opportunity] = (),
        closed: Iterable[Opportunity] = (),
        records: Mapping[str, list[dict[str, Any]]] | None = None,
        close_reasons: Mapping[str, str] | None = None,
    ) -> None:
        """Store a coordinator's changes and announce them, in one transaction."""
        changes: list[tuple[Change, Opportunity]] = [
            *(("opened", o) for o in opened),
            *(("updated", o) for o in updated),
            *(("closed", o) for o in closed),
        ]
        if not changes and not records:
            return
        reasons = close_reasons or {}
        async with store_errors("publishing opportunities"):
            async with self._redis.pipeline(transaction=True) as pipe:
                for kind, opp in changes:
                    raw = opp.model_dump_json()
                    if kind == "closed":
                        ttl_ms = int(self.closed_retention * 1000)
                        pipe.zrem(keys.LIVE_OPPORTUNITIES, opp.opportunity_id)
                    else:
                        ttl_ms = max(1, int((opp.expires_at - opp.updated_at) * 1000))
                        pipe.zadd(keys.LIVE_OPPORTUNITIES, {opp.opportunity_id: opp.expires_at})
                    pipe.set(keys.opportunity(opp.opportunity_id), raw, px=ttl_ms)
                    pipe.xadd(
                        keys.OPPORTUNITY_CHANGES,
                        {
                            "kind": kind,
                            "id": opp.opportunity_id,
                            "reason": reasons.get(opp.opportunity_id, ""),
                            "opportunity": raw,
                        },
                        maxlen=keys.OPPORTUNITY_CHANGES_MAX_LEN,
                        approximate=True,
                    )
                for opp_id, recs in (records or {}).items():
                    key = keys.validation_log(opp_id)
                    pipe.rpush(key, *(json.dumps(r, separators=(",", ":")) for r in recs))
                    pipe.expire(key, int(self.ttl + self.closed_retention))
                await pipe.execute()

    async def get(self, opportunity_id: str) -> Opportunity | None:
        async with store_errors("reading an opportunity"):
            raw = await self._redis.get(keys.opportunity(opportunity_id))
        return Opportunity.model_validate_json(raw) if raw else None

    async def get_many(self, opportunity_ids: Sequence[str]) -> dict[str, Opportunity]:
        """The stored opportunities among `opportunity_ids` (closed ones included), one MGET."""
        if not opportunity_ids:
            return {}
        async with store_errors("reading opportunities"):
            raws = await self._redis.mget([keys.opportunity(i) for i in opportunity_ids])
        return {
            i: Opportunity.model_validate_json(r)
            for i, r in zip(opportunity_ids, raws, strict=True)
            if r
        }

    async def validation(self, opportunity_id: str) -> list[dict[str, Any]]:
        async with store_errors("reading a validation record"):
            raws = await answer(self._redis.lrange(keys.validation_log(opportunity_id), 0, -1))
        return [json.loads(r) for r in raws]

    async def live(self, now: float) -> list[Opportunity]:
        """Open opportunities that have not expired, best first (`Opportunity.rank`)."""
        async with store_errors("reading opportunities"):
            await self._redis.zremrangebyscore(keys.LIVE_OPPORTUNITIES, "-inf", f"({now!r}")
            ids = await self._redis.zrangebyscore(keys.LIVE_OPPORTUNITIES, f"({now!r}", "+inf")
            raws = await self._redis.mget([keys.opportunity(i) for i in ids]) if ids else []
        found = [Opportunity.model_validate_json(r) for r in raws if r]
        live = [o for o in found if not o.closed and o.expires_at > now]
        return sorted(live, key=lambda o: o.rank)

    async def changes(
        self, after: str = "0-0", count: int = 1000
    ) -> list[tuple[str, Change, Opportunity]]:
        """Changes after a stream id, oldest first (readers that need no consumer group)."""
        async with store_errors("reading opportunity changes"):
            entries = await self._redis.xrange(
                keys.OPPORTUNITY_CHANGES, f"({after}", "+", count=count
            )
        return [
            (entry_id, fields["kind"], Opportunity.model_validate_json(fields["opportunity"]))
            for entry_id, fields in entries
        ]
