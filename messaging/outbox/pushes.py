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

from collections.abc import Hashable, Mapping
from html import escape

from redis.asyncio import Redis

from core.clock import Clock, SystemClock
from core.distribution.group_recipients import is_group_chat
from core.distribution.settings import DeliverySettings
from core.distribution.user_queue import Outgoing
from core.events import EventLog
from core.groups.models import GroupConfig
from core.models import Opportunity, UserProfile
from messaging.outbox.message import OutboxMessage
from messaging.outbox.store import Outbox
from messaging.ui import group_card, push_templates

# Stands for the user's name in a text rendered once for many users (a private-use character:
# escaping leaves it as it is, and no opportunity or translation carries it).
_NAME = "\ue000"


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
        # The groups among the recipients (negative chat ids), kept by the shard that loads them:
        # their messages are group cards (messaging.ui.group_card), sent to their forum topic.
        self.groups: dict[int, GroupConfig] = {}

    def render(
        self,
        outgoing: Outgoing,
        opportunities: Mapping[str, Opportunity],
        profile: UserProfile,
        now: float,
    ) -> OutboxMessage | None:
        """The outbox message for `outgoing`; None when none of its opportunities is known any
        more (the queue then drops its items with the reason)."""
        if is_group_chat(outgoing.user_id):
            return self._render_group(outgoing, opportunities, profile, now)
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

    def _render_group(
        self,
        outgoing: Outgoing,
        opportunities: Mapping[str, Opportunity],
        group: UserProfile,
        now: float,
    ) -> OutboxMessage | None:
        rendered = group_card.render(outgoing, opportunities, group, now, max_items=self._max_items)
        if rendered is None:
            return None
        first = next((o for i in outgoing.opportunity_ids if (o := opportunities.get(i))), None)
        config = self.groups.get(outgoing.user_id)
        return OutboxMessage.from_outgoing(
            outgoing,
            rendered.text,
            rendered.markup,
            tier=group.tier.value,
            opportunity_type=first.type.value if first else "",
            detected_at=first.detected_at if first else None,
        ).model_copy(
            update={
                "chat_kind": config.kind.value if config else "supergroup",
                "thread_id": config.thread_id if config else None,
            }
        )

    def batch_renderer(self, opportunities: Mapping[str, Opportunity], now: float) -> BatchRenderer:
        """`render` for the many messages of one fan-out or tick (one `now`, one set of
        opportunities): each distinct text is rendered once."""
        return BatchRenderer(self, opportunities, now)

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


class BatchRenderer:
    """Renders the messages of one batch, each distinct text once (a fan-out to 100,000 users
    renders a handful of cards, not 100,000).

    Two private messages read alike when their `Outgoing` carries the same opportunities the same
    way and their users share what a card shows: tier, language, time zone and risk. The name in
    the greeting is the one per-user part: the text is rendered with a stand-in and the user's
    escaped name put in its place. A digest whose text would then run past Telegram's limit (a
    long name) is rendered for its user, so it shortens itself as `push_templates` decides.
    Groups and edits are rendered one by one (`PushOutbox.render`)."""

    def __init__(
        self, outbox: PushOutbox, opportunities: Mapping[str, Opportunity], now: float
    ) -> None:
        self._outbox = outbox
        self._opportunities = opportunities
        self._now = now
        self._texts: dict[Hashable, OutboxMessage | None] = {}

    def __call__(self, outgoing: Outgoing, profile: UserProfile) -> OutboxMessage | None:
        o = outgoing
        if is_group_chat(o.user_id) or o.kind == "edit_closed":
            return self._outbox.render(o, self._opportunities, profile, self._now)
        prefs = profile.preferences
        named = bool(profile.first_name)
        key = (
            o.kind,
            o.opportunity_ids,
            o.updated_ids,
            o.missed,
            o.priority,
            profile.tier,
            profile.language,
            prefs.timezone,
            prefs.risk_tolerance,
            named,
        )
        if key not in self._texts:
            stand_in = profile.model_copy(update={"first_name": _NAME}) if named else profile
            self._texts[key] = self._outbox.render(o, self._opportunities, stand_in, self._now)
        shared = self._texts[key]
        if shared is None:
            return None
        text = shared.text.replace(_NAME, escape(profile.first_name, quote=False))
        if o.kind == "digest" and len(text) > push_templates.MAX_TEXT:
            return self._outbox.render(o, self._opportunities, profile, self._now)
        return shared.model_copy(
            update={
                "outgoing_id": o.outgoing_id,
                "user_id": o.user_id,
                "chat_id": o.user_id,
                "text": text,
                "created_at": o.created_at,
            }
        )
