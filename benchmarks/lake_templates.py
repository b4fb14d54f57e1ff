"""Templates of the analytics benchmark's lake: one row per kind of event production writes.

Each template is an `Event` built through `core.events.Emitter` with the fields the production
call passes (each is named beside it), turned into a row by the sink's own encoding
(`analytics.schemas.to_arrow`, what `analytics.sink.write_batches` writes). A table's templates
carry weights: the table's mix. Values of the columns `benchmarks.analytics_lake` draws per row
(ids, latencies, counts) are placeholders here; a null stays null. ``market.*`` rows are the
market lake's, not the event sink's, so there are no such templates.
"""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

from analytics.schemas import TABLES, table_of, to_arrow
from core.clock import ManualClock
from core.events import Emitter, EventName, MemoryEventLog, Scalar

T0 = 1_767_225_600.0  # 2026-01-01 UTC
TIERS = ("free", "basic", "premium", "enterprise")
TYPES = ("arbitrage", "funding", "technical")
PRIORITIES = ("high", "medium", "low")

Mix = dict[str, tuple[list[float], pa.Table]]  # table -> (weights, one template row each)


class _Templates:
    """Emits template events through the production `Emitter` and keeps each one's weight."""

    def __init__(self) -> None:
        self.log = MemoryEventLog()
        self.emit = Emitter(self.log, ManualClock(T0))
        self.weights: list[float] = []

    def add(self, weight: float, name: str, **fields: Scalar) -> None:
        self.emit(name, **fields)  # type: ignore[arg-type]  # user_id/session_id/ts are typed
        self.weights.append(weight)

    def mix(self) -> Mix:
        by_table: dict[str, list[int]] = defaultdict(list)
        for i, e in enumerate(self.log.events):
            by_table[table_of(e.name)].append(i)
        out: Mix = {}
        for table, idx in by_table.items():
            spec = TABLES[table]
            one_row = [
                to_arrow(spec, [f"template:{i}"], [self.log.events[i].__dict__]) for i in idx
            ]
            out[table] = ([self.weights[i] for i in idx], pa.concat_tables(one_row))
        return out


U, S, OID = 1, "s", "o"  # placeholders of the varying ids


def _session(t: _Templates) -> None:
    # core.sessions.service.SessionService.start
    t.add(0.15, EventName.SESSION_STARTED, user_id=U, session_id=S, source="start", previous=None)
    t.add(
        0.15, EventName.SESSION_STARTED, user_id=U, session_id=S, source="start", previous="expired"
    )
    t.add(0.20, EventName.SESSION_RESUMED, user_id=U, session_id=S, source="start", previous=None)
    # core.sessions.service._emit_ended (expiry sweep, /logout, a blocked bot)
    for w, name, reason in (
        (0.30, EventName.SESSION_EXPIRED, "inactivity"),
        (0.05, EventName.SESSION_TERMINATED, "logout"),
        (0.03, EventName.SESSION_TERMINATED, "blocked"),
    ):
        t.add(w, name, user_id=U, session_id=S, reason=reason, length_s=1.0, commands=1,
              opportunities=1)  # fmt: skip
    # messaging.outbox.reminders.SessionReminders.run_once
    t.add(0.12, EventName.SESSION_REMINDED, user_id=U, expires_at=T0 + 86_400.0)


