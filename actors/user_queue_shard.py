"""`UserQueueActor`: one shard of the push queues, hosting a `UserQueue` per active user.

The design's UserOpportunityQueueDO is one object per user; an actor per user would cost a
process each, so users are *virtual actors* hashed onto a fixed pool of shards. A shard keeps:
- `ShardColumns`: one row per user with an active session (session, tier, preferences, counters),
  so one opportunity is checked against every user of the shard in one vectorised pass;
- the `UserQueue` of each user that has work (activated on demand from Redis, passivated when
  idle or when the session ends), saved to Redis after each turn so a restarted shard loses
  nothing.
Every call takes its turn (one at a time), as a Durable Object's requests do.

Quota is taken when a message actually goes out (layer 4 is only *checked* during eligibility),
so an opportunity rejected by a later layer, or dropped from a queue, uses up nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from core.distribution.columns import ShardColumns, eligible_chat_ids
from core.distribution.eligibility import (
    TIER_CODE,
    ChatContext,
    Counters,
    Policy,
    RecipientState,
    Verdict,
)
from core.distribution.user_queue import Outgoing, UserQueue
from core.events import Event, RedisEventLog
from core.models import Opportunity, Tier
from core.opportunity_store import OpportunityStore
from core.profiles import profile_from_hash
from core.quota import QuotaStore
from core.sessions.store import SessionStore
from core.settings import Settings
from core.store import keys
from core.store.client import PUBSUB_WAIT_SECONDS, blocking_wait, connect_for
from core.store.scripts import Scripts
from core.why import why
from messaging.push_outbox import PushOutbox

TIER_OF_CODE = {code: tier for tier, code in TIER_CODE.items()}
log = logging.getLogger(__name__)


def shard_of(user_id: int, shards: int) -> int:
    """The shard of a user: a stable hash, the same in every process."""
    return zlib.crc32(str(user_id).encode()) % shards


class OutboxPort(Protocol):
    """Where a shard hands messages for delivery (the durable outbox)."""

    async def submit(
        self, outgoing: list[Outgoing], opportunities: Mapping[str, Opportunity]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class FanoutResult:
    shard: int
    rows: int
    eligible: int
    messages: int
    rejected: dict[str, int] = field(default_factory=dict)


class UserQueueShard:
    def __init__(
        self,
        index: int,
        count: int,
        settings: Settings,
        redis_url: str,
        outbox: OutboxPort | None = None,
    ) -> None:
        """`outbox`: where messages go; by default the durable outbox of `redis_url`, rendered
        by `PushOutbox` (tests pass their own port)."""
        self.index, self.count = index, count
        self._settings = settings
        self._redis: Any = connect_for(redis_url, settings)
        scripts = Scripts(self._redis)
        s = settings.session
        self._sessions = SessionStore(
            self._redis, scripts, ttl=s.ttl_seconds, retention=s.ended_retention_seconds
        )
        self._quota = QuotaStore(self._redis, scripts)
        self._opportunities = OpportunityStore(self._redis, ttl=settings.opportunities.ttl_seconds)
        self.policy = Policy(settings.tiers, settings.distribution)
        self.columns = ShardColumns(self.policy)
        self.queues: dict[int, UserQueue] = {}
        self._events = RedisEventLog(
            self._redis, flush_interval=settings.events.flush_interval_seconds
        )
        self._outbox: OutboxPort = outbox or PushOutbox(
            self._redis,
            settings.distribution.delivery,
            self._events,
            superadmins=settings.superadmin_ids,
            digest_max_items=settings.distribution.digest_max_items,
        )
        self._lock = asyncio.Lock()
        self._started = False
        self._tasks: list[asyncio.Task[None]] = []

    # -- membership ---------------------------------------------------------------------------

    async def _start(self) -> None:
        if not self._started:
            self._started = True
            self._events.start()

    async def load(self, now: float | None = None) -> int:
        """(Re)build the rows of every user of this shard with an active session."""
        now = time.time() if now is None else now
        async with self._lock:
            await self._start()
            ids = await self._redis.zrangebyscore(keys.SESSION_EXPIRY_INDEX, f"({now!r}", "+inf")
            mine = [int(i) for i in ids if shard_of(int(i), self.count) == self.index]
            await self._load_rows(mine, now)
            await self._resume_pending(mine)
            return len(self.columns)

    async def refresh(self, user_ids: Iterable[int], now: float | None = None) -> None:
        """Re-read users whose session or preferences changed (their rows and queues)."""
        now = time.time() if now is None else now
        mine = [u for u in user_ids if shard_of(u, self.count) == self.index]
        async with self._lock:
            await self._load_rows(mine, now)

    async def _load_rows(self, user_ids: list[int], now: float) -> None:
        if not user_ids:
            return
        day, hour = (
            time.strftime("%Y%m%d", time.gmtime(now)),
            time.strftime("%Y%m%d%H", time.gmtime(now)),
        )
        async with self._redis.pipeline(transaction=False) as pipe:
            for uid in user_ids:
                pipe.hgetall(keys.session(uid))
                pipe.hgetall(keys.user(uid))
                pipe.mget(keys.quota_day(uid, day), keys.quota_hour(uid, hour), keys.last_push(uid))
            raw = await pipe.execute()
        for i, uid in enumerate(user_ids):
            session_raw, profile_raw, (used_day, used_hour, last) = raw[3 * i : 3 * i + 3]
            session = SessionStore._from_hash(uid, session_raw) if session_raw else None
            if session is None or not session.is_active(now):
                self.columns.remove(uid)
                await self._passivate(uid)
                continue
            profile = profile_from_hash(uid, profile_raw, self._settings.superadmin_ids)
            counters = Counters.of(
                now, int(used_day or 0), int(used_hour or 0), float(last) if last else None
            )
            self.columns.upsert(
                RecipientState(profile, session, counters), ChatContext.private(uid)
            )
            if uid in self.queues:
                self.queues[uid].set_preferences(profile.preferences)

    # -- queues as virtual actors --------------------------------------------------------------

    async def _activate(self, user_ids: list[int]) -> None:
        missing = [u for u in user_ids if u not in self.queues]
        if not missing:
            return
        raws = await self._redis.mget([keys.user_queue(u) for u in missing])
        profiles = await self._redis_profiles(missing)
        for uid, raw in zip(missing, raws, strict=True):
            d = self._settings.distribution
            queue = UserQueue.from_dict(json.loads(raw), d) if raw else UserQueue(uid, d)
            queue.set_preferences(profiles[uid].preferences)
            self.queues[uid] = queue

    async def _redis_profiles(self, user_ids: list[int]) -> dict[int, Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for uid in user_ids:
                pipe.hgetall(keys.user(uid))
            raws = await pipe.execute()
        return {
            u: profile_from_hash(u, r, self._settings.superadmin_ids)
            for u, r in zip(user_ids, raws, strict=True)
        }

    async def _resume_pending(self, user_ids: list[int], batch: int = 10_000) -> None:
        """Activate saved queues that still hold work, so the tick loop sends it after a restart."""
        for lo in range(0, len(user_ids), batch):
            chunk = user_ids[lo : lo + batch]
            raws = await self._redis.mget([keys.user_queue(u) for u in chunk])
            waiting = [
                u
                for u, raw in zip(chunk, raws, strict=True)
                if raw and u not in self.queues and json.loads(raw).get("pending")
            ]
            await self._activate(waiting)

    async def _passivate(self, uid: int) -> None:
        queue = self.queues.pop(uid, None)
        if queue is not None:
            await self._save([queue])

    async def _save(self, queues: list[UserQueue]) -> None:
        ttl = int(self._settings.distribution.sent_retention_seconds)
        counts: dict[str, int] = {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for q in queues:
                self._emit_queue_events(q, counts)
                pipe.set(keys.user_queue(q.user_id), json.dumps(q.to_dict()), ex=ttl)
            for name, n in counts.items():
                pipe.hincrby(keys.PUSH_STATS, name, n)
            await pipe.execute()

    def _emit_queue_events(self, queue: UserQueue, counts: dict[str, int]) -> None:
        for e in queue.drain_events():
            if e.kind in ("held", "dropped"):
                name = f"{e.kind}:{e.reason}"
                counts[name] = counts.get(name, 0) + 1
            self._events.emit(
                Event(
                    # "sent" here means released to the outbox; delivery records its own sent.
                    name="distribution.released" if e.kind == "sent" else f"distribution.{e.kind}",
                    ts=e.at,
                    user_id=queue.user_id,
                    attrs={
                        "opportunity_id": e.opportunity_id,
                        "reason": e.reason,
                        "shard": self.index,
                    },
                )
            )

    # -- work ---------------------------------------------------------------------------------

    async def fanout(self, opportunity: Opportunity, now: float | None = None) -> FanoutResult:
        """Offer one opportunity (opened, updated or closed) to every user of the shard."""
        now = time.time() if now is None else now
        async with self._lock:
            await self._start()
            if opportunity.closed:
                return await self._closed(opportunity, now)
            ids, rejected = eligible_chat_ids(self.columns, opportunity, now, defer_quiet=True)
            if rejected:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for reason, n in rejected.items():
                        pipe.hincrby(keys.PUSH_STATS, f"rejected:{reason}", n)
                    await pipe.execute()
            for reason, n in rejected.items():
                self._events.emit(
                    Event(
                        name="distribution.rejected",
                        ts=now,
                        attrs={
                            "opportunity_id": opportunity.opportunity_id,
                            "layer": int(reason[1]),
                            "reason": reason,
                            "count": n,
                            "shard": self.index,
                        },
                    )
                )
            await self._activate(ids)
            out: list[Outgoing] = []
            for uid in ids:
                out += self.queues[uid].offer(opportunity, now, quota=self._remaining(uid, now))
            sent = await self._deliver(out, now, {opportunity.opportunity_id: opportunity})
            await self._save([self.queues[u] for u in ids])
            return FanoutResult(self.index, len(self.columns), len(ids), sent, rejected)

    async def _closed(self, opportunity: Opportunity, now: float) -> FanoutResult:
        oid = opportunity.opportunity_id
        members = await self._redis.smembers(keys.recipients(oid))
        mine = [int(m) for m in members if shard_of(int(m), self.count) == self.index]
        await self._activate(mine)
        edits = [e for uid in mine for e in self.queues[uid].on_closed(oid, now)]
        # Pending copies held by queues not in the recipient set are dropped as well.
        for uid, q in self.queues.items():
            if uid not in mine and oid in q.pending_ids:
                edits += q.on_closed(oid, now)
        sent = await self._deliver(edits, now, {oid: opportunity})
        await self._save([self.queues[u] for u in mine])
        return FanoutResult(self.index, len(self.columns), 0, sent)

    async def tick(self, now: float | None = None) -> int:
        """Send what batching windows and quiet hours now release; passivate idle queues."""
        now = time.time() if now is None else now
        async with self._lock:
            due = [
                q for q in self.queues.values() if (w := q.next_wakeup()) is not None and w <= now
            ]
            out: list[Outgoing] = []
            for q in due:
                out += q.tick(now, quota=self._remaining(q.user_id, now))
            ids = {oid for o in out for oid in o.opportunity_ids}
            opps = {o.opportunity_id: o for o in await self._load_opportunities(ids)}
            sent = await self._deliver(out, now, opps)
            await self._save(due)
            idle = [u for u, q in self.queues.items() if q.next_wakeup() is None]
            for uid in idle:
                await self._passivate(uid)
            return sent

    async def _load_opportunities(self, ids: set[str]) -> list[Opportunity]:
        found = [await self._opportunities.get(i) for i in sorted(ids)]
        return [o for o in found if o is not None]

    def _tier(self, uid: int) -> Tier:
        return TIER_OF_CODE[int(self.columns.column("tier")[self.columns.row_of(uid)])]

    def _remaining(self, uid: int, now: float) -> int | None:
        """Opportunities the user may still receive now (None: no cap), from the row's counters."""
        if uid not in self.columns:
            return 0
        c = self.columns.counters(uid)
        day_cap, hour_cap = self.policy.caps(self._tier(uid), False)
        left = [
            cap - used
            for cap, used in ((day_cap, c.today(now)), (hour_cap, c.this_hour(now)))
            if cap
        ]
        return max(0, min(left)) if left else None

    async def _deliver(
        self, out: list[Outgoing], now: float, opportunities: Mapping[str, Opportunity]
    ) -> int:
        """Take quota for each message, record recipients, and hand it to the outbox."""
        sends = [o for o in out if o.kind != "edit_closed"]
        accepted: list[Outgoing] = [o for o in out if o.kind == "edit_closed"]
        for o in sends:
            limits = self._settings.tier_limits(self._tier(o.user_id))
            grant = await self._quota.take(o.user_id, len(o.opportunity_ids), limits, now)
            if grant.granted == 0:
                await self._redis.hincrby(keys.PUSH_STATS, "dropped:quota", 1)
                self._events.emit(
                    Event(
                        name="distribution.dropped",
                        ts=now,
                        user_id=o.user_id,
                        attrs={"reason": "quota", "outgoing_id": o.outgoing_id},
                    )
                )
                continue
            if grant.granted < len(o.opportunity_ids):
                o = replace(o, opportunity_ids=o.opportunity_ids[: grant.granted])
            self.columns.commit(o.user_id, now, grant.granted, push=True)
            accepted.append(o)
        if not accepted:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for o in accepted:
                if o.kind == "edit_closed":
                    continue
                pipe.set(keys.last_push(o.user_id), repr(now), ex=2 * 86_400)
                for oid in o.opportunity_ids:
                    key = keys.recipients(oid)
                    pipe.sadd(key, o.user_id)
                    pipe.expire(key, keys.RECIPIENTS_TTL_S)
            await pipe.execute()
        await self._outbox.submit(accepted, opportunities)
        return len(accepted)

    async def record_sent(self, user_id: int, outgoing_id: str, message_id: int) -> int:
        """The outbox delivered `outgoing_id` as `message_id`; returns the edits this caused."""
        return await self.record_sent_many([(user_id, outgoing_id, message_id)])

    async def record_sent_many(self, acks: list[tuple[int, str, int]]) -> int:
        """Telegram message ids of delivered messages (so a close can edit them), in one turn;
        returns the edits this caused (messages whose opportunity closed meanwhile)."""
        if not acks:
            return 0
        now = time.time()
        async with self._lock:
            await self._activate(sorted({uid for uid, _, _ in acks}))
            edits: list[Outgoing] = []
            for uid, outgoing_id, message_id in acks:
                edits += self.queues[uid].record_sent(outgoing_id, message_id, now)
            if edits:
                ids = {oid for e in edits for oid in e.opportunity_ids}
                opps = {o.opportunity_id: o for o in await self._load_opportunities(ids)}
                await self._outbox.submit(edits, opps)
            await self._save([self.queues[uid] for uid in {uid for uid, _, _ in acks}])
            return len(edits)

    async def explain(
        self, user_id: int, opportunity: Opportunity, now: float | None = None
    ) -> Verdict:
        """Why a user would, or would not, get an opportunity now (SuperAdmin's /why)."""
        now = time.time() if now is None else now
        return await why(
            self._redis, self._sessions, self._quota, self._settings, user_id, opportunity, now
        )

    async def start(self) -> int:
        """Load the shard, then tick every `distribution.tick_seconds` and follow users'
        changes. Idempotent: a running shard only reports its rows (a supervisor calls this
        to restart a shard that Ray restarted)."""
        if self._tasks:
            return len(self.columns)
        rows = await self.load()
        self._tasks = [
            asyncio.create_task(
                self._tick_loop(self._settings.distribution.tick_seconds), name="shard-tick"
            ),
            asyncio.create_task(self._follow_changes(), name="shard-changes"),
        ]
        return rows

    async def _tick_loop(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)  # a period, not a synchronisation
            try:
                await self.tick()
            except Exception as exc:
                log.warning("shard %d tick failed: %s", self.index, exc)

    async def _follow_changes(self) -> None:
        while True:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(keys.SESSION_CHANNEL)
                # get_message with a wait below the socket timeout, not listen(), which reads
                # with the socket timeout and would take a quiet channel for a lost one.
                wait = blocking_wait(self._redis, PUBSUB_WAIT_SECONDS)
                while True:
                    message = await pubsub.get_message(timeout=wait)
                    if message is None or message["type"] != "message":
                        continue
                    uid = int(message["data"])
                    if shard_of(uid, self.count) == self.index:
                        await self.refresh([uid])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect; a reload closes any gap
                log.warning("shard %d lost the users channel (%s); reloading", self.index, exc)
                await asyncio.sleep(1.0)
                await self.load()

    async def flush(self) -> None:
        async with self._lock:
            await self._save(list(self.queues.values()))
            await self._events.flush()

    async def stats(self) -> dict[str, Any]:
        pending = [len(q.pending_ids) for q in self.queues.values()]
        return {
            "shard": self.index,
            "rows": len(self.columns),
            "active_queues": len(self.queues),
            "pending": sum(pending),
            "held": sum(q.held_count for q in self.queues.values()),
        }
