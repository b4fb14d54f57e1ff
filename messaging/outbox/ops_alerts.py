"""The in-bot operations alerts: every `ops.alert_interval_seconds` the figures are read (the
same reader as /metrics), judged (`core.alerts.evaluator.AlertEvaluator`), and each alert due is
queued to the durable outbox for every SuperAdmin, as a HIGH message with a Mute button: the
push senders deliver it, paced and retried like a push or a session reminder.

The outgoing id names the kind, the admin and the time, so a retried enqueue is a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from core.alerts.evaluator import Alert, AlertEvaluator
from core.alerts.mutes import AlertMutes
from core.clock import Clock
from core.events import Emitter, EventLog, EventName
from core.metrics.figures import OpsFigures
from core.profiles import ProfileStore
from core.settings import Settings
from messaging.outbox.message import OutboxMessage, to_markup_json
from messaging.outbox.store import Outbox
from messaging.ui.ops_alerts import alert_text, mute_keyboard

log = logging.getLogger(__name__)

FiguresReader = Callable[[], Awaitable[OpsFigures]]


class OpsAlerts:
    def __init__(
        self,
        read: FiguresReader,
        outbox: Outbox,
        mutes: AlertMutes,
        settings: Settings,
        events: EventLog,
        clock: Clock,
        profiles: ProfileStore | None = None,
    ) -> None:
        self._read, self._outbox, self._mutes = read, outbox, mutes
        self._profiles = profiles  # each admin's language; English without
        self._settings = settings
        self._clock = clock
        self.evaluator = AlertEvaluator(settings.ops, clock)
        self._emit = Emitter(events, clock)

    async def run_once(self) -> list[Alert]:
        """Check the thresholds once; returns the alerts queued."""
        figures = await self._read()
        alerts = self.evaluator.check(figures, await self._mutes.active())
        admins = sorted(self._settings.superadmin_ids)
        if not alerts:
            return []
        if not admins:
            log.warning("operations alerts %s: no SuperAdmin to tell", [a.kind for a in alerts])
        now = self._clock.now()
        mute_for = self._settings.ops.alert_mute_seconds
        lang = await self._languages(admins)
        messages = [
            OutboxMessage(
                outgoing_id=f"ops:{a.kind}:{admin}:{now:.3f}",
                user_id=admin,
                chat_id=admin,
                text=alert_text(a, lang[admin]),
                reply_markup=to_markup_json(mute_keyboard(a.kind, mute_for, lang[admin])),
                priority="high",
                created_at=now,
            )
            for a in alerts
            for admin in admins
        ]
        await self._outbox.enqueue(messages)
        for a in alerts:
            log.warning("operations alert %s: %s (threshold %s)", a.kind, a.value, a.threshold)
            self._emit(
                EventName.OPS_ALERT,
                action=a.kind.value,
                value=a.value,
                threshold=a.threshold,
                admins=len(admins),
            )
        return alerts

    async def _languages(self, admins: list[int]) -> dict[int, str]:
        if self._profiles is None:
            return dict.fromkeys(admins, "")
        return {p.user_id: p.language for p in await self._profiles.get_many(admins)}

    async def run(self, stop: asyncio.Event) -> None:
        """`run_once` every `ops.alert_interval_seconds` until `stop`."""
        every = self._settings.ops.alert_interval_seconds
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception as exc:  # Redis away: the next check reads again
                log.warning("operations alerts: the check failed (%s); retrying", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
