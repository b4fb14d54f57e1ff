"""Per-user push queue: the pure state of the design's UserOpportunityQueueDO.

A host (a Ray actor shard) owns one `UserQueue` per user, feeds it eligible opportunities with
`offer`, calls `tick` at `next_wakeup()`, reports Telegram message ids with `record_sent`, and
persists `to_dict()`. Nothing here reads a clock or does I/O; every decision is recorded as a
`QueueEvent` (`drain_events()`).

Rules
- HIGH goes out at once as a ``single`` message. MEDIUM and LOW wait ``medium_window_seconds``
  / ``low_window_seconds`` from when they were queued; when the first pending item is due, *all*
  pending items go out as one ``digest``: best first (priority, then expected profit, then
  confidence, then id), at most ``digest_max_items``; the rest are dropped (``digest_cap``).
- Dedup: an opportunity is sent at most once. An update to a sent one is queued again, as an
  ``updated`` item of the next digest (never a single), only if it improved materially: its net
  spread rose by at least ``update_min_improvement`` relative to the spread last sent
  (``new > old and new >= old + update_min_improvement * abs(old)``; default +20%); otherwise it
  is dropped (``not_improved``). An update to a still-pending one refreshes it in place.
- Quiet times: during DND or outside active hours (the user's timezone) due items are held
  (``held``, once per item) and go out in one digest when the window opens; HIGH pierces DND
  (not active hours) for users with ``high_priority_pierces_dnd``. Items whose ``expires_at``
  passes while queued are dropped (``expired`` / ``expired_while_held``). Held alerts that
  expire or close before the window opens are counted (``missed``), and the first message after
  it opens says so: a digest carries the count, or, with nothing left to send, an ``away``
  message does ("while you were away: N opportunities came and went"). The user is told once;
  the count is cleared only when the release step confirms the message that carries it.
- `quota` (optional, on `offer`/`tick`): how many opportunities the user may still receive now
  (from layer 4's counters); a message carries at most that many, the rest are dropped
  (``quota``). The host commits the counters for what it actually sent.
- Closing: `on_closed` (or offering a closed opportunity) drops it from the queue and returns
  one ``edit_closed`` instruction per Telegram message that carries it.
- Memory: sent/closed records are kept until ``expires_at + sent_retention_seconds``.

Releasing is two-phase, so that the host's atomic release step decides (see
`actors.user_queue_shard` and ``push_release.lua``): a message that `offer` or `tick` returns is
a *proposal*, its items out of the queue but not yet recorded as sent. The host then calls
`confirm` (it went to the outbox), `trim` (only the first k fit under a cap: the rest are
dropped with ``quota``) or `refuse` (the release step found the session ended, push switched
off, DND, the cooldown or a cap: the items wait until ``retry_at``, or are dropped with the
reason). `to_dict(assume_confirmed=...)` is the state to write together with the message.
Outgoing ids are ``<user>:<born>:<seq>``: ``born`` (the queue's creation time, in ms) keeps them
unique when an idle queue expired from Redis and a new one starts counting again.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from core.distribution.quiet import QuietTimes
from core.distribution.settings import DistributionSettings
from core.models import Opportunity, Preferences, Priority
from core.models.opportunity import Rank, best_first

Kind = Literal["single", "digest", "edit_closed", "away"]
_STATE_VERSION = 1
# Release outcomes after which the items wait rather than go (the rest drop them).
_WAIT = frozenset({"cooldown", "dnd"})


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to send (or edit). Rendering happens elsewhere, from the opportunity ids."""

    outgoing_id: str
    user_id: int
    kind: Kind
    opportunity_ids: tuple[str, ...]
    priority: Priority
    created_at: float
    dedup_key: str
    updated_ids: tuple[str, ...] = ()  # items of a digest that are updates of sent ones
    message_id: int | None = None  # for edit_closed: the Telegram message to edit
    # Held alerts that expired or closed before the window opened (a digest or ``away``).
    missed: int = 0