def _audit(t: _Templates) -> None:
    # bot.middlewares.session_gate._audit: a command in an active session, an open command,
    # refusals (no session, an ended one, a group chat)
    for w, command in (
        (0.25, "/opportunities"),
        (0.10, "/settings"),
        (0.10, "/help"),
        (0.08, "/status"),
        (0.05, "/dnd"),
    ):
        t.add(w, EventName.COMMAND, user_id=U, session_id=S, command=command, allowed=True,
              reason="active", chat_type="private")  # fmt: skip
    t.add(0.12, EventName.COMMAND, user_id=U, session_id=None, command="/start", allowed=True,
          reason="open", chat_type="private")  # fmt: skip
    t.add(0.06, EventName.COMMAND, user_id=U, session_id=None, command="/opportunities",
          allowed=False, reason="no_session", chat_type="private")  # fmt: skip
    t.add(0.04, EventName.COMMAND, user_id=U, session_id=S, command="<text>", allowed=False,
          reason="expired", chat_type="private")  # fmt: skip
    t.add(0.01, EventName.COMMAND, user_id=U, session_id=None, command="/opportunities",
          allowed=False, reason="group_chat", chat_type="group")  # fmt: skip
    # bot.handlers.errors.on_error
    t.add(0.005, EventName.COMMAND, user_id=U, command="<error>", allowed=True, reason="error",
          error="RuntimeError: boom", update_id=1)  # fmt: skip
    # bot.handlers.refusals.audit_callback
    t.add(0.04, EventName.CALLBACK, user_id=U, session_id=S, data="ob:risk:high",
          allowed=False, reason="stale")  # fmt: skip
    t.add(0.03, EventName.CALLBACK, user_id=U, session_id=S, data="opp:details:o1",
          allowed=False, reason="not_entitled")  # fmt: skip
    t.add(0.01, EventName.CALLBACK, user_id=U, session_id=None, data="opp:up:o1",
          allowed=False, reason="no_session")  # fmt: skip
    # bot.handlers.admin._audit
    t.add(0.005, EventName.ADMIN_ACTION, user_id=U, session_id=S, action="admin_stats",
          allowed=True)  # fmt: skip
    t.add(0.003, EventName.ADMIN_ACTION, user_id=U, session_id=S, action="settier",
          allowed=True, target=42, tier="premium")  # fmt: skip
    # bot.webhook.WebhookHandler (a malformed body)
    t.add(0.001, EventName.BAD_UPDATE, bytes=17, error="ValidationError: update_id missing")
    # messaging.outbox.ops_alerts.OpsAlerts.run_once; bot.handlers.ops_alerts.mute
    t.add(0.001, EventName.OPS_ALERT, action="sink_lag", value=120.0, threshold=60.0, admins=1)
    t.add(0.001, EventName.OPS_ALERT_MUTED, user_id=U, session_id=S, action="sink_lag",
          allowed=True, until=T0 + 3600.0)  # fmt: skip


def _onboarding(t: _Templates) -> None:
    # bot.handlers.onboarding.step_event
    t.add(0.20, EventName.ONBOARDING_STEP, user_id=U, session_id=S, step="welcome",
          action="shown", source="start")  # fmt: skip
    t.add(0.02, EventName.ONBOARDING_STEP, user_id=U, session_id=S, step="tier",
          action="shown", source="settings")  # fmt: skip
    answers = {"tier": "basic", "types": "arbitrage", "schedule": "8-22", "risk": "medium",
               "exchanges": "binance"}  # fmt: skip
    for step, value in answers.items():
        t.add(0.08, EventName.ONBOARDING_STEP, user_id=U, session_id=S, step=step,
              action="shown")  # fmt: skip
        t.add(0.05, EventName.ONBOARDING_STEP, user_id=U, session_id=S, step=step,
              action="answered", value=value)  # fmt: skip
    t.add(0.03, EventName.ONBOARDING_STEP, user_id=U, session_id=S, step="risk",
          action="skipped")  # fmt: skip
    t.add(0.10, EventName.ONBOARDING_STEP, user_id=U, session_id=S, step="done",
          action="completed")  # fmt: skip


def _preferences(t: _Templates) -> None:
    # bot.handlers.preferences.emit_change
    t.add(0.5, EventName.PREFERENCE_CHANGED, user_id=U, session_id=S, field="min_profit_pct",
          value="0.5", source="settings")  # fmt: skip
    t.add(0.3, EventName.PREFERENCE_CHANGED, user_id=U, session_id=S, field="opportunity_types",
          value="arbitrage,funding", source="onboarding")  # fmt: skip
    t.add(0.2, EventName.PREFERENCE_CHANGED, user_id=U, session_id=S, field="dnd_until",
          value="1767232800")  # fmt: skip


def _opportunity(t: _Templates) -> None:
    # actors.opportunity (the coordinator's _publish): validation records, then lifecycle
    for w, level, passed, reason in (
        (0.25, 1, True, "ok"),
        (0.12, 1, False, "min_net_spread"),
        (0.18, 2, True, "ok"),
        (0.05, 2, False, "stale_book"),
        (0.15, 4, True, "ok"),
        (0.05, 4, False, "low_confidence"),
    ):
        t.add(w, EventName.VALIDATION, ts=T0, opportunity_id=OID, level=level, passed=passed,
              reason=reason, key="arbitrage|BTC/USDT|binance|okx", pair="binance-okx",
              f_best_ask=64_010.5, f_best_bid=64_120.0, f_qty=0.8)  # fmt: skip
    for w, change, reason in (
        (0.08, "opened", ""),
        (0.08, "updated", ""),
        (0.04, "closed", "gone"),
    ):
        t.add(w, EventName.LIFECYCLE, ts=T0, change=change, opportunity_id=OID, type="arbitrage",
              symbol="BTC/USDT", buy="binance", sell="okx", net_spread_pct=0.42,
              confidence=0.81, priority="high", reason=reason)  # fmt: skip


