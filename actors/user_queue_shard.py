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
so an opportunity rejected by a later layer, or dropped from a queue, uses up nothing. Going out
is one atomic release per message (`core.distribution.release`): the session, push, DND, the
cooldown and the caps are checked again in Redis, and the quota, the outbox entry and the
queue's new state are written together. The release answers with the user's counters, so the
row follows on-demand use too.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
import zlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from actors.restarts import note_restart
from core.clock import SystemClock
from core.distribution.caps import Counters
from core.distribution.columns import ShardColumns, eligible_chat_ids
from core.distribution.eligibility import TIER_CODE, ChatContext, Policy, RecipientState, Verdict
from core.distribution.group_recipients import GroupRecipients, is_group_chat
from core.distribution.release import ReleaseRequest, ReleaseStore, ReleaseTtls
from core.distribution.settings import DistributionSettings
from core.distribution.user_queue import Outgoing, UserQueue
from core.events import Emitter, EventName, RedisEventLog
from core.groups.channel_posts import is_channel_outgoing
from core.groups.store import GroupStore
from core.models import Opportunity, Priority, Tier, UserProfile
from core.opportunity_store import OpportunityStore
from core.personalisation.ranker import Ranker
from core.profiles import ProfileStore
from core.quota import QuotaStore
from core.sessions.store import SessionStore
from core.settings import Settings
from core.store import keys
from core.store.client import PUBSUB_WAIT_SECONDS, answer, blocking_wait, connect_for
from core.store.scripts import Scripts, lua_source
from core.why import why
from messaging.outbox.message import OutboxMessage
from messaging.outbox.pushes import PushOutbox

TIER_OF_CODE = {code: tier for tier, code in TIER_CODE.items()}
# Queue states saved per script call: a few hundred KB, a few ms of Redis each.
_SAVE_CHUNK = 1_000
log = logging.getLogger(__name__)

# A queue event's kind → the event it is. "sent" means released to the outbox here: delivery
# records its own distribution.sent.
_QUEUE_EVENTS: dict[str, str] = {
    "queued": EventName.QUEUED,
    "refreshed": EventName.REFRESHED,
    "held": EventName.HELD,
    "dropped": EventName.DROPPED,
    "sent": EventName.RELEASED,
    "edit": EventName.EDIT,
}


