"""Events as production emits them, for the benchmark lake's test: the oracle of its shapes.

Written apart from `benchmarks.lake_templates` and sharing nothing with it. Where the emitting
code is cheap to drive here it is driven: the session service on real Redis, the durable outbox
and the delivery worker sending through the Telegram emulator (sent, edited, blocked), and the
bot's own audit, onboarding, preference and button functions. The rest (Ray actors, the shard's
fan-out, the ops checks) are emitted through `Services.emit` with the fields of the production
call named beside each.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiogram.types import CallbackQuery, Chat, Message, User

from bot.handlers import (
    admin,
    channel_admin,
    deep_links,
    feedback,
    onboarding,
    preferences,
    refusals,
)
from bot.middlewares import session_gate
from core.clock import ManualClock
from core.distribution.settings import DeliverySettings
from core.events import Event, EventName, MemoryEventLog
from core.experiments.assignment import Assigned, variant_of
from core.experiments.exposures import record_exposures
from core.experiments.settings import Experiment, Variant
from core.models import SessionState, Tier, UserSession
from core.services import Services
from core.subscriptions import Payment, SubscriptionStore
from emulator.server import EmulatorServer
from messaging.outbox.message import OutboxMessage
from messaging.outbox.store import Outbox
from messaging.outbox.subscription_expiry import SubscriptionExpiry
from messaging.outbox.worker import DeliveryWorker
from tests.messaging.conftest import TOKEN, TgEnv

UID, BLOCKED = 501, 502


async def _sessions(services: Services, clock: ManualClock) -> UserSession:
    """core.sessions.service: started, resumed, expired (a /start after the expiry), started
    again, terminated (/logout), started after that."""
    await services.sessions.start(UID)
    await services.sessions.start(UID)  # resumed
    clock.advance(days=8)
    await services.sessions.start(UID)  # the lapsed one expired, a new one started
    await services.sessions.end(UID, SessionState.TERMINATED, "logout")
    started = await services.sessions.start(UID)
    return started.session


def _bot_side(services: Services, session: UserSession) -> None:
    """The bot's audit, onboarding, preference and button functions themselves."""
    sid = session.session_id
    user = User(id=UID, is_bot=False, first_name="U")
    chat = Chat(id=UID, type="private")
    msg = Message(message_id=1, date=datetime.now(UTC), chat=chat, from_user=user, text="/help")
    group = Message(
        message_id=2, date=datetime.now(UTC), chat=Chat(id=-5, type="group"), text="/help"
    )
    query = CallbackQuery(id="1", from_user=user, chat_instance="c", data="opp:details:o1")
    session_gate._audit(services, UID, sid, "/help", True, "active", msg)
    session_gate._audit(services, UID, None, "/start", True, "open", msg)
    session_gate._audit(services, UID, None, "/help", False, "no_session", msg)
    session_gate._audit(services, UID, None, "/help", False, session_gate.GROUP_CHAT, group)
    refusals.audit_callback(services, query, sid, allowed=False, reason=refusals.STALE)
    refusals.audit_callback(services, query, None, allowed=False, reason="no_session")
    admin._audit(services, session, "admin_stats", True)
    admin._audit(services, session, "settier", True, target=7, tier="premium")
    onboarding.step_event(services, UID, sid, "welcome", "shown", source="start")
    onboarding.step_event(services, UID, sid, "tier", "shown", source="settings")
    onboarding.step_event(services, UID, sid, "risk", "shown")
    onboarding.step_event(services, UID, sid, "risk", "answered", "high")
    onboarding.step_event(services, UID, sid, "risk", "skipped")
    onboarding.step_event(services, UID, sid, "done", "completed")
    preferences.emit_change(services, session, "min_profit_pct", "0.5", source="settings")
    preferences.emit_change(services, session, "dnd_until", "0")
    feedback._engaged(services, session, EventName.FEEDBACK, "feedback", "o1", vote="up")
    feedback._engaged(services, session, EventName.MUTE_PAIR, "mute_pair", "o1", pair="BTC/USDT")
    feedback._engaged(services, session, EventName.MUTE_TYPE, "mute_type", "o1", type="funding")


