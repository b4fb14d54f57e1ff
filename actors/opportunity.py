"""`OpportunityCoordinator`: one actor per exchange pair (the design's OpportunityCoordinatorDO).

A thin host for `PairCoordinatorLogic`: it feeds market batches in, writes what comes out to
Redis (live opportunities, validation records, the changes stream) and to the event log, and
keeps a snapshot of the logic in Redis so that an actor Ray restarts resumes with its live
opportunities and history. Its calls take turns (one at a time), as a Durable Object's do.

The snapshot has two parts. What must not be lost (episodes, history, the scoring model, funding
rates: about 40 KB) is written after every batch that opened or closed an opportunity; an update
to a live one is durable already, in the opportunity store. The recent books and price series
(over 90% of the bytes, and refilled by the feed) are written every `snapshot_interval_seconds`.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from actors.restarts import note_restart
from core.clock import SystemClock
from core.events import Emitter, EventName, RedisEventLog
from core.market.models import ExchangeInfo, MarketUpdate
from core.opportunity.coordinator import (
    SNAPSHOT_VERSION,
    CoordinatorOutput,
    PairCoordinatorLogic,
)
from core.opportunity_store import OpportunityStore
from core.settings import Settings
from core.store import keys
from core.store.client import connect_for

MARKET_SUFFIX = ":market"


@dataclass(frozen=True, slots=True)
class BatchResult:
    opened: int
    updated: int
    closed: int
    records: int


class OpportunityCoordinator:
    def __init__(
        self,
        pair: tuple[str, str],
        exchanges: list[ExchangeInfo],
        settings: Settings,
        redis_url: str,
    ) -> None:
        note_restart(redis_url)
        self.pair = pair
        self._settings = settings
        self.logic = PairCoordinatorLogic(pair, {x.name: x for x in exchanges}, settings.engine)
        self._redis = connect_for(redis_url, settings)
        self._store = OpportunityStore(self._redis, ttl=settings.opportunities.ttl_seconds)
        self._events = RedisEventLog.configured(self._redis, settings.events)
        # Events carry the batch's time (`now`) or a record's own, never the clock's.
        self._emit = Emitter(self._events, SystemClock())
        self._lock = asyncio.Lock()
        self._restored: bool | None = None
        self._last_snapshot = 0.0
        self.batches = 0
        self.updates_seen = 0

    async def _ensure_ready(self) -> None:
        if self._restored is not None:
            return
        key = keys.coordinator(self.logic.pair)
        durable, market = await self._redis.mget(key, key + MARKET_SUFFIX)
        if durable:
            snapshot = self.logic.snapshot()  # an empty logic's, for the parts not saved
            snapshot.update(json.loads(durable))
            if market:
                snapshot.update(json.loads(market))
            self.logic.restore(snapshot)
        self._restored = bool(durable)
        self._events.start()

    async def on_updates(self, updates: list[MarketUpdate], now: float) -> BatchResult:
        async with self._lock:  # turns: one batch at a time, whatever Ray's concurrency
            await self._ensure_ready()
            out = self.logic.on_updates(updates, now)
            self.batches += 1
            self.updates_seen += len(updates)
            await self._publish(out, now)
            interval = self._settings.engine_runtime.snapshot_interval_seconds
            market_due = now - self._last_snapshot >= interval
            # An update is already durable in the opportunity store; an opening or a closing
            # (which adds to the history) must be in the snapshot before the call returns.
            if out.opened or out.closed or market_due:
                await self._save(now, market=market_due)
            return BatchResult(len(out.opened), len(out.updated), len(out.closed), len(out.records))

    async def _publish(self, out: CoordinatorOutput, now: float) -> None:
        if not out:
            return
        records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in out.records:
            d = r.to_dict()
            records[r.opportunity_id].append(d)
            attrs: dict[str, Any] = {
                "opportunity_id": r.opportunity_id,
                "level": int(r.level),
                "passed": r.passed,
                "reason": r.reason,
                "key": r.key,
                "pair": "-".join(self.logic.pair),
            }
            attrs.update({f"f_{k}": float(v) for k, v in r.figures.items()})
            self._emit(EventName.VALIDATION, ts=r.ts, **attrs)
        await self._store.apply(
            opened=out.opened,
            updated=out.updated,
            closed=out.closed,
            records=records,
            close_reasons=out.close_reasons,
        )
        for kind, opps in (
            ("opened", out.opened),
            ("updated", out.updated),
            ("closed", out.closed),
        ):
            for o in opps:
                self._emit(
                    EventName.LIFECYCLE,
                    ts=now,
                    change=kind,
                    opportunity_id=o.opportunity_id,
                    type=o.type.value,
                    symbol=o.symbol,
                    buy=o.buy_exchange,
                    sell=o.sell_exchange,
                    net_spread_pct=o.net_spread_pct,
                    confidence=o.confidence,
                    priority=o.priority.value,
                    reason=out.close_reasons.get(o.opportunity_id, ""),
                )

    async def _save(self, now: float, *, market: bool) -> None:
        logic, key = self.logic, keys.coordinator(self.logic.pair)
        durable = {
            "version": SNAPSHOT_VERSION,
            "pair": list(logic.pair),
            "funding": [f.to_dict() for _, f in sorted(logic.funding.items())],
            "tracker": logic.tracker.snapshot(),
            "history": logic.history.snapshot(),
            "scorer": logic.scorer.snapshot(),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, json.dumps(durable, separators=(",", ":")))
            if market:
                series = [[x, s, logic.series[(x, s)].snapshot()] for x, s in sorted(logic.series)]
                payload = {"books": logic.cache.snapshot(), "series": series}
                pipe.set(key + MARKET_SUFFIX, json.dumps(payload, separators=(",", ":")))
                self._last_snapshot = now
            await pipe.execute()

    async def flush(self) -> None:
        """Write the snapshot and pending events now (before a planned stop, and in tests)."""
        async with self._lock:
            await self._ensure_ready()
            await self._save(self._last_snapshot, market=True)
            await self._events.flush()

    async def stats(self) -> dict[str, Any]:
        await self._ensure_ready()
        return {
            "pair": list(self.logic.pair),
            "restored": self._restored,
            "batches": self.batches,
            "updates": self.updates_seen,
            "live": [e.id for e in self.logic.tracker.live()],
        }
