"""Sessions in Redis: each change is one Lua script, so nothing is read and written apart."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from redis.asyncio import Redis

from core.models import OnboardingState, SessionState, UserSession
from core.store import keys
from core.store.client import answer, hgetall_many, store_errors
from core.store.keys import SessionFields as F
from core.store.scripts import Scripts


def new_session_id() -> str:
    """128 random bits from the OS's CSPRNG, hex-encoded."""
    return secrets.token_hex(16)


def day_key(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y%m%d")


def _f(value: str | None, default: float = 0.0) -> float:
    return float(value) if value not in (None, "") else default


def _i(value: str | None) -> int:
    return int(value) if value not in (None, "") else 0


@dataclass(frozen=True, slots=True)
class StartOutcome:
    session: UserSession
    outcome: Literal["started", "resumed"]
    previous: SessionState | None
    # A session that was past its expiry when /start came, not yet swept: ended now.
    lapsed: UserSession | None


@dataclass(frozen=True, slots=True)
class DueReminder:
    """An active session close to its expiry whose user was not yet reminded of it."""

    user_id: int
    expires_at: float
    token: str  # the expiry as stored: what `mark_reminded` records

    @property
    def key(self) -> str:
        """Names this reminder: one per session expiry, however often it is attempted."""
        return f"{self.user_id}:{self.token}"


@dataclass(frozen=True, slots=True)
class Touch:
    user_id: int
    session_id: str
    at: float
    commands: int


def session_from_hash(user_id: int, raw: dict[str, str]) -> UserSession:
    """A session as its hash stores it (the hash's fields are `keys.SessionFields`)."""
    return UserSession(
        session_id=raw.get(F.ID, ""),
        user_id=user_id,
        state=SessionState(raw.get(F.STATE, "expired")),
        created_at=_f(raw.get(F.CREATED)),
        last_activity=_f(raw.get(F.LAST_ACTIVITY)),
        expires_at=_f(raw.get(F.EXPIRES)),
        onboarding=OnboardingState(raw.get(F.ONBOARDING) or "pending"),
        commands_used=_i(raw.get(F.COMMANDS)),
        opportunities_received=_i(raw.get(F.OPPORTUNITIES)),
    )


class SessionStore:
    def __init__(self, redis: Redis, scripts: Scripts, *, ttl: float, retention: float) -> None:
        self._redis = redis
        self._scripts = scripts
        self.ttl = ttl
        self.retention = retention

    async def get(self, user_id: int) -> UserSession | None:
        async with store_errors("reading a session"):
            raw = await answer(self._redis.hgetall(keys.session(user_id)))
        return session_from_hash(user_id, raw) if raw else None

    async def get_many(self, user_ids: Iterable[int]) -> list[UserSession | None]:
        """Each user's session (None for none), in one round trip."""
        ids = list(user_ids)
        raws = await hgetall_many(self._redis, [keys.session(u) for u in ids], "reading sessions")
        return [
            session_from_hash(uid, raw) if raw else None for uid, raw in zip(ids, raws, strict=True)
        ]

    async def start(self, user_id: int, now: float) -> StartOutcome:
        async with store_errors("starting a session"):
            r = await self._scripts.session_start(
                keys=[
                    keys.session(user_id),
                    keys.SESSION_EXPIRY_INDEX,
                    keys.user(user_id),
                    keys.daily_stats(day_key(now)),
                ],
                args=[
                    new_session_id(),
                    user_id,
                    repr(now),
                    repr(self.ttl),
                    keys.SESSION_CHANNEL,
                    keys.STATS_TTL_S,
                ],
            )
        outcome, previous, sid, created, last, expires, onboarding, commands, opps = r[:9]
        session = UserSession(
            session_id=sid,
            user_id=user_id,
            state=SessionState.ACTIVE,
            created_at=float(created),
            last_activity=float(last),
            expires_at=float(expires),
            onboarding=OnboardingState(onboarding or "pending"),
            commands_used=_i(commands),
            opportunities_received=_i(opps),
        )
        lapsed = None
        if r[9]:
            lapsed = UserSession(
                session_id=r[9],
                user_id=user_id,
                state=SessionState.EXPIRED,
                created_at=float(r[10]),
                last_activity=float(r[11]),
                expires_at=float(r[11]) + self.ttl,
            )
        prev = None if previous in ("none", "active") else SessionState(previous)
        return StartOutcome(session, outcome, prev, lapsed)

    async def touch_many(self, touches: list[Touch]) -> list[float | None]:
        """Apply activity; returns each session's new expiry, or None if it was no longer active."""
        if not touches:
            return []
        async with store_errors("recording activity"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for t in touches:
                    await self._scripts.session_touch(
                        keys=[keys.session(t.user_id), keys.SESSION_EXPIRY_INDEX],
                        args=[t.user_id, repr(t.at), repr(self.ttl), t.commands, t.session_id],
                        client=pipe,
                    )
                results = await pipe.execute()
        return [float(r) if r else None for r in results]

    async def end(self, user_id: int, now: float, state: SessionState) -> UserSession | None:
        ended = await self.end_many([user_id], now, state)
        return ended[0]

    async def end_many(
        self, user_ids: list[int], now: float, state: SessionState
    ) -> list[UserSession | None]:
        """End sessions (expire only those past expiry); None for each that did not end."""
        if not user_ids:
            return []
        stats = keys.daily_stats(day_key(now))
        async with store_errors("ending sessions"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for uid in user_ids:
                    await self._scripts.session_end(
                        keys=[keys.session(uid), keys.SESSION_EXPIRY_INDEX, stats],
                        args=[
                            uid,
                            repr(now),
                            state.value,
                            int(self.retention),
                            keys.SESSION_CHANNEL,
                            keys.STATS_TTL_S,
                        ],
                        client=pipe,
                    )
                results = await pipe.execute()
        ended: list[UserSession | None] = []
        for uid, r in zip(user_ids, results, strict=True):
            if not r:
                ended.append(None)
                continue
            sid, created, last, expires, commands, opps = r
            ended.append(
                UserSession(
                    session_id=sid,
                    user_id=uid,
                    state=state,
                    created_at=float(created),
                    last_activity=now if state is SessionState.TERMINATED else float(last),
                    expires_at=float(expires),
                    commands_used=_i(commands),
                    opportunities_received=_i(opps),
                )
            )
        return ended

    async def due_for_expiry(self, now: float, limit: int) -> list[int]:
        async with store_errors("reading the expiry index"):
            ids = await self._redis.zrangebyscore(
                keys.SESSION_EXPIRY_INDEX, "-inf", repr(now), start=0, num=limit
            )
        return [int(i) for i in ids]

    async def expiries(self, user_ids: list[int]) -> list[float | None]:
        """The current expiry of each user's active session (None: no active session)."""
        if not user_ids:
            return []
        async with store_errors("reading the expiry index"):
            scores = await self._redis.zmscore(
                keys.SESSION_EXPIRY_INDEX, [str(u) for u in user_ids]
            )
        return [None if s is None else float(s) for s in scores]

    async def due_for_reminder(
        self, since: float, until: float, offset: int, limit: int
    ) -> tuple[list[DueReminder], int]:
        """Active sessions expiring in [since, until] whose users were not reminded of that
        expiry yet, from index entries offset..offset+limit; and how many entries were read
        (page on while it equals `limit`)."""
        async with store_errors("reading the expiry index"):
            rows = await self._redis.zrangebyscore(
                keys.SESSION_EXPIRY_INDEX, repr(since), repr(until), start=offset, num=limit,
                withscores=True,
            )  # fmt: skip
            if not rows:
                return [], 0
            async with self._redis.pipeline(transaction=False) as pipe:
                for uid, _ in rows:
                    pipe.hmget(keys.session(int(uid)), [F.STATE, F.EXPIRES, F.REMINDED])
                fields = await pipe.execute()
        due: list[DueReminder] = []
        for (uid, _score), (state, expires, reminded) in zip(rows, fields, strict=True):
            if state == SessionState.ACTIVE.value and expires and reminded != expires:
                due.append(DueReminder(int(uid), float(expires), expires))
        return due, len(rows)

    async def mark_reminded(self, due: list[DueReminder]) -> None:
        """Record that each user was reminded of that expiry (after the reminder was queued)."""
        if not due:
            return
        async with store_errors("recording reminders"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for d in due:
                    await self._scripts.hset_if_exists(
                        keys=[keys.session(d.user_id)], args=[F.REMINDED, d.token], client=pipe
                    )
                await pipe.execute()

    async def count_active(self, now: float) -> int:
        async with store_errors("counting sessions"):
            n: int = await self._redis.zcount(keys.SESSION_EXPIRY_INDEX, f"({now!r}", "+inf")
        return n

    async def set_onboarding(self, user_id: int, state: OnboardingState, now: float) -> None:
        async with store_errors("saving onboarding state"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(keys.user(user_id), keys.ProfileFields.ONBOARDING, state.value)
                await self._scripts.hset_if_exists(
                    keys=[keys.session(user_id)], args=[F.ONBOARDING, state.value], client=pipe
                )
                if state is OnboardingState.COMPLETED:
                    stats = keys.daily_stats(day_key(now))
                    pipe.hincrby(stats, "onboarding_completed", 1)
                    pipe.expire(stats, keys.STATS_TTL_S)
                pipe.publish(keys.SESSION_CHANNEL, str(user_id))
                await pipe.execute()

    async def daily_stats(self, ts: float) -> dict[str, int]:
        async with store_errors("reading statistics"):
            raw = await answer(self._redis.hgetall(keys.daily_stats(day_key(ts))))
        return {k: int(v) for k, v in raw.items()}
