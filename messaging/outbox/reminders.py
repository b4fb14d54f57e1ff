"""A day before a session expires, its user is told, with a button that keeps it.

A user who only reads alerts sends nothing, so nothing extends their session and the alerts
would stop on day 7 without a word. `SessionReminders.run_once` finds the active sessions
expiring within `session.reminder_before_seconds`, queues one reminder per session expiry to
the durable outbox (delivered, paced and retried like a push), then records it in the session.

Once only: the outbox ignores an outgoing id it has seen, and the id names the session's
expiry (`remind:<user>:<expiry>`), so a run that dies between queueing and recording only
repeats a no-op. An extended session has a new expiry, and is reminded again a day before it.
Each run reads the expiry index from where the previous one stopped (inclusive, so ties at the
boundary are read twice rather than missed), in pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core.clock import Clock
from core.events import Emitter, EventLog, EventName
from core.profiles import ProfileStore
from core.services import Services
from core.sessions.store import SessionStore
from core.settings import SessionSettings
from messaging.outbox.message import OutboxMessage
from messaging.outbox.store import Outbox
from messaging.ui import keyboards, templates

log = logging.getLogger(__name__)


class SessionReminders:
    def __init__(
        self,
        sessions: SessionStore,
        profiles: ProfileStore,
        outbox: Outbox,
        settings: SessionSettings,
        events: EventLog,
        clock: Clock,
    ) -> None:
        self._sessions, self._profiles, self._outbox = sessions, profiles, outbox
        self._settings, self._clock = settings, clock
        self._emit = Emitter(events, clock)
        self._since: float | None = None  # where the previous run stopped reading

    async def run_once(self, now: float | None = None) -> int:
        """Queue the reminders now due; returns how many were queued."""
        now = self._clock.now() if now is None else now
        until = now + self._settings.reminder_before_seconds
        since = now if self._since is None else max(now, min(self._since, until))
        page = self._settings.sweep_batch
        queued, offset = 0, 0
        while True:
            due, read = await self._sessions.due_for_reminder(since, until, offset, page)
            if due:
                profiles = {p.user_id: p for p in await self._profiles.get_many(
                    [d.user_id for d in due])}  # fmt: skip
                markups = {  # the button in each recipient's language
                    lang: keyboards.keep_session(lang).model_dump_json(exclude_none=True)
                    for lang in {profiles[d.user_id].language for d in due}
                }
                messages = [
                    OutboxMessage(
                        outgoing_id=f"remind:{d.key}",
                        user_id=d.user_id,
                        chat_id=d.user_id,
                        text=templates.session_reminder(
                            d.expires_at,
                            now,
                            profiles[d.user_id].preferences.timezone,
                            profiles[d.user_id].language,
                        ),
                        reply_markup=markups[profiles[d.user_id].language],
                        priority="high",
                        created_at=now,
                    )
                    for d in due
                ]
                await self._outbox.enqueue(messages)
                await self._sessions.mark_reminded(due)  # after the write that does it
                for d in due:
                    self._emit(
                        EventName.SESSION_REMINDED,
                        ts=now,
                        user_id=d.user_id,
                        expires_at=d.expires_at,
                    )
                queued += len(due)
            if read < page:
                break
            offset += read
        self._since = until
        return queued

    async def run(self, stop: asyncio.Event) -> None:
        """`run_once` every `session.reminder_interval_seconds` until `stop`."""
        every = self._settings.reminder_interval_seconds
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception as exc:  # Redis away: the next run reads from the same place
                log.warning("session reminders failed (%s); retrying", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)


def session_reminders(services: Services) -> SessionReminders | None:
    """The reminders of a process's services (None when reminders are switched off)."""
    settings = services.settings
    if not settings.session.reminds:
        return None
    outbox = Outbox(
        services.redis, settings.distribution.delivery, events=services.events, clock=services.clock
    )
    return SessionReminders(
        services.sessions.store,
        services.profiles,
        outbox,
        settings.session,
        services.events,
        services.clock,
    )
