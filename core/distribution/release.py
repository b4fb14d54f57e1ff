"""The release step of a push, as one Lua script per batch of messages (``push_release.lua``).

A message leaves a user's queue only through `ReleaseStore.release_many`: for each message, in
one atomic step, Redis checks again what may have changed while it waited (the session, push
switched off, DND, the cooldown, the caps with on-demand use), takes the quota, records the push
and the recipients, writes the outbox entry and the queue's state with the message sent. The
messages go in batches of `distribution.release_batch`, one script call (one round trip) each:
the script decides each message on its own, all or nothing, and the whole batch runs as one
step in Redis.

Retrying after any failure is safe: a release already done answers ``dup`` (the outbox has seen
its outgoing id) and changes nothing; one not done is done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from redis.asyncio import Redis

from core.distribution.caps import Caps
from core.distribution.group_recipients import is_group_chat
from core.store import keys
from core.store.client import store_errors
from core.store.scripts import Scripts

Status = Literal[
    "ok", "dup", "partial", "session", "push_off", "dnd", "cooldown", "daily_cap", "hourly_cap"
]


@dataclass(frozen=True, slots=True)
class ReleaseRequest:
    user_id: int
    outgoing_id: str
    opportunity_ids: tuple[str, ...]
    message_json: str  # the rendered outbox message
    stream: str  # the outbox partition of the user's chat
    queue_json: str  # the queue's state once this message is out
    caps: Caps
    cooldown_seconds: float
    pierces_dnd: bool


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    status: Status
    used_today: int
    used_this_hour: int
    last_push_at: float | None
    detail: str  # ok: the outbox entry id; partial: how many fit; dnd/cooldown: until when

    @property
    def released(self) -> bool:
        return self.status in ("ok", "dup")

    @property
    def until(self) -> float | None:
        return float(self.detail) if self.status in ("dnd", "cooldown") else None


@dataclass(frozen=True, slots=True)
class ReleaseTtls:
    seen_seconds: int  # the outbox's dedup of outgoing ids
    queue_seconds: int  # a queue's saved state
    # Pushed opportunities count as seen by /opportunities for this long (its repeat window:
    # shown again then, they are free); 0 records nothing.
    views_seconds: float = 0.0


class ReleaseStore:
    def __init__(
        self, redis: Redis, scripts: Scripts, ttls: ReleaseTtls, *, batch: int = 500
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self._ttls = ttls
        self._batch = batch

    async def release_many(
        self, requests: Sequence[ReleaseRequest], now: float
    ) -> list[ReleaseResult]:
        results: list[ReleaseResult] = []
        # A script call per chunk: each request carries its rendered message and queue state (a
        # few KB), and 50,000 of them in one write outlast any socket timeout.
        for lo in range(0, len(requests), self._batch):
            results += await self._release_chunk(requests[lo : lo + self._batch], now)
        return results

    async def _release_chunk(
        self, requests: Sequence[ReleaseRequest], now: float
    ) -> list[ReleaseResult]:
        d = datetime.fromtimestamp(now, tz=UTC)
        day, hour = d.strftime("%Y%m%d"), d.strftime("%Y%m%d%H")
        ttls = self._ttls
        argv: list[str | int] = [
            repr(now),
            keys.QUOTA_DAY_TTL_S,
            keys.QUOTA_HOUR_TTL_S,
            keys.LAST_PUSH_TTL_S,
            ttls.seen_seconds,
            keys.RECIPIENTS_TTL_S,
            ttls.queue_seconds,
            repr(ttls.views_seconds),
        ]
        names: list[str] = []
        for r in requests:
            uid = r.user_id
            # A group's hash holds the fields a user's session and profile hold here.
            gate = keys.group(uid) if is_group_chat(uid) else None
            names += [
                gate or keys.session(uid),
                gate or keys.user(uid),
                keys.quota_day(uid, day),
                keys.quota_hour(uid, hour),
                keys.last_push(uid),
                keys.outbox_seen(r.outgoing_id),
                r.stream,
                keys.user_queue(uid),
                keys.quota_views(uid),
                *(keys.recipients(oid) for oid in r.opportunity_ids),
            ]
            argv += [
                len(r.opportunity_ids),
                r.caps.daily,
                r.caps.hourly,
                repr(r.cooldown_seconds),
                r.message_json,
                r.queue_json,
                "1" if r.pierces_dnd else "0",
                uid,
                *r.opportunity_ids,
            ]
        async with store_errors("releasing pushes"):
            flat = await self._scripts.push_release(keys=names, args=argv)
        raw = [flat[i : i + 5] for i in range(0, len(flat), 5)]
        return [
            ReleaseResult(
                status=str(status),  # type: ignore[arg-type]
                used_today=int(day_used),
                used_this_hour=int(hour_used),
                last_push_at=float(last) if last else None,
                detail=str(detail),
            )
            for status, day_used, hour_used, last, detail in raw
        ]