def _emitted_elsewhere(services: Services, session: UserSession) -> None:
    """Emits whose code needs Ray, the shard's columns or a live dispatcher: the production
    call's fields, through the production emitter."""
    emit, sid, now = services.emit, session.session_id, services.clock.now()
    # bot.handlers.errors.on_error
    emit(EventName.COMMAND, user_id=UID, command="<error>", allowed=True, reason="error",
         error="KeyError: 'x'", update_id=3)  # fmt: skip
    # bot.webhook.WebhookHandler
    emit(EventName.BAD_UPDATE, bytes=12, error="ValidationError: bad")
    # messaging.outbox.ops_alerts.OpsAlerts.run_once; bot.handlers.ops_alerts.mute
    emit(EventName.OPS_ALERT, action="dead_letters", value=3.0, threshold=1.0, admins=2)
    emit(EventName.OPS_ALERT_MUTED, user_id=UID, session_id=sid, action="dead_letters",
         allowed=True, until=now + 60)  # fmt: skip
    # messaging.outbox.reminders.SessionReminders.run_once
    emit(EventName.SESSION_REMINDED, ts=now, user_id=UID, expires_at=now + 3600)
    # actors.opportunity.OpportunityCoordinator._publish
    emit(EventName.VALIDATION, ts=now, opportunity_id="o1", level=2, passed=False,
         reason="spread", key="k", pair="a-b", f_spread=0.1)  # fmt: skip
    emit(EventName.LIFECYCLE, ts=now, change="closed", opportunity_id="o1", type="funding",
         symbol="ETH/USDT", buy="a", sell="b", net_spread_pct=0.3, confidence=0.9,
         priority="low", reason="expired")  # fmt: skip
    # actors.user_queue_shard: fanout's rejections, _emit_queue_events
    emit(EventName.REJECTED, ts=now, opportunity_id="o1", layer=3, reason="L3:dnd", users=4,
         shard=1)  # fmt: skip
    for name in (EventName.QUEUED, EventName.REFRESHED, EventName.HELD, EventName.RELEASED,
                 EventName.EDIT, EventName.DROPPED):  # fmt: skip
        emit(name, ts=now, user_id=UID, opportunity_id="o1", reason="x", shard=1)
    # bot.handlers.opportunities: /opportunities and Details
    emit(EventName.OPPORTUNITIES_SHOWN, ts=now, user_id=UID, session_id=sid,
         opportunity_id="o1", type="arbitrage", priority="high", tier="free",
         channel="on_demand")  # fmt: skip
    emit(EventName.DETAILS, user_id=UID, session_id=sid, opportunity_id="o1", button="details")
    # bot.handlers.subscription.buy, cancel; bot.handlers.payments.pre_checkout (ok, refused),
    # successful_payment (granted, a charge seen before, an order not ours), refund
    emit(EventName.PAYMENT_INVOICE, user_id=UID, session_id=sid, tier="premium", amount=3800)
    emit(EventName.PAYMENT_PRE_CHECKOUT, user_id=UID, ok=True, reason=None, tier="premium",
         amount=3800)  # fmt: skip
    emit(EventName.PAYMENT_PRE_CHECKOUT, user_id=UID, ok=False, reason="wrong price",
         tier="premium", amount=1)  # fmt: skip
    for recurring in (False, True):
        emit(EventName.PAYMENT_SUCCEEDED, user_id=UID, tier="premium", amount=3800,
             currency="XTR", charge_id="c1", recurring=recurring, paid_until=now)  # fmt: skip
    emit(EventName.PAYMENT_DUPLICATE, user_id=UID, charge_id="c1", tier="premium",
         reason="charge_seen")  # fmt: skip
    emit(EventName.PAYMENT_DUPLICATE, user_id=UID, charge_id="c2", reason="unknown_order")
    emit(EventName.PAYMENT_CANCELED, user_id=UID, session_id=sid, tier="premium",
         charge_id="c1", paid_until=now)  # fmt: skip
    emit(EventName.PAYMENT_REFUNDED, user_id=UID, tier="premium", amount=3800, charge_id="c1",
         outcome="fell_back", admin=9)  # fmt: skip


def _groups(services: Services, session: UserSession) -> None:
    """Groups and channels: the /start deep link and /link_channel through their own functions,
    the rest with the fields of the production call."""
    emit, sid, now = services.emit, session.session_id, services.clock.now()
    user = User(id=UID, is_bot=False, first_name="U")
    start = Message(message_id=3, date=datetime.now(UTC), chat=Chat(id=UID, type="private"),
                    from_user=user, text="/start ch_m1005")  # fmt: skip
    deep_links.record_deep_link_start(services, start, UID, sid, "started")
    channel_admin._audit(services, session, "linked", True, chat_id=-1005, chat_kind="channel",
                         delay_s=60.0)  # fmt: skip
    channel_admin._audit(services, session, "link_failed", False, detail="chat not found")
    channel_admin._audit(services, session, "link_channel", False)
    # bot.handlers.group_buttons.group_details (with and without a session)
    for session_id, has, answer in ((sid, True, "private"), (None, False, "pointer")):
        emit(EventName.GROUP_BUTTON, user_id=UID, session_id=session_id, chat_id=-1005,
             chat_kind="supergroup", button="details", opportunity_id="o1", has_session=has,
             answer=answer)  # fmt: skip
    # bot.handlers.groups.joining._emit; bot.handlers.groups.settings.audit
    for name, action in ((EventName.GROUP_JOINED, "added"), (EventName.GROUP_LEFT, "kicked")):
        emit(name, user_id=UID, chat_id=-1005, chat_kind="supergroup", admin_id=UID,
             action=action)  # fmt: skip
    emit(EventName.GROUP_SETTINGS, user_id=UID, chat_id=-1005, chat_kind="supergroup",
         action="open", allowed=False, answer="not_admin")  # fmt: skip
    del now