@contextlib.asynccontextmanager
async def _collector_paused() -> AsyncIterator[None]:
    """Python's cyclic collector off for one turn. A fan-out allocates a few objects per user,
    and each collection those allocations trigger walks every live queue and row of the shard
    again: about 40% of a fan-out's time. Reference counting still frees what the turn drops;
    cycles wait for the next collection after the turn."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def shard_of(user_id: int, shards: int) -> int:
    """The shard of a user: a stable hash, the same in every process."""
    return zlib.crc32(str(user_id).encode()) % shards


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
        outbox: PushOutbox | None = None,
    ) -> None:
        """`outbox`: renders messages for the durable outbox of `redis_url` (tests pass one
        with their clock)."""
        note_restart(redis_url)
        self.index, self.count = index, count
        self._settings = settings
        self._redis = connect_for(redis_url, settings)
        scripts = Scripts(self._redis)
        self._queue_save = self._redis.register_script(lua_source("queue_save"))
        s = settings.session
        self._sessions = SessionStore(
            self._redis, scripts, ttl=s.ttl_seconds, retention=s.ended_retention_seconds
        )
        self._quota = QuotaStore(self._redis, scripts)
        self._profile_store = ProfileStore(self._redis, scripts, settings.superadmin_ids)
        delivery = settings.distribution.delivery
        self._release = ReleaseStore(
            self._redis,
            scripts,
            ReleaseTtls(
                seen_seconds=delivery.dedup_retention_seconds,
                queue_seconds=int(settings.distribution.sent_retention_seconds),
                views_seconds=settings.opportunities.repeat_view_free_seconds,
            ),
            batch=settings.distribution.release_batch,
        )
        # Queues whose state in memory changed without a save (a preference arrived).
        self._unsaved: set[int] = set()
        # The profile of every row, for rendering without a read per message.
        self._profiles: dict[int, UserProfile] = {}
        self._opportunities = OpportunityStore(self._redis, ttl=settings.opportunities.ttl_seconds)
        self.policy = Policy(settings.tiers, settings.distribution)
        self.columns = ShardColumns(self.policy)
        self.queues: dict[int, UserQueue] = {}
        # Groups are rows and queues too (negative chat ids), read from the group store; a
        # group's digest window is its queue's settings.
        self._groups = GroupRecipients(
            GroupStore(self._redis),
            self._profile_store,
            self._quota,
            settings.groups,
            settings.distribution,
        )
        self._queue_settings: dict[int, DistributionSettings] = {}
        # Flushed and trimmed as configured (the shard once ignored the stream's length cap).
        self._events = RedisEventLog.configured(self._redis, settings.events)
        # Every event here carries the time the shard was told (`now`), never the clock's.
        self._emit = Emitter(self._events, SystemClock())
        # Personal relevance, after the rules: orders digests, may withhold Low pushes.
        self._relevance = Ranker(
            self._redis, settings.personalisation, settings.experiments.running, self._emit
        )
        self._outbox: PushOutbox = outbox or PushOutbox(
            self._redis,
            settings.distribution.delivery,
            self._events,
            superadmins=settings.superadmin_ids,
            digest_max_items=settings.distribution.digest_max_items,
        )
        self._lock = asyncio.Lock()
        self._started = False
        self._loaded = False
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
            await self._load_locked(now)
            return len(self.columns)

    async def _load_locked(self, now: float) -> None:
        await self._start()
        ids = await self._redis.zrangebyscore(keys.SESSION_EXPIRY_INDEX, f"({now!r}", "+inf")
        mine = [int(i) for i in ids if shard_of(int(i), self.count) == self.index]
        mine += [g for g in await self._groups.ids() if shard_of(g, self.count) == self.index]
        await self._load_rows(mine, now)
        await self._resume_pending(mine)
        self._loaded = True

    async def _ready(self, now: float) -> None:
        """A shard that Ray restarted (the constructor ran again, nothing loaded) loads its users
        before it answers anything: a fan-out to an empty shard would be acknowledged upstream
        and lost for every one of its users."""
        if not self._loaded:
            await self._load_locked(now)

    async def refresh(self, user_ids: Iterable[int], now: float | None = None) -> None:
        """Re-read users whose session or preferences changed (their rows and queues)."""
        now = time.time() if now is None else now
        mine = [u for u in user_ids if shard_of(u, self.count) == self.index]
        async with self._lock:
            await self._load_rows(mine, now)

    async def _load_rows(self, user_ids: list[int], now: float) -> None:
        groups = [u for u in user_ids if is_group_chat(u)]
        if groups:
            await self._load_group_rows(groups, now)
            user_ids = [u for u in user_ids if not is_group_chat(u)]
        if not user_ids:
            return
        sessions, profiles, counters_of = await asyncio.gather(
            self._sessions.get_many(user_ids),
            self._profile_store.get_many(user_ids),
            self._quota.counters_many(user_ids, now),
        )
        for uid, session, profile, counters in zip(
            user_ids, sessions, profiles, counters_of, strict=True
        ):
            if session is None or not session.is_active(now):
                self.columns.remove(uid)
                self._profiles.pop(uid, None)
                await self._passivate(uid)
                continue
            self._profiles[uid] = profile
            self.columns.upsert(
                RecipientState(profile, session, counters), ChatContext.private(uid)
            )
            if uid in self.queues:
                self.queues[uid].set_preferences(profile.preferences)
                self._unsaved.add(uid)

    async def _load_group_rows(self, chat_ids: list[int], now: float) -> None:
        """Groups' rows (core.distribution.group_recipients): a paused or left group's row and
        queue go the way of an ended session's."""
        for chat_id, group in zip(chat_ids, await self._groups.load(chat_ids, now), strict=True):
            if group is None:
                self.columns.remove(chat_id)
                self._profiles.pop(chat_id, None)
                self._outbox.groups.pop(chat_id, None)
                await self._passivate(chat_id)
                continue
            self._profiles[chat_id] = group.profile
            self._outbox.groups[chat_id] = group.config
            self._queue_settings[chat_id] = group.queue_settings
            self.columns.upsert(group.state, ChatContext.group(chat_id))
            if chat_id in self.queues:
                self.queues[chat_id].settings = group.queue_settings
                self.queues[chat_id].set_preferences(group.profile.preferences)
                self._unsaved.add(chat_id)

    # -- queues as virtual actors --------------------------------------------------------------

    async def _activate(self, user_ids: list[int]) -> None:
        missing = [u for u in user_ids if u not in self.queues]
        if not missing:
            return
        raws = await self._redis.mget([keys.user_queue(u) for u in missing])
        unknown = [u for u in missing if u not in self._profiles]
        for p in await self._profile_store.get_many(unknown):
            self._profiles[p.user_id] = p
        d = self._settings.distribution
        now = time.time()
        for uid, raw in zip(missing, raws, strict=True):
            qs = self._queue_settings.get(uid, d)  # a group's digest window
            qs = self._relevance.queue_settings(uid, qs, now)  # an experiment's window
            queue = (
                UserQueue.from_dict(json.loads(raw), qs) if raw else UserQueue(uid, qs, born=now)
            )
            queue.set_preferences(self._profiles[uid].preferences)
            self._unsaved.add(uid)
            self.queues[uid] = queue

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
        """Drop an idle queue from memory. Every turn ends by saving what it changed, so Redis
        has it already unless its preferences changed since: only then is it written."""
        queue = self.queues.pop(uid, None)
        if queue is not None:
            await self._save([queue], written=None if uid in self._unsaved else {uid})
            self._unsaved.discard(uid)

    async def _save(self, queues: list[UserQueue], written: set[int] | None = None) -> None:
        """Save queues (but those whose state a release wrote this turn) and their events."""
        ttl = int(self._settings.distribution.sent_retention_seconds)
        counts: dict[str, int] = {}
        for q in queues:
            self._unsaved.discard(q.user_id)
        names: list[str] = []
        states: list[str] = []
        for q in queues:
            self._emit_queue_events(q, counts)
            if written is None or q.user_id not in written:
                names.append(keys.user_queue(q.user_id))
                states.append(json.dumps(q.to_dict()))
        async with self._redis.pipeline(transaction=False) as pipe:
            # One script per chunk of states, not one SET each (see queue_save.lua).
            for lo in range(0, len(names), _SAVE_CHUNK):
                await self._queue_save(
                    keys=names[lo : lo + _SAVE_CHUNK],
                    args=[ttl, *states[lo : lo + _SAVE_CHUNK]],
                    client=pipe,
                )
            for name, n in counts.items():
                pipe.hincrby(keys.PUSH_STATS, name, n)
            await pipe.execute()

    def _emit_queue_events(self, queue: UserQueue, counts: dict[str, int]) -> None:
        for e in queue.drain_events():
            if e.kind in ("held", "dropped"):
                name = f"{e.kind}:{e.reason}"
                counts[name] = counts.get(name, 0) + 1
            self._emit(
                _QUEUE_EVENTS[e.kind],
                ts=e.at,
                user_id=queue.user_id,
                opportunity_id=e.opportunity_id,
                reason=e.reason,
                shard=self.index,
            )

    # -- work ---------------------------------------------------------------------------------

    async def fanout(self, opportunity: Opportunity, now: float | None = None) -> FanoutResult:
        """Offer one opportunity (opened, updated or closed) to every user of the shard."""
        now = time.time() if now is None else now
        async with self._lock, _collector_paused():
            await self._ready(now)
            if opportunity.closed:
                return await self._closed(opportunity, now)
            await self._follow_extensions(now)
            # Quiet times and a tier's delay are waited out in the queue, not refused here.
            ids, rejected = eligible_chat_ids(
                self.columns, opportunity, now, defer_quiet=True, defer_delay=True
            )
            if rejected:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for reason, n in rejected.items():
                        pipe.hincrby(keys.PUSH_STATS, f"rejected:{reason}", n)
                    await pipe.execute()
            for reason, n in rejected.items():
                self._emit(
                    EventName.REJECTED,
                    ts=now,
                    opportunity_id=opportunity.opportunity_id,
                    layer=int(reason[1]),
                    reason=reason,
                    users=n,
                    shard=self.index,
                )
            ids = await self._relevance.gate(ids, opportunity, self._profiles, now)
            await self._activate(ids)
            out: list[Outgoing] = []
            detected = opportunity.detected_at
            # Each chat's room under its caps, for all of them at once (`_remaining`, vectorised).
            quotas = self.columns.remaining_many(ids, now)
            for uid, quota in zip(ids, quotas, strict=True):
                out += self.queues[uid].offer(
                    opportunity,
                    now,
                    quota=quota,
                    not_before=detected + self.columns.delay_of(uid),
                )
            written: set[int] = set()
            sent = await self._release_all(
                out, now, {opportunity.opportunity_id: opportunity}, written
            )
            await self._save([self.queues[u] for u in ids], written)
            return FanoutResult(self.index, len(self.columns), len(ids), sent, rejected)

    async def _closed(self, opportunity: Opportunity, now: float) -> FanoutResult:
        oid = opportunity.opportunity_id
        members = await answer(self._redis.smembers(keys.recipients(oid)))
        mine = [int(m) for m in members if shard_of(int(m), self.count) == self.index]
        await self._activate(mine)
        edits = [e for uid in mine for e in self.queues[uid].on_closed(oid, now)]
        # Pending copies held by queues not in the recipient set are dropped as well.
        for uid, q in self.queues.items():
            if uid not in mine and oid in q.pending_ids:
                edits += q.on_closed(oid, now)
        await self._outbox.submit(edits, {oid: opportunity}, self._profiles)
        await self._save([self.queues[u] for u in mine])
        return FanoutResult(self.index, len(self.columns), 0, len(edits))

    async def tick(self, now: float | None = None) -> int:
        """Send what batching windows and quiet hours now release; passivate idle queues."""
        now = time.time() if now is None else now
        async with self._lock, _collector_paused():
            await self._ready(now)
            await self._follow_extensions(now)
            due = [
                q for q in self.queues.values() if (w := q.next_wakeup()) is not None and w <= now
            ]
            out: list[Outgoing] = []
            for q in due:
                out += q.tick(now, quota=self._remaining(q.user_id, now))
            ids = {oid for o in out for oid in o.opportunity_ids}
            opps = {o.opportunity_id: o for o in await self._load_opportunities(ids)}
            written: set[int] = set()
            sent = await self._release_all(out, now, opps, written)
            await self._save(due, written)
            idle = [u for u, q in self.queues.items() if q.next_wakeup() is None]
            for uid in idle:
                await self._passivate(uid)
            return sent

    async def _follow_extensions(self, now: float) -> None:
        """Activity extends sessions in Redis without telling the shards (that would be one
        message per active user per flush). A row past its expiry is read again from the expiry
        index before it is judged: one round trip for the rows that lapsed, none otherwise."""
        lapsed = self.columns.lapsed_chat_ids(now)
        if not lapsed:
            return
        for uid, expires in zip(lapsed, await self._sessions.expiries(lapsed), strict=True):
            if expires is not None and expires > now:
                self.columns.set_session_expiry(uid, expires)

    async def _load_opportunities(self, ids: set[str]) -> list[Opportunity]:
        found = await self._opportunities.get_many(sorted(ids))
        return list(found.values())

    def _tier(self, uid: int) -> Tier:
        return TIER_OF_CODE[int(self.columns.column("tier")[self.columns.row_of(uid)])]

    def _remaining(self, uid: int, now: float) -> int | None:
        """Opportunities the user may still receive now (None: no cap), from the row's counters."""
        if uid not in self.columns:
            return 0
        caps = self.policy.caps(self._tier(uid), is_group_chat(uid))
        return caps.remaining(self.columns.counters(uid), now)

    async def _release_all(
        self,
        out: list[Outgoing],
        now: float,
        opportunities: Mapping[str, Opportunity],
        written: set[int],
    ) -> int:
        """Release what the queues proposed, one atomic release per message in one pipeline;
        returns how many messages went to the outbox. Edits of closed messages take no quota
        and are enqueued as they are. Users whose state a release wrote are added to
        `written`."""
        edits = [o for o in out if o.kind == "edit_closed"]
        if edits:
            await self._outbox.submit(edits, opportunities, self._profiles)
        sends = [o for o in out if o.kind != "edit_closed"]
        released = 0
        render = self._outbox.batch_renderer(opportunities, now)
        # A partial grant (a cap fits fewer items than the digest holds) is rendered again
        # with what fits; the caps only shrink, so two more rounds always settle it.
        for _round in range(3):
            if not sends:
                break
            sends = await self._relevance.rank(sends, opportunities, self._profiles, now)
            requests: list[ReleaseRequest] = []
            messages: dict[str, OutboxMessage] = {}
            for o in sends:
                queue = self.queues[o.user_id]
                profile = self._profiles.get(o.user_id)
                msg = None if profile is None else render(o, profile)
                if profile is None or msg is None:
                    queue.refuse(o.outgoing_id, "opportunity_gone", now)
                    continue
                messages[o.outgoing_id] = msg
                requests.append(self._request(o, msg, profile, queue))
            try:
                results = await self._release.release_many(requests, now)
            except Exception:
                # Unknown outcome: Redis holds each queue either as it was or with its message
                # out. Forget them (they are read again), and fail the call: the distributor
                # offers the change again, the next tick releases again.
                for r in requests:
                    self.queues.pop(r.user_id, None)
                raise
            sends = []
            accepted: list[OutboxMessage] = []
            for req, res in zip(requests, results, strict=True):
                uid, queue = req.user_id, self.queues[req.user_id]
                if uid in self.columns:
                    self.columns.set_counters(
                        uid,
                        Counters.of(now, res.used_today, res.used_this_hour, res.last_push_at),
                    )
                if res.released:
                    queue.confirm(req.outgoing_id)
                    written.add(uid)
                    released += 1
                    if res.status == "ok":
                        accepted.append(messages[req.outgoing_id])
                elif res.status == "partial":
                    sends.append(queue.trim(req.outgoing_id, int(res.detail), now))
                else:
                    queue.refuse(req.outgoing_id, res.status, now, retry_at=res.until)
            self._outbox.outbox.accepted(accepted)
        for o in sends:
            self.queues[o.user_id].refuse(o.outgoing_id, "quota", now)
        return released

    def _request(
        self, o: Outgoing, msg: OutboxMessage, profile: UserProfile, queue: UserQueue
    ) -> ReleaseRequest:
        limits = self._settings.tier_limits(profile.tier)
        return ReleaseRequest(
            user_id=o.user_id,
            outgoing_id=o.outgoing_id,
            opportunity_ids=o.opportunity_ids,
            message_json=msg.to_json(),
            stream=self._outbox.outbox.stream_of(msg),
            queue_json=json.dumps(queue.to_dict(assume_confirmed=[o.outgoing_id])),
            caps=self.policy.caps(profile.tier, is_group_chat(o.user_id)),
            cooldown_seconds=limits.push_cooldown_seconds,
            pierces_dnd=(
                o.kind == "single"
                and o.priority is Priority.HIGH
                and profile.preferences.high_priority_pierces_dnd
            ),
        )

    async def record_sent(self, user_id: int, outgoing_id: str, message_id: int) -> int:
        """The outbox delivered `outgoing_id` as `message_id`; returns the edits this caused."""
        return await self.record_sent_many([(user_id, outgoing_id, message_id)])

    async def record_sent_many(self, acks: list[tuple[int, str, int]]) -> int:
        """Telegram message ids of delivered messages (so a close can edit them), in one turn;
        returns the edits this caused (messages whose opportunity closed meanwhile)."""
        acks = [a for a in acks if not is_channel_outgoing(a[1])]  # channel posts have no queue
        if not acks:
            return 0
        now = time.time()
        async with self._lock:
            await self._ready(now)
            await self._activate(sorted({uid for uid, _, _ in acks}))
            edits: list[Outgoing] = []
            for uid, outgoing_id, message_id in acks:
                edits += self.queues[uid].record_sent(outgoing_id, message_id, now)
            if edits:
                ids = {oid for e in edits for oid in e.opportunity_ids}
                opps = {o.opportunity_id: o for o in await self._load_opportunities(ids)}
                await self._outbox.submit(edits, opps, self._profiles)
            touched = [self.queues[uid] for uid in sorted({uid for uid, _, _ in acks})]
            await self._save(touched)
            # A queue with nothing left to do is passivated now, its state just saved: the tick
            # would otherwise write it a second time.
            for q in touched:
                if q.next_wakeup() is None:
                    self.queues.pop(q.user_id, None)
            return len(edits)

    async def explain(
        self, user_id: int, opportunity: Opportunity, now: float | None = None
    ) -> Verdict:
        """Why a user would, or would not, get an opportunity now (SuperAdmin's /why)."""
        now = time.time() if now is None else now
        return await why(
            self._sessions,
            self._profile_store,
            self._quota,
            self._settings,
            user_id,
            opportunity,
            now,
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
            "groups": int((self.columns.chat_ids < 0).sum()),  # group chats among the rows
            "active_queues": len(self.queues),
            "pending": sum(pending),
            "held": sum(q.held_count for q in self.queues.values()),
        }
