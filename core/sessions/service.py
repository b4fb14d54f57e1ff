"""What the bot asks of sessions: who is active, start, activity, logout, expiry.

Each transition is an event. Validation reads the per-process cache and falls back to Redis;
activity goes to the batching recorder; ending a session goes straight to Redis, whose script
publishes the change to every process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.clock import Clock
from core.events import Emitter, EventLog, EventName
from core.models import OnboardingState, SessionState, UserSession
from core.sessions.activity import ActivityRecorder
from core.sessions.cache import SessionCache
from core.sessions.store import SessionStore


@dataclass(frozen=True, slots=True)
class StartResult:
    session: UserSession
    outcome: Literal["started", "resumed"]
    # What the user had before a new session started: expired, terminated, or nothing.
    previous: SessionState | None


def _emit_ended(emit: Emitter, session: UserSession, name: str, ts: float, reason: str) -> None:
    """A session's end, with its activity summary."""
    emit(
        name,
        ts=ts,
        user_id=session.user_id,
        session_id=session.session_id,
        reason=reason,
        length_s=round(session.last_activity - session.created_at, 3),
        commands=session.commands_used,
        opportunities=session.opportunities_received,
    )


class SessionService:
    def __init__(
        self,
        store: SessionStore,
        cache: SessionCache,
        activity: ActivityRecorder,
        events: EventLog,
        clock: Clock,
    ) -> None:
        self.store = store
        self.cache = cache
        self.activity = activity
        self._emit = Emitter(events, clock)
        self._clock = clock

    async def current(self, user_id: int) -> UserSession | None:
        """The user's latest session, active or not (None if they never started one)."""
        found, session = self.cache.get(user_id)
        if found:
            return session
        token = self.cache.begin_load(user_id)
        session = await self.store.get(user_id)
        self.cache.put(user_id, session, token)
        return session

    async def active(self, user_id: int) -> UserSession | None:
        session = await self.current(user_id)
        if session is not None and session.is_active(self._clock.now()):
            return session
        return None

    async def start(self, user_id: int, *, source: str = "start") -> StartResult:
        now = self._clock.now()
        result = await self.store.start(user_id, now)
        self.cache.invalidate(user_id)
        if result.lapsed is not None:
            _emit_ended(self._emit, result.lapsed, EventName.SESSION_EXPIRED, now, "inactivity")
        name = (
            EventName.SESSION_STARTED if result.outcome == "started" else EventName.SESSION_RESUMED
        )
        self._emit(
            name,
            ts=now,
            user_id=user_id,
            session_id=result.session.session_id,
            source=source,
            previous=result.previous.value if result.previous else None,
        )
        return StartResult(result.session, result.outcome, result.previous)

    def record_activity(self, session: UserSession, *, command: bool) -> UserSession:
        """Extend the session for activity now; written to Redis by the recorder's next flush."""
        now = self._clock.now()
        self.activity.record(session.user_id, session.session_id, now, command=command)
        extended = session.model_copy(
            update={
                "last_activity": max(session.last_activity, now),
                "expires_at": max(session.expires_at, now + self.store.ttl),
                "commands_used": session.commands_used + int(command),
            }
        )
        self.cache.update(session.user_id, extended)
        return extended

    async def end(self, user_id: int, state: SessionState, reason: str) -> UserSession | None:
        """Terminate (logout, blocked bot) or expire a session; None if none was active."""
        now = self._clock.now()
        await self.activity.flush()
        ended = await self.store.end(user_id, now, state)
        self.cache.invalidate(user_id)
        if ended is not None:
            name = (
                EventName.SESSION_TERMINATED
                if state is SessionState.TERMINATED
                else EventName.SESSION_EXPIRED
            )
            _emit_ended(self._emit, ended, name, now, reason)
        return ended

    async def set_onboarding(self, user_id: int, state: OnboardingState) -> None:
        await self.store.set_onboarding(user_id, state, self._clock.now())
        self.cache.invalidate(user_id)

    async def expire_due(self, limit: int) -> list[UserSession]:
        """One bounded batch of the sweep: expire sessions past their expiry, oldest first."""
        now = self._clock.now()
        await self.activity.flush()
        due = await self.store.due_for_expiry(now, limit)
        ended = await self.store.end_many(due, now, SessionState.EXPIRED)
        expired = [s for s in ended if s is not None]
        for session in expired:
            self.cache.invalidate(session.user_id)
            _emit_ended(self._emit, session, EventName.SESSION_EXPIRED, now, "inactivity")
        return expired