def _outbox(m_kind: str, items: int, priority: str, tier: str | None, kind: str | None
            ) -> dict[str, Scalar]:  # fmt: skip
    """messaging.outbox.worker.DeliveryWorker._emit's base: what a message's rows carry."""
    base: dict[str, Scalar] = {"outgoing_id": "u1:1:1", "kind": m_kind, "chat_id": 7,
                               "priority": priority, "items": items}  # fmt: skip
    if items:
        base |= {"channel": "push", "opportunity_id": OID, "opportunity_ids": OID}
    if tier:
        base["tier"] = tier
    if kind:
        base["type"] = kind
    return base


def _distribution(t: _Templates) -> None:
    sent = {"latency_ms": 1.0, "attempt": 0, "message_id": 9, "duplicate": False}
    # DeliveryWorker._deliver: an alert per tier, type and priority; digests; close edits;
    # messages without opportunities (a session reminder, an away summary)
    for tier in TIERS:
        for kind in TYPES:
            for prio in PRIORITIES:
                base = _outbox("send", 1, prio, tier, kind)
                t.add(0.30 / 36, EventName.SENT, user_id=U, **base, **sent,
                      detection_latency_ms=1.0)  # fmt: skip
        t.add(0.01, EventName.SENT, user_id=U, **_outbox("send", 3, "medium", tier, "funding"),
              **sent, detection_latency_ms=1.0)  # fmt: skip
        t.add(0.01, EventName.SENT, user_id=U, **_outbox("edit", 1, "high", tier, "arbitrage"),
              **sent, detection_latency_ms=1.0)  # fmt: skip
    t.add(0.02, EventName.SENT, user_id=U, **_outbox("send", 0, "high", None, None), **sent)
    t.add(0.01, EventName.SENT, user_id=U, **_outbox("send", 0, "medium", "basic", None), **sent)
    # messaging.outbox.store.Outbox.accepted
    for w, kind, items, prio in ((0.08, "send", 1, "high"), (0.02, "send", 3, "medium"),
                                 (0.01, "edit", 1, "high"), (0.01, "send", 0, "high")):  # fmt: skip
        t.add(w, EventName.ACCEPTED, user_id=U, outgoing_id="u1:1:1", kind=kind,
              priority=prio, items=items)  # fmt: skip
    # actors.user_queue_shard.fanout: one row per (opportunity, shard, reason)
    for w, layer, reason in ((0.04, 1, "L1:no_session"), (0.03, 2, "L2:tier_type"),
                             (0.03, 3, "L3:dnd"), (0.02, 4, "L4:daily_cap"),
                             (0.02, 5, "L5:exchange"), (0.01, 6, "L6:region")):  # fmt: skip
        t.add(w, EventName.REJECTED, ts=T0, opportunity_id=OID, layer=layer, reason=reason,
              users=1, shard=3)  # fmt: skip
    # actors.user_queue_shard._emit_queue_events: a user queue's own events
    for w, name, reason in ((0.08, EventName.QUEUED, ""), (0.02, EventName.REFRESHED, "update"),
                            (0.02, EventName.HELD, "dnd"), (0.05, EventName.RELEASED, "single"),
                            (0.01, EventName.RELEASED, "digest"),
                            (0.02, EventName.EDIT, "closed"), (0.01, EventName.DROPPED, "quota"),
                            (0.01, EventName.DROPPED, "closed")):  # fmt: skip
        t.add(w, name, ts=T0, user_id=U, opportunity_id=OID, reason=reason, shard=3)
    # DeliveryWorker: put off by a 429, retried after a 5xx, failed for good, dropped unsent
    alert = _outbox("send", 1, "high", "premium", "arbitrage")
    t.add(0.01, EventName.RETRIED, user_id=U, **alert, reason="flood", attempt=0, delay_s=3.0)
    t.add(0.005, EventName.RETRIED, user_id=U, **alert, reason="server_error", attempt=1,
          delay_s=1.2, detail="Internal Server Error")  # fmt: skip
    t.add(0.005, EventName.FAILED, user_id=U, **alert, reason="bad_request: can't parse",
          attempt=0)  # fmt: skip
    t.add(0.01, EventName.DROPPED, user_id=U, **alert, reason="blocked",
          detail="Forbidden: bot was blocked by the user", sent=False)  # fmt: skip
    t.add(0.005, EventName.DROPPED, user_id=U, **alert, reason="stale", sent=False)
    # bot.handlers.opportunities.opportunities (/opportunities)
    for tier in TIERS:
        for kind in TYPES:
            t.add(0.06 / 12, EventName.OPPORTUNITIES_SHOWN, ts=T0, user_id=U, session_id=S,
                  opportunity_id=OID, type=kind, priority="medium", tier=tier,
                  channel="on_demand")  # fmt: skip


