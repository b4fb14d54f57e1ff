"""Public opportunities to linked channels, later than paying plans (issue 16, item 4).

Every `groups.channel_interval_seconds` the broadcaster reads the live opportunities once and,
for each linked channel, posts those that are public (`groups.channel_types`, never a
private-only type), profitable enough, detected at least the channel's delay ago
(`GroupConfig.delay_seconds`, else `groups.channel_delay_seconds`) and still open: oldest first,
until the channel's per-minute or per-hour limit says stop (`ChannelPostStore.post`, one atomic
step with the outbox entry). The post is the public group card with a "get them live" link to
the bot (``/start ch_<chat id>``, counted by /start). The push senders deliver it like any push,
paced to the chat (`messaging.transport.pacing`). A post whose opportunity closes is edited as
closed, as private alerts are (`_edit_closed`).

State lives in Redis (what was posted, the counters), so a restarted broadcaster carries on,
and two running at once post nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot

from core.clock import Clock
from core.group_settings import GroupSettings
from core.groups.channel_posts import ChannelPostStore, channel_edit_id, channel_outgoing_id
from core.groups.deeplinks import start_url
from core.groups.models import GroupConfig
from core.groups.store import GroupStore
from core.models import Opportunity, Tier, UserProfile
from core.models.user import Preferences
from core.opportunity_store import OpportunityStore
from core.services import Services
from messaging.outbox.message import OutboxMessage, to_markup_json
from messaging.outbox.store import Outbox
from messaging.ui import group_card

log = logging.getLogger(__name__)
# Closed opportunities stay in the store about an hour (`OpportunityStore.closed_retention`):
# posts older than two are not looked at again.
CLOSED_LOOKBACK_SECONDS = 2 * 3600.0
Username = Callable[[], Awaitable[str]]


def channel_reader(config: GroupConfig) -> UserProfile:
    """A channel as the card's reader: the public (Free) detail, its time zone and language."""
    return UserProfile(
        user_id=config.chat_id,
        tier=Tier.FREE,
        preferences=Preferences(timezone=config.timezone),
        language=config.language,
    )


def due_for(
    config: GroupConfig, live: list[Opportunity], settings: GroupSettings, now: float
) -> list[Opportunity]:
    """What the channel may be posted now, oldest first (posted ones are skipped later)."""
    delay = settings.channel_delay_seconds if config.delay_seconds is None else config.delay_seconds
    public = settings.channel_types - settings.private_only_types
    due = [
        o
        for o in live
        if o.type in public
        and not o.closed
        and o.expected_profit_pct >= settings.channel_min_profit_pct
        and o.detected_at + delay <= now < o.expires_at
    ]
    return sorted(due, key=lambda o: (o.detected_at, o.opportunity_id))


