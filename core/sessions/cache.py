"""A per-process cache of sessions, kept honest by Redis pub/sub.

Every session change in Redis publishes the user id on ``arbcast:sessions:changed`` (inside the
same Lua script that makes the change), and `SessionInvalidator` drops that user from the cache.
So a /logout or expiry done by any process is honoured by every process as soon as the message
arrives (milliseconds), well within the 1 s the product promises.

Two races are closed:
- a read that started before an invalidation and finishes after it is not cached (`begin_load`
  hands out the user's invalidation sequence; `put` refuses a stale one);
- a lost subscription (reconnect) may have missed messages, so the whole cache is dropped.
`max_age` re-reads an entry after a while regardless, as a last backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from redis.asyncio import Redis

from core.models import UserSession
from core.store import keys
from core.store.client import PUBSUB_WAIT_SECONDS, blocking_wait

log = logging.getLogger(__name__)

# None is a cached "this user has no session".
_Entry = tuple[UserSession | None, float]


class SessionCache:
    def __init__(
        self,
        *,
        max_age: float,
        max_entries: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._invalidated: dict[int, int] = {}
        self._seq = itertools.count(1)
        self._generation = 0
        self._max_age = max_age
        self._max_entries = max_entries
        self._monotonic = monotonic
        self.hits = 0
        self.misses = 0

    def get(self, user_id: int) -> tuple[bool, UserSession | None]:
        """(found, session): found is False when the caller must read Redis."""
        entry = self._entries.get(user_id)
        if entry is None or self._monotonic() - entry[1] > self._max_age:
            self.misses += 1
            return False, None
        self.hits += 1
        return True, entry[0]

    def begin_load(self, user_id: int) -> tuple[int, int]:
        return self._generation, self._invalidated.get(user_id, 0)

    def put(self, user_id: int, session: UserSession | None, token: tuple[int, int]) -> None:
        if token != (self._generation, self._invalidated.get(user_id, 0)):
            return  # invalidated while it was being read: the value may be stale
        self._entries[user_id] = (session, self._monotonic())
        self._entries.move_to_end(user_id)
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def update(self, user_id: int, session: UserSession) -> None:
        """Replace a cached entry with this process's own newer view (after activity)."""
        if user_id in self._entries:
            self._entries[user_id] = (session, self._entries[user_id][1])

    def invalidate(self, user_id: int) -> None:
        self._entries.pop(user_id, None)
        self._invalidated[user_id] = next(self._seq)
        if len(self._invalidated) > self._max_entries:
            self.clear()

    def clear(self) -> None:
        self._entries.clear()
        self._invalidated.clear()
        self._generation += 1

    def __len__(self) -> int:
        return len(self._entries)


class SessionInvalidator:
    """Listens on the session channel and drops changed users from a cache."""

    def __init__(self, redis: Redis, cache: SessionCache) -> None:
        self._redis = redis
        self._cache = cache
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(keys.SESSION_CHANNEL)
                # Anything published while we were not subscribed is unknown: start clean.
                self._cache.clear()
                self.ready.set()
                backoff = 0.05
                try:
                    # get_message with a wait shorter than the socket timeout, not listen():
                    # listen() reads with the socket timeout, so a quiet channel would count as
                    # an outage (and clear the cache) every few seconds.
                    wait = blocking_wait(self._redis, PUBSUB_WAIT_SECONDS)
                    while True:
                        message = await pubsub.get_message(timeout=wait)
                        if message is not None and message["type"] == "message":
                            with contextlib.suppress(ValueError):
                                self._cache.invalidate(int(message["data"]))
                finally:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.ready.clear()
                self._cache.clear()
                log.warning("session invalidation channel lost (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="session-invalidator")
        await asyncio.wait_for(self.ready.wait(), timeout=10)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