async def _experiments(services: Services) -> None:
    """core.experiments.exposures: the first exposure records the assignment, the next does not."""
    experiment = Experiment(
        name="digest_order", variants=(Variant(name="control"), Variant(name="ranked"))
    )
    assigned = Assigned(experiment.name, variant_of(experiment, UID))
    now = services.clock.now()
    for _ in range(2):
        await record_exposures(services.redis, services.emit, [(UID, assigned, "digest")], now)


async def _subscription_expiry(services: Services) -> None:
    """messaging.outbox.subscription_expiry: a paid plan lapses and falls back to Free."""
    store = SubscriptionStore(services.redis)
    now = services.clock.now()
    await store.grant(Payment("x1", UID, Tier.PREMIUM, 3800, now - 1, "x1"))
    outbox = Outbox(services.redis, DeliverySettings(), events=services.events,
                    clock=services.clock)  # fmt: skip
    expiry = SubscriptionExpiry(
        store, outbox, services.settings.payments, services.events, services.clock
    )
    await expiry.run_once()


def _message(n: int, **fields: Any) -> OutboxMessage:
    base: dict[str, Any] = {"outgoing_id": f"m{n}", "user_id": UID, "chat_id": UID,
                            "text": f"message {n}", "created_at": 0.0}  # fmt: skip
    return OutboxMessage(**(base | fields))


async def _delivery(services: Services, log: MemoryEventLog) -> None:
    """The outbox and the worker, sending through the emulator: an alert, a digest, messages
    without opportunities (a reminder, an away summary), an edit, one to a user who blocked
    the bot; then the worker's other outcomes through its own `_emit`."""
    now = services.clock.now()
    alert = {"opportunity_ids": ("o1",), "tier": "premium", "opportunity_type": "arbitrage",
             "detected_at": now - 5, "created_at": now - 1, "priority": "high"}  # fmt: skip
    server = EmulatorServer(limits="off", default_bot_token=TOKEN)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            tg = TgEnv(server, http)
            bot = await tg.bot()
            await tg.open_chats([UID, BLOCKED])
            await tg.block(BLOCKED)
            settings = DeliverySettings(block_ms=0)
            outbox = Outbox(services.redis, settings, events=services.events, clock=services.clock)
            worker = DeliveryWorker(
                outbox, bot, services.events, lambda u, r: _noop(), services.clock, settings
            )
            await outbox.enqueue(
                [
                    _message(1, **alert),
                    _message(2, **(alert | {"opportunity_ids": ("o1", "o2", "o3")})),
                    _message(3, priority="high", created_at=now),  # a session reminder
                    _message(4, tier="basic", priority="high", created_at=now),  # away summary
                    _message(5, **(alert | {"user_id": BLOCKED, "chat_id": BLOCKED})),
                ]
            )
            await worker.drain()
            sent = log.named(EventName.SENT)
            first = next(e for e in sent if e.attrs["outgoing_id"] == "m1")
            edit = _message(6, **alert, kind="edit", message_id=first.attrs["message_id"])
            await outbox.enqueue([edit])
            await worker.drain()
            m = _message(7, **alert)
            # DeliveryWorker._deliver (a 429 put off), _transient, _fail, _drop_stale
            worker._emit(EventName.RETRIED, m, reason="flood", attempt=0, delay_s=1.0)
            worker._emit(EventName.RETRIED, m, reason="network_error", attempt=1, delay_s=0.5,
                         detail="x")  # fmt: skip
            worker._emit(EventName.FAILED, m, reason="bad_request: x", attempt=0)
            worker._emit(EventName.DROPPED, m, reason="stale", sent=False)
            await bot.session.close()
    finally:
        await server.stop()


async def _noop() -> None:
    return None


async def production_events(
    services: Services, log: MemoryEventLog, clock: ManualClock
) -> list[Event]:
    """One or more events of every name production emits, each shape its code writes;
    ``log`` and ``clock`` are the services' event log and clock."""
    session = await _sessions(services, clock)
    _bot_side(services, session)
    _emitted_elsewhere(services, session)
    _groups(services, session)
    await _experiments(services)
    await _subscription_expiry(services)
    await _delivery(services, log)
    return list(log.events)
