"""The core services of one process, built from one Redis client, with their background tasks.

The bot and the CLI take a `Services`; so do the tests, with a `ManualClock` and a memory event
log when they want to look at events directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from redis.asyncio import Redis

from core.clock import Clock, SystemClock
from core.distribution.eligibility import Policy
from core.errors import StoreUnavailableError
from core.events import Emitter, EventLog, RedisEventLog
from core.opportunity_store import OpportunityStore
from core.profiles import ProfileStore
from core.quota import QuotaStore
from core.sessions.activity import ActivityRecorder
from core.sessions.cache import SessionCache, SessionInvalidator
from core.sessions.service import SessionService
from core.sessions.store import SessionStore
from core.sessions.sweeper import SessionSweeper
from core.settings import Settings
from core.store.scripts import Scripts
from core.tasks import backoff_of, run_all


@dataclass
class Services:
    settings: Settings
    clock: Clock
    redis: Redis
    scripts: Scripts
    events: EventLog
    sessions: SessionService
    profiles: ProfileStore
    quota: QuotaStore
    opportunities: OpportunityStore
    invalidator: SessionInvalidator
    sweeper: SessionSweeper

    @cached_property
    def emit(self) -> Emitter:
        """Emits an event stamped with this process's clock (`core.events.Emitter`)."""
        return Emitter(self.events, self.clock)

    @property
    def policy(self) -> Policy:
        """The tier table and distribution settings that eligibility answers by."""
        return Policy(self.settings.tiers, self.settings.distribution)

    async def start(self, *, sweep: bool = True) -> None:
        """Start the background work: cache invalidation, activity and event flushing, expiry."""
        await self.invalidator.start()
        self.sessions.activity.start()
        if isinstance(self.events, RedisEventLog):
            self.events.start()
        if sweep:
            self.sweeper.start()

    async def close(self) -> None:
        """Stop background work and write what is buffered: every step runs even if one fails
        (Redis down at shutdown), then the first failure is raised."""
        close_events = (
            self.events.close if isinstance(self.events, RedisEventLog) else self.events.flush
        )
        failed = await run_all(
            [
                ("session sweeper", self.sweeper.close),
                ("session invalidator", self.invalidator.close),
                ("activity flush", self.sessions.activity.close),
                ("event flush", close_events),
            ]
        )
        if failed:
            raise StoreUnavailableError(
                f"could not finish shutting down the core services: {', '.join(failed)} failed "
                "(buffered activity or events are lost if Redis stays down); see the log"
            )


def build_services(
    redis: Redis,
    settings: Settings,
    *,
    clock: Clock | None = None,
    events: EventLog | None = None,
) -> Services:
    clock = clock or SystemClock()
    backoff = backoff_of(settings)
    scripts = Scripts(redis)
    if events is None:
        events = RedisEventLog.configured(redis, settings.events, backoff)
    s = settings.session
    store = SessionStore(redis, scripts, ttl=s.ttl_seconds, retention=s.ended_retention_seconds)
    cache = SessionCache(max_age=s.cache_max_age_seconds, max_entries=s.cache_max_entries)
    activity = ActivityRecorder(store, flush_interval=s.activity_flush_seconds, backoff=backoff)
    sessions = SessionService(store, cache, activity, events, clock)
    return Services(
        settings=settings,
        clock=clock,
        redis=redis,
        scripts=scripts,
        events=events,
        sessions=sessions,
        profiles=ProfileStore(redis, scripts, settings.superadmin_ids),
        quota=QuotaStore(redis, scripts),
        opportunities=OpportunityStore(redis, ttl=settings.opportunities.ttl_seconds),
        invalidator=SessionInvalidator(redis, cache),
        sweeper=SessionSweeper(
            sessions, interval=s.sweep_interval_seconds, batch=s.sweep_batch, backoff=backoff
        ),
    )
