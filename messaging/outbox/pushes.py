"""From a user's queue to the durable outbox: each `Outgoing` rendered for its user.

The UserQueueActor shards render a message here and hand it to the release step
(`core.distribution.release`), which writes it to the outbox in the same atomic step as the
quota and the queue's state. Edits of closed opportunities take no quota: `submit` renders and
enqueues them directly. A message whose opportunities are all gone (expired from the store
while held) is not sent: its queue drops the items with the reason ``release:opportunity_gone``.

The outbox deduplicates by `Outgoing.outgoing_id`, so a shard that re-submits after a restart
(at least once) never makes Telegram see a message twice.
"""

from __future__ import annotations

from collections.abc import Mapping

from redis.asyncio import Redis

from core.clock import Clock, SystemClock
from core.distribution.settings import DeliverySettings
from core.distribution.user_queue import Outgoing
from core.events import EventLog
from core.models import Opportunity, UserProfile
from messaging.outbox.message import OutboxMessage
from messaging.outbox.store import Outbox
from messaging.ui import push_templates


class PushOutbox:
    def __init__(
        self,
        redis: Redis,
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

    def render(
        self,
        outgoing: Outgoing,
        opportunities: Mapping[str, Opportunity],
        profile: UserProfile,
        now: float,
    ) -> OutboxMessage | None:
        """The outbox message for `outgoing`; None when none of its opportunities is known any
        more (the queue then drops its items with the reason)."""
        rendered = push_templates.render(
            outgoing, opportunities, profile, now, max_items=self._max_items
        )
        if rendered is None:
            return None
        # An edit of an opportunity already gone from the store has none to describe.
        first = next((o for i in outgoing.opportunity_ids if (o := opportunities.get(i))), None)
        return OutboxMessage.from_outgoing(
            outgoing,
            rendered.text,
            rendered.markup,
            tier=profile.tier.value,
            opportunity_type=first.type.value if first else "",
            detected_at=first.detected_at if first else None,
        )

    async def submit(
        self,
        outgoing: list[Outgoing],
        opportunities: Mapping[str, Opportunity],
        profiles: Mapping[int, UserProfile],
    ) -> None:
        """Render and enqueue messages that take no quota (edits of closed opportunities), for
        users whose profiles the caller holds (a shard holds every user with a queue)."""
        if not outgoing:
            return
        now = self._clock.now()
        messages = [
            m
            for o in outgoing
            if (profile := profiles.get(o.user_id)) is not None
            and (m := self.render(o, opportunities, profile, now)) is not None
        ]
        await self.outbox.enqueue(messages)