class ChannelBroadcaster:
    def __init__(
        self,
        groups: GroupStore,
        posts: ChannelPostStore,
        opportunities: OpportunityStore,
        outbox: Outbox,
        settings: GroupSettings,
        clock: Clock,
        username: Username,
    ) -> None:
        self._groups = groups
        self._posts = posts
        self._opportunities = opportunities
        self._outbox = outbox
        self._settings = settings
        self._clock = clock
        self._username = username
        self.posted = 0

    async def step(self) -> int:
        """One pass over every linked channel; returns how many posts went to the outbox."""
        now = self._clock.now()
        ids = await self._groups.channel_ids()
        if not ids:
            return 0
        configs = [c for c in await self._groups.get_many(ids) if c and c.linked_channel]
        live = await self._opportunities.live(now)
        posted = await self._posts.posted_many(c.chat_id for c in configs)
        username = await self._username() if configs else ""
        sent = 0
        for config in configs:
            await self._edit_closed(config, now)
            for opp in due_for(config, live, self._settings, now):
                if opp.opportunity_id in posted[config.chat_id]:
                    continue
                result = await self._post(config, opp, username, now)
                if result in ("minute", "hour"):
                    break  # the channel's own limit: the rest waits for the next pass
                sent += result == "ok"
        self.posted += sent
        return sent

    async def _edit_closed(self, config: GroupConfig, now: float) -> int:
        """Posts of the last `CLOSED_LOOKBACK_SECONDS` whose opportunity closed since are edited
        as closed (struck through, no buttons), as private alerts are; the outbox sends each
        edit once (its outgoing id), once the post's own message id is known."""
        oids = await self._posts.posted_since(config.chat_id, now - CLOSED_LOOKBACK_SECONDS)
        if not oids:
            return 0
        found = await self._opportunities.get_many(oids)
        closed = [o for o in oids if (x := found.get(o)) is not None and x.closed]
        sent = await self._outbox.message_ids(
            [channel_outgoing_id(config.chat_id, o) for o in closed]
        )
        reader = channel_reader(config)
        edits: list[OutboxMessage] = []
        for oid in closed:
            message_id = sent.get(channel_outgoing_id(config.chat_id, oid))
            if message_id is None:
                continue  # not delivered yet: the next pass edits it
            rendered = group_card.closed(found[oid], reader, now)
            edits.append(
                OutboxMessage(
                    outgoing_id=channel_edit_id(config.chat_id, oid),
                    user_id=config.chat_id,
                    chat_id=config.chat_id,
                    text=rendered.text,
                    opportunity_ids=(oid,),
                    created_at=now,
                    kind="edit",
                    message_id=message_id,
                    tier="channel",
                    chat_kind=config.kind.value,
                )
            )
        return sum(e is not None for e in await self._outbox.enqueue(edits))

    async def _post(self, config: GroupConfig, opp: Opportunity, username: str, now: float) -> str:
        reader = channel_reader(config)
        url = start_url(username, "channel", config.chat_id)
        rendered = group_card.channel_post(opp, reader, now, url)
        markup = to_markup_json(rendered.markup)
        message = OutboxMessage(
            outgoing_id=channel_outgoing_id(config.chat_id, opp.opportunity_id),
            user_id=config.chat_id,
            chat_id=config.chat_id,
            text=rendered.text,
            reply_markup=markup,
            opportunity_ids=(opp.opportunity_id,),
            priority=opp.priority.value,
            created_at=now,
            tier="channel",
            opportunity_type=opp.type.value,
            detected_at=opp.detected_at,
            chat_kind=config.kind.value,
        )
        result = await self._posts.post(
            config.chat_id,
            opp.opportunity_id,
            message.outgoing_id,
            message.to_json(),
            self._outbox.stream_of(message),
            now,
        )
        if result.posted:
            self._outbox.accepted([message])
        return result.status

    async def run(self, stop: asyncio.Event) -> None:
        """Step every `channel_interval_seconds` until `stop` is set; a failed pass is logged
        and the next one tries again (Redis holds what was posted)."""
        while not stop.is_set():
            try:
                await self.step()
            except Exception:
                log.exception("channel broadcast pass failed; retrying next interval")
            # The period elapsed (timeout) or we were told to stop.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._settings.channel_interval_seconds)


def channel_broadcaster(services: Services, bot: Bot) -> ChannelBroadcaster:
    """The broadcaster of one process, on its services' Redis, clock and events; the deep
    link names the bot as getMe says (aiogram caches it)."""
    settings = services.settings

    async def username() -> str:
        me = await bot.me()
        return me.username or ""

    return ChannelBroadcaster(
        GroupStore(services.redis),
        ChannelPostStore(
            services.redis,
            settings.groups,
            seen_ttl_seconds=settings.distribution.delivery.dedup_retention_seconds,
        ),
        services.opportunities,
        Outbox(
            services.redis,
            settings.distribution.delivery,
            events=services.events,
            clock=services.clock,
        ),
        settings.groups,
        services.clock,
        username,
    )