@dataclass(frozen=True, slots=True)
class QueueEvent:
    kind: Literal["queued", "refreshed", "held", "dropped", "sent", "edit"]
    opportunity_id: str
    at: float
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class _Item:
    opportunity_id: str
    priority: Priority
    net_spread_pct: float
    expected_profit_pct: float
    confidence: float
    updated_at: float
    expires_at: float
    queued_at: float
    due_at: float
    is_update: bool = False
    held: bool = False
    # A delayed tier gets the opportunity only from here on (detection + the tier's delay),
    # and only if it is still open then.
    not_before: float = 0.0

    @classmethod
    def of(
        cls,
        opp: Opportunity,
        *,
        queued_at: float,
        due_at: float,
        is_update: bool = False,
        held: bool = False,
        not_before: float = 0.0,
    ) -> _Item:
        return cls(
            opp.opportunity_id,
            opp.priority,
            opp.net_spread_pct,
            opp.expected_profit_pct,
            opp.confidence,
            opp.updated_at,
            opp.expires_at,
            queued_at,
            due_at,
            is_update,
            held,
            not_before,
        )

    def rank(self) -> Rank:
        return best_first(
            self.priority, self.expected_profit_pct, self.confidence, self.opportunity_id
        )


def _item_dict(i: _Item) -> dict[str, Any]:
    return {
        "opportunity_id": i.opportunity_id,
        "priority": i.priority.value,
        "net_spread_pct": i.net_spread_pct,
        "expected_profit_pct": i.expected_profit_pct,
        "confidence": i.confidence,
        "updated_at": i.updated_at,
        "expires_at": i.expires_at,
        "queued_at": i.queued_at,
        "due_at": i.due_at,
        "is_update": i.is_update,
        "held": i.held,
        "not_before": i.not_before,
    }


@dataclass(slots=True)
class _Sent:
    net_spread_pct: float
    expires_at: float
    sent_at: float
    message_ids: list[int] = field(default_factory=list)