def _engagement(t: _Templates) -> None:
    # bot.handlers.opportunities.details; bot.handlers.feedback._engaged
    t.add(0.70, EventName.DETAILS, user_id=U, session_id=S, opportunity_id=OID, button="details")
    for vote in ("up", "down"):
        t.add(0.075, EventName.FEEDBACK, user_id=U, session_id=S, opportunity_id=OID,
              button="feedback", vote=vote)  # fmt: skip
    t.add(0.10, EventName.MUTE_PAIR, user_id=U, session_id=S, opportunity_id=OID,
          button="mute_pair", pair="BTC/USDT")  # fmt: skip
    t.add(0.05, EventName.MUTE_TYPE, user_id=U, session_id=S, opportunity_id=OID,
          button="mute_type", type="funding")  # fmt: skip


def _payment(t: _Templates) -> None:
    # bot.handlers.subscription.buy; bot.handlers.payments.pre_checkout, successful_payment,
    # refund; bot.handlers.subscription.cancel; messaging.outbox.subscription_expiry
    t.add(0.25, EventName.PAYMENT_INVOICE, user_id=U, session_id=S, tier="premium", amount=3800)
    t.add(0.2, EventName.PAYMENT_PRE_CHECKOUT, user_id=U, ok=True, tier="premium", amount=3800)
    t.add(0.02, EventName.PAYMENT_PRE_CHECKOUT, user_id=U, ok=False, reason="price",
          tier="premium", amount=1)  # fmt: skip
    for w, recurring in ((0.2, False), (0.15, True)):
        t.add(w, EventName.PAYMENT_SUCCEEDED, user_id=U, tier="premium", amount=3800,
              currency="XTR", charge_id="c", recurring=recurring, paid_until=T0)  # fmt: skip
    t.add(0.02, EventName.PAYMENT_DUPLICATE, user_id=U, charge_id="c", tier="premium",
          reason="charge_seen")  # fmt: skip
    t.add(0.05, EventName.PAYMENT_CANCELED, user_id=U, session_id=S, tier="premium",
          charge_id="c", paid_until=T0)  # fmt: skip
    t.add(0.08, EventName.PAYMENT_EXPIRED, ts=T0, user_id=U, tier="premium", outcome="fell_back")
    t.add(0.03, EventName.PAYMENT_REFUNDED, user_id=U, tier="premium", amount=3800,
          charge_id="c", outcome="fell_back", admin=9)  # fmt: skip


def _groups(t: _Templates) -> None:
    # bot.handlers.group_buttons.group_details
    for w, session_id, has, answer in ((0.3, S, True, "private"), (0.2, None, False, "pointer")):
        t.add(w, EventName.GROUP_BUTTON, user_id=U, session_id=session_id, chat_id=-1005,
              chat_kind="supergroup", button="details", opportunity_id=OID, has_session=has,
              answer=answer)  # fmt: skip
    # bot.handlers.deep_links.record_deep_link_start
    t.add(0.2, EventName.DEEPLINK_START, user_id=U, session_id=S, source="channel",
          chat_id=-1005, action="started")  # fmt: skip
    # bot.handlers.channel_admin._audit
    t.add(0.02, EventName.CHANNEL_LINKED, user_id=U, session_id=S, chat_id=-1005,
          chat_kind="channel", delay_s=60.0, action="linked", allowed=True, admin_id=U)  # fmt: skip
    # bot.handlers.groups.joining._emit; bot.handlers.groups.settings.audit
    for w, name, action in ((0.1, EventName.GROUP_JOINED, "added"),
                            (0.03, EventName.GROUP_LEFT, "kicked")):  # fmt: skip
        t.add(w, name, user_id=U, chat_id=-1005, chat_kind="supergroup", admin_id=U,
              action=action)  # fmt: skip
    t.add(0.15, EventName.GROUP_SETTINGS, user_id=U, chat_id=-1005, chat_kind="supergroup",
          action="open", allowed=False, answer="not_admin")  # fmt: skip


def _experiment(t: _Templates) -> None:
    # core.experiments.exposures.record_exposures: the assignment once, then an exposure per push
    for variant in ("control", "ranked"):
        t.add(0.1, EventName.EXPERIMENT_ASSIGNED, ts=T0, user_id=U, experiment="digest_order",
              variant=variant)  # fmt: skip
        t.add(0.4, EventName.EXPERIMENT_EXPOSED, ts=T0, user_id=U, experiment="digest_order",
              variant=variant)  # fmt: skip


def templates() -> Mix:
    """Every table's templates (one row each, as the sink writes it) and their weights."""
    t = _Templates()
    for part in (_session, _audit, _onboarding, _preferences, _opportunity, _distribution,
                 _engagement, _payment, _groups, _experiment):  # fmt: skip
        part(t)
    return t.mix()
