"""Stars subscriptions that lapse fall back to Free, and their users are told.

Telegram tells a bot nothing when a subscription is not renewed (cancelled, or the user's Stars
ran out): the renewal's successful_payment just does not come. `SubscriptionExpiry.run_once`
reads the users whose paid_until passed (`SubscriptionStore.lapsed`) and ends each one
(`SubscriptionStore.lapse`, one script: a renewal that landed meanwhile wins), then queues the
message to the durable outbox. Ending first and telling second means a crash between the two
loses the message, never sends a wrong one; the outgoing id names the lapse, so a repeat is a
no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core.clock import Clock
from core.events import Emitter, EventLog, EventName
from core.profiles import ProfileStore
from core.services import Services
from core.settings import PaymentSettings
from core.subscriptions import Ended, SubscriptionStore
from messaging.outbox.message import OutboxMessage
from messaging.outbox.store import Outbox
from messaging.ui import plans

log = logging.getLogger(__name__)


class SubscriptionExpiry:
    def __init__(
        self,
        store: SubscriptionStore,
        outbox: Outbox,
        settings: PaymentSettings,
        events: EventLog,
        clock: Clock,
        profiles: ProfileStore | None = None,
    ) -> None:
        self._store, self._outbox, self._settings, self._clock = store, outbox, settings, clock
        self._profiles = profiles  # the users' languages; English without
        self._emit = Emitter(events, clock)

    async def run_once(self, now: float | None = None) -> int:
        """End the lapsed subscriptions; returns how many users fell back to Free."""
        now = self._clock.now() if now is None else now
        fell_back = 0
        while True:
            due = await self._store.lapsed(now, self._settings.expiry_batch)
            messages: list[OutboxMessage] = []
            for user_id in due:
                ended, tier = await self._store.lapse(user_id, now)
                if ended is Ended.NOTHING or tier is None:
                    continue
                self._emit(
                    EventName.PAYMENT_EXPIRED,
                    ts=now,
                    user_id=user_id,
                    tier=tier.value,
                    outcome=ended.name.lower(),
                )
                if ended is Ended.FELL_BACK:
                    fell_back += 1
                    messages.append(
                        OutboxMessage(
                            outgoing_id=f"lapse:{user_id}:{int(now)}",
                            user_id=user_id,
                            chat_id=user_id,
                            text=plans.fell_back(tier, await self._language(user_id)),
                            priority="high",
                            created_at=now,
                        )
                    )
            if messages:
                await self._outbox.enqueue(messages)
            if len(due) < self._settings.expiry_batch:
                return fell_back

    async def _language(self, user_id: int) -> str:
        return await self._profiles.language(user_id) if self._profiles is not None else ""

    async def run(self, stop: asyncio.Event) -> None:
        """`run_once` every `payments.expiry_interval_seconds` until `stop`."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception as exc:  # Redis away: the lapsed are still due next time
                log.warning("subscription expiry failed (%s); retrying", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._settings.expiry_interval_seconds)


def subscription_expiry(services: Services) -> SubscriptionExpiry:
    settings = services.settings
    outbox = Outbox(
        services.redis, settings.distribution.delivery, events=services.events, clock=services.clock
    )
    return SubscriptionExpiry(
        SubscriptionStore(services.redis),
        outbox,
        settings.payments,
        services.events,
        services.clock,
        services.profiles,
    )