class UserQueue:
    def __init__(
        self,
        user_id: int,
        settings: DistributionSettings | None = None,
        preferences: Preferences | None = None,
        *,
        born: float = 0.0,
    ) -> None:
        self.user_id = user_id
        self.born_ms = int(born * 1000)
        self.settings = settings or DistributionSettings()
        self._quiet = QuietTimes()
        self._pending: dict[str, _Item] = {}
        self._sent: dict[str, _Sent] = {}
        self._closed: dict[str, float] = {}  # id -> forget after
        self._inflight: dict[str, tuple[float, list[str]]] = {}  # outgoing id -> (at, ids)
        self._seq = 0
        self._proposed: dict[str, tuple[Outgoing, list[_Item]]] = {}
        self._events: list[QueueEvent] = []
        # Held alerts lost to expiry or closing, not yet told; and from when the queue should
        # look for the window to open to tell them (a refused summary waits past `retry_at`).
        self._missed = 0
        self._missed_at = 0.0
        if preferences is not None:
            self.set_preferences(preferences)

    # -- inputs -------------------------------------------------------------------------------

    def set_preferences(self, prefs: Preferences) -> None:
        self._quiet = QuietTimes.of(prefs)

    def offer(
        self,
        opportunity: Opportunity,
        now: float,
        quota: int | None = None,
        not_before: float = 0.0,
    ) -> list[Outgoing]:
        """Take an eligible opportunity (new or an update); returns what to send now.

        `not_before`: the user's tier gets it only from then on (detection + the tier's delay);
        until then it waits in the queue, and it goes out then only if it is still open."""
        self._prune(now)
        if not_before > now and opportunity.opportunity_id not in self._sent:
            if opportunity.closed or opportunity.opportunity_id in self._closed:
                return self.on_closed(opportunity.opportunity_id, now)
            if opportunity.expires_at <= not_before:
                return self._drop(opportunity.opportunity_id, now, "expired_before_delay")
            window = self._window(opportunity.priority)
            item = self._enqueue(opportunity, now, max(now + window, not_before), is_update=False)
            item.not_before = max(item.not_before, not_before)
            return self._flush(now, quota)
        opp, oid = opportunity, opportunity.opportunity_id
        if opp.closed:
            return self.on_closed(oid, now)
        if oid in self._closed:
            return self._drop(oid, now, "closed")
        if opp.expires_at <= now:
            return self._drop(oid, now, "expired")
        sent = self._sent.get(oid)
        if sent is not None:
            sent.expires_at = max(sent.expires_at, opp.expires_at)
            if not self.improved(sent.net_spread_pct, opp.net_spread_pct):
                return self._drop(oid, now, "not_improved")
            window = self._window(
                Priority.MEDIUM if opp.priority is Priority.HIGH else opp.priority
            )
            self._enqueue(opp, now, now + window, is_update=True)
            return self._flush(now, quota)
        if opp.priority is Priority.HIGH:
            reason = self._quiet.reason(now, high=True)
            if reason is None:
                self._pending.pop(oid, None)
                return self._send_single(opp, now, quota)
            item = self._enqueue(opp, now, now, is_update=False)
            item.held = True
            self._event("held", oid, now, reason)
            return self._flush(now, quota)
        self._enqueue(opp, now, now + self._window(opp.priority), is_update=False)
        return self._flush(now, quota)

    def tick(self, now: float, quota: int | None = None) -> list[Outgoing]:
        """Called at (or after) `next_wakeup()`: drops what expired, sends what is due."""
        self._prune(now)
        return self._flush(now, quota)

    def record_sent(
        self, outgoing_id: str, message_id: int, now: float | None = None
    ) -> list[Outgoing]:
        """Telegram accepted `outgoing_id` as `message_id`. Returns edits for opportunities of
        that message that closed meanwhile."""
        entry = self._inflight.pop(outgoing_id, None)
        if entry is None:
            return []
        edits: list[Outgoing] = []
        for oid in entry[1]:
            if oid in self._closed:
                edits.append(self._edit(oid, message_id, entry[0] if now is None else now))
            elif (rec := self._sent.get(oid)) is not None:
                rec.message_ids.append(message_id)
        return edits

    def on_closed(self, opportunity_id: str, now: float) -> list[Outgoing]:
        """The opportunity closed: forget it if pending, edit the messages that carry it."""
        oid = opportunity_id
        item = self._pending.pop(oid, None)
        if item is not None:
            self._event("dropped", oid, now, "closed")
            if item.held:
                self._miss(now)
        rec = self._sent.pop(oid, None)
        forget = rec.expires_at if rec else item.expires_at if item else now
        self._closed[oid] = max(forget, now) + self.settings.sent_retention_seconds
        if rec is None:
            return []
        return [self._edit(oid, m, now) for m in rec.message_ids]

    # -- outputs ------------------------------------------------------------------------------

    def next_wakeup(self) -> float | None:
        """When `tick` should next be called (None: nothing pending)."""
        # An item not yet marked held wakes the queue when it is due, so that holding it is
        # recorded then; once held it waits for its window to open.
        times = [
            self._quiet.opens_at(i.due_at, pierce=self._pierces(i)) if i.held else i.due_at
            for i in self._pending.values()
        ]
        if self._missed:
            times.append(self._quiet.opens_at(self._missed_at, pierce=False))
        return min(times) if times else None

    def drain_events(self) -> list[QueueEvent]:
        events, self._events = self._events, []
        return events

    @property
    def missed(self) -> int:
        """Held alerts that expired or closed before the window opened, not yet told."""
        return self._missed

    @property
    def held_count(self) -> int:
        """Pending items held back by DND or active hours."""
        return sum(1 for i in self._pending.values() if i.held)

    @property
    def pending_ids(self) -> list[str]:
        return sorted(self._pending, key=lambda k: self._pending[k].rank())

    def improved(self, sent_spread: float, new_spread: float) -> bool:
        """The material-improvement rule for updates of sent opportunities."""
        threshold = sent_spread + self.settings.update_min_improvement * abs(sent_spread)
        return new_spread > sent_spread and new_spread >= threshold

    # -- internals ----------------------------------------------------------------------------

    def _window(self, priority: Priority) -> float:
        if priority is Priority.LOW:
            return self.settings.low_window_seconds
        if priority is Priority.MEDIUM:
            return self.settings.medium_window_seconds
        return 0.0

    def _event(self, kind: Any, oid: str, now: float, reason: str = "") -> None:
        self._events.append(QueueEvent(kind, oid, now, reason))

    def _drop(self, oid: str, now: float, reason: str) -> list[Outgoing]:
        self._event("dropped", oid, now, reason)
        return []

    def _miss(self, now: float) -> None:
        if not self._missed:
            self._missed_at = now
        self._missed += 1

    def _enqueue(self, opp: Opportunity, now: float, due: float, *, is_update: bool) -> _Item:
        oid = opp.opportunity_id
        old = self._pending.get(oid)
        item = _Item.of(
            opp,
            queued_at=now if old is None else old.queued_at,
            due_at=due if old is None else max(min(due, old.due_at), old.not_before),
            is_update=is_update,
            held=False if old is None else old.held,
            not_before=0.0 if old is None else old.not_before,
        )
        self._pending[oid] = item
        self._event(
            "queued" if old is None else "refreshed", oid, now, "update" if is_update else ""
        )
        return item

    def _pierces(self, item: _Item) -> bool:
        return item.priority is Priority.HIGH and not item.is_update and self._quiet.pierce

    def _next_id(self) -> str:
        self._seq += 1
        return f"{self.user_id}:{self.born_ms}:{self._seq}"

    def _sent_records(
        self, out: Outgoing, items: list[_Item]
    ) -> tuple[dict[str, _Sent], tuple[float, list[str]]]:
        now = out.created_at
        sent = {}
        for i in items:
            old = self._sent.get(i.opportunity_id)
            sent[i.opportunity_id] = _Sent(
                i.net_spread_pct, i.expires_at, now, list(old.message_ids) if old else []
            )
        return sent, (now, [i.opportunity_id for i in items])

    # -- the host's decision on a proposal ----------------------------------------------------

    def confirm(self, outgoing_id: str) -> None:
        """The proposal went to the outbox: its items are sent (dedup, close edits)."""
        out, items = self._proposed.pop(outgoing_id)
        self._missed = max(0, self._missed - out.missed)
        if out.kind == "away":
            return
        sent, inflight = self._sent_records(out, items)
        self._sent.update(sent)
        self._inflight[outgoing_id] = inflight
        for oid in sent:
            self._event("sent", oid, out.created_at, out.kind)

    def trim(self, outgoing_id: str, keep: int, now: float) -> Outgoing:
        """Only the first `keep` items fit under a cap: the rest are dropped (``quota``)."""
        out, items = self._proposed[outgoing_id]
        for item in items[keep:]:
            self._event("dropped", item.opportunity_id, now, "quota")
        items = items[:keep]
        ids = tuple(i.opportunity_id for i in items)
        out = replace(
            out,
            opportunity_ids=ids,
            updated_ids=tuple(u for u in out.updated_ids if u in ids),
            dedup_key=f"{out.dedup_key}|{keep}",
        )
        self._proposed[outgoing_id] = (out, items)
        return out

    def refuse(
        self, outgoing_id: str, reason: str, now: float, retry_at: float | None = None
    ) -> None:
        """The release step refused the proposal: for the cooldown or DND its items wait until
        `retry_at` (and are dropped then if expired); otherwise they are dropped with the
        reason (``release:<reason>``)."""
        out, items = self._proposed.pop(outgoing_id)
        if out.missed and reason in _WAIT and retry_at is not None:
            self._missed_at = max(self._missed_at, retry_at)  # told when it may go
        elif out.missed and out.kind == "away":
            # Push switched off, the session ended: nobody is waiting for the summary.
            self._missed = max(0, self._missed - out.missed)
        if reason in _WAIT and retry_at is not None:
            for item in items:
                item.due_at = item.not_before = max(item.not_before, retry_at)
                self._pending.setdefault(item.opportunity_id, item)
                self._event("held", item.opportunity_id, now, reason)
            return
        for item in items:
            self._event("dropped", item.opportunity_id, now, f"release:{reason}")

    @property
    def proposed(self) -> list[Outgoing]:
        return [out for out, _ in self._proposed.values()]

    def _send_single(self, opp: Opportunity, now: float, quota: int | None) -> list[Outgoing]:
        oid = opp.opportunity_id
        if quota is not None and quota <= 0:
            return self._drop(oid, now, "quota")
        item = _Item.of(opp, queued_at=now, due_at=now)
        out = Outgoing(
            self._next_id(),
            self.user_id,
            "single",
            (oid,),
            opp.priority,
            now,
            f"{self.user_id}:single:{oid}@{opp.updated_at!r}",
        )
        self._proposed[out.outgoing_id] = (out, [item])
        return [out]

    def _flush(self, now: float, quota: int | None) -> list[Outgoing]:
        for oid, item in list(self._pending.items()):
            if item.expires_at <= now:
                del self._pending[oid]
                self._drop(oid, now, "expired_while_held" if item.held else "expired")
                if item.held:
                    self._miss(now)
        if not any(i.due_at <= now and i.not_before <= now for i in self._pending.values()):
            # Nothing due (the common case of a fan-out): quiet times are asked only when a
            # summary is owed, not for every user offered an item.
            if self._missed and self._quiet.reason(now, high=False) is None:
                return self._away(now)
            return []
        reason = self._quiet.reason(now, high=False)
        if reason is not None:
            if (
                reason == "dnd"
                and self._quiet.pierce
                and self._quiet.reason(now, high=True) is None
            ):
                chosen = [
                    i
                    for i in self._pending.values()
                    if self._pierces(i) and i.due_at <= now and i.not_before <= now
                ]
            else:
                chosen = []
            for item in self._pending.values():
                if all(item is not c for c in chosen) and item.due_at <= now and not item.held:
                    item.held = True
                    self._event("held", item.opportunity_id, now, reason)
            if not chosen:
                return []
        else:
            chosen = [i for i in self._pending.values() if i.not_before <= now]
        chosen.sort(key=_Item.rank)
        cap = self.settings.digest_max_items
        if quota is not None:
            cap = min(cap, max(0, quota))
        for item in chosen[cap:]:
            del self._pending[item.opportunity_id]
            over = "quota" if cap < self.settings.digest_max_items else "digest_cap"
            self._drop(item.opportunity_id, now, over)
        chosen = chosen[:cap]
        if not chosen:
            return self._away(now) if reason is None else []
        for item in chosen:
            del self._pending[item.opportunity_id]
        ids = tuple(i.opportunity_id for i in chosen)
        out = Outgoing(
            self._next_id(),
            self.user_id,
            "digest",
            ids,
            min((i.priority for i in chosen), key=lambda p: p.rank),
            now,
            f"{self.user_id}:digest:"
            + ",".join(f"{i.opportunity_id}@{i.updated_at!r}" for i in chosen),
            tuple(i.opportunity_id for i in chosen if i.is_update),
            missed=self._told_now(now, reason),
        )
        self._proposed[out.outgoing_id] = (out, chosen)
        return [out]

    def _told_now(self, now: float, quiet: str | None) -> int:
        """How many missed alerts a message proposed now tells: all of them once the window is
        open and no other proposal carries them, else none (a pierced DND is not "back")."""
        if quiet is not None or now < self._missed_at:
            return 0
        if any(o.missed for o, _ in self._proposed.values()):
            return 0
        return self._missed

    def _away(self, now: float) -> list[Outgoing]:
        """The summary of missed alerts, when the window is open and nothing else tells it."""
        missed = self._told_now(now, None)
        if not missed:
            return []
        out = Outgoing(
            self._next_id(),
            self.user_id,
            "away",
            (),
            Priority.LOW,
            now,
            f"{self.user_id}:away:{self._missed_at!r}",
            missed=missed,
        )
        self._proposed[out.outgoing_id] = (out, [])
        return [out]

    def _edit(self, oid: str, message_id: int, now: float) -> Outgoing:
        self._event("edit", oid, now, "closed")
        return Outgoing(
            self._next_id(),
            self.user_id,
            "edit_closed",
            (oid,),
            Priority.LOW,
            now,
            f"{self.user_id}:edit_closed:{oid}:{message_id}",
            message_id=message_id,
        )

    def _prune(self, now: float) -> None:
        keep = self.settings.sent_retention_seconds
        for oid in [k for k, r in self._sent.items() if r.expires_at + keep < now]:
            del self._sent[oid]
        for oid in [k for k, until in self._closed.items() if until < now]:
            del self._closed[oid]
        for out_id in [k for k, (at, _) in self._inflight.items() if at + keep < now]:
            del self._inflight[out_id]

    # -- persistence --------------------------------------------------------------------------

    def to_dict(self, assume_confirmed: Collection[str] = ()) -> dict[str, Any]:
        """JSON-able state (events are not part of it: drain them first). Proposals named in
        `assume_confirmed` are in it as sent; other unresolved proposals as pending again (a
        restart then proposes them anew)."""
        q = self._quiet
        sent = dict(self._sent)
        inflight = dict(self._inflight)
        pending = list(self._pending.values())
        told = 0
        for out_id, (out, items) in self._proposed.items():
            if out_id in assume_confirmed:
                told += out.missed
                records, entry = self._sent_records(out, items)
                sent.update(records)
                inflight[out_id] = entry
            else:
                pending += [i for i in items if i.opportunity_id not in self._pending]
        return {
            "v": _STATE_VERSION,
            "user_id": self.user_id,
            "born_ms": self.born_ms,
            "seq": self._seq,
            "quiet": {
                "dnd_until": q.dnd_until,
                "pierce": q.pierce,
                "active_hours": list(q.active_hours),
                "timezone": q.timezone,
            },
            # Field by field, not `asdict` (which deep-copies): a fan-out saves every queue.
            "pending": [_item_dict(i) for i in pending],
            "sent": {
                k: {
                    "net_spread_pct": r.net_spread_pct,
                    "expires_at": r.expires_at,
                    "sent_at": r.sent_at,
                    "message_ids": list(r.message_ids),
                }
                for k, r in sent.items()
            },
            "closed": dict(self._closed),
            "inflight": {k: [at, list(ids)] for k, (at, ids) in inflight.items()},
            "missed": max(0, self._missed - told),
            "missed_at": self._missed_at,
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], settings: DistributionSettings | None = None
    ) -> UserQueue:
        if data.get("v") != _STATE_VERSION:
            raise ValueError(f"unknown UserQueue state version {data.get('v')!r}")
        queue = cls(int(data["user_id"]), settings)
        queue.born_ms = int(data.get("born_ms", 0))
        queue._seq = int(data["seq"])
        qd = data["quiet"]
        start, end = qd["active_hours"]
        queue._quiet = QuietTimes(
            qd["dnd_until"], bool(qd["pierce"]), (int(start), int(end)), qd["timezone"]
        )
        for raw in data["pending"]:
            item = _Item(**{**raw, "priority": Priority(raw["priority"])})
            queue._pending[item.opportunity_id] = item
        queue._sent = {k: _Sent(**v) for k, v in data["sent"].items()}
        queue._closed = {k: float(v) for k, v in data["closed"].items()}
        queue._inflight = {k: (float(at), list(ids)) for k, (at, ids) in data["inflight"].items()}
        queue._missed = int(data.get("missed", 0))  # absent in states saved before the summary
        queue._missed_at = float(data.get("missed_at", 0.0))
        return queue
