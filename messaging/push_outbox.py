"""From a user's queue to the durable outbox: each `Outgoing` rendered for its user and enqueued.

This is the `OutboxPort` the UserQueueActor shards hand their messages to. Rendering needs the
user's profile (name, tier, timezone, risk tolerance): profiles of one batch are read in one
pipeline. A message whose opportunities are all gone (expired from the store while held) is
not sent; it is recorded as dropped with the reason ``opportunity_gone``.

The outbox deduplicates by `Outgoing.outgoing_id`, so a shard that re-submits after a restart
(at least once) never makes Telegram see a message twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.clock import Clock, SystemClock
from core.distribution.settings import DeliverySettings
from core.distribution.user_queue import Outgoing
from core.events import Event, EventLog
from core.models import Opportunity
from core.profiles import profile_from_hash
from core.store import keys
from messaging import push_templates
from messaging.outbox import Outbox
from messaging.outbox_message import OutboxMessage


class PushOutbox:
    def __init__(
        self,
        redis: Any,
        settings: DeliverySettings,
        events: EventLog,
        *,
        superadmins: frozenset[int] = frozenset(),
        digest_max_items: int = 5,
        clock: Clock | None = None,
    ) -> None:
        self._redis = redis
        self._events = events
        self._clock: Clock = clock or SystemClock()
        self._superadmins = superadmins
        self._max_items = digest_max_items
        self.outbox = Outbox(redis, settings, events=events, clock=self._clock)

    async def submit(
        self, outgoing: list[Outgoing], opportunities: Mapping[str, Opportunity]
    ) -> None:
        if not outgoing:
            return
        users = sorted({o.user_id for o in outgoing})
        async with self._redis.pipeline(transaction=False) as pipe:
            for uid in users:
                pipe.hgetall(keys.user(uid))
            raws = await pipe.execute()
        profiles = {
            uid: profile_from_hash(uid, raw, self._superadmins)
            for uid, raw in zip(users, raws, strict=True)
        }
        now = self._clock.now()
        messages: list[OutboxMessage] = []
        for o in outgoing:
            rendered = push_templates.render(
                o, opportunities, profiles[o.user_id], now, max_items=self._max_items
            )
            if rendered is None:
                self._events.emit(
                    Event(
                        name="distribution.dropped",
                        ts=now,
                        user_id=o.user_id,
                        attrs={"reason": "opportunity_gone", "outgoing_id": o.outgoing_id},
                    )
                )
                continue
            messages.append(OutboxMessage.from_outgoing(o, rendered.text, rendered.markup))
        await self.outbox.enqueue(messages)
