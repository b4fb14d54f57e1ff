"""The per-user queue: HIGH at once, MEDIUM/LOW in digests, dedup and updates, quiet-time
holds, expiry, close edits and a JSON round trip."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from core.clock import ManualClock
from core.distribution.settings import DistributionSettings
from core.distribution.user_queue import Outgoing, UserQueue
from core.models import Opportunity, Preferences, Priority

from .factories import T0, opportunity

HIGH, MEDIUM, LOW = Priority.HIGH, Priority.MEDIUM, Priority.LOW


def opp(oid: str, priority: Priority = MEDIUM, **kw: Any) -> Opportunity:
    return opportunity(oid, priority=priority, **kw)


class Confirmed(UserQueue):
    """A queue whose host confirms every proposal at once (the release step said yes): the
    queue's own rules, apart from the host's release step (tested below and in the shard)."""

    def offer(self, *args: Any, **kw: Any) -> list[Outgoing]:
        return self._confirmed(super().offer(*args, **kw))

    def tick(self, *args: Any, **kw: Any) -> list[Outgoing]:
        return self._confirmed(super().tick(*args, **kw))

    def _confirmed(self, out: list[Outgoing]) -> list[Outgoing]:
        for o in out:
            if o.kind != "edit_closed":
                self.confirm(o.outgoing_id)
        return out


def queue(**prefs: Any) -> UserQueue:
    return Confirmed(7, DistributionSettings(), Preferences(**prefs))


def reasons(q: UserQueue, kind: str) -> list[tuple[str, str]]:
    return [(e.opportunity_id, e.reason) for e in q.drain_events() if e.kind == kind]


def test_high_priority_goes_out_at_once_as_one_message() -> None:
    q = queue()
    out = q.offer(opp("h", HIGH), T0)
    assert [(o.kind, o.opportunity_ids, o.priority) for o in out] == [("single", ("h",), HIGH)]
    assert out[0].user_id == 7
    assert out[0].created_at == T0
    assert q.next_wakeup() is None


def test_medium_waits_for_its_window_then_goes_as_a_digest() -> None:
    clock = ManualClock(T0)
    q = queue()
    assert q.offer(opp("m1"), clock.now()) == []
    assert q.next_wakeup() == T0 + 30
    clock.advance(seconds=10)
    assert q.offer(opp("m2"), clock.now()) == []
    assert q.next_wakeup() == T0 + 30
    assert q.tick(T0 + 29.9) == []
    out = q.tick(T0 + 30)
    assert [(o.kind, o.opportunity_ids) for o in out] == [("digest", ("m1", "m2"))]
    assert q.next_wakeup() is None


def test_low_waits_300_seconds_unless_a_medium_digest_leaves_first() -> None:
    q = queue()
    q.offer(opp("l1", LOW), T0)
    assert q.next_wakeup() == T0 + 300
    assert q.tick(T0 + 299) == []
    assert [o.opportunity_ids for o in q.tick(T0 + 300)] == [("l1",)]
    q.offer(opp("l2", LOW), T0 + 400)
    q.offer(opp("m", MEDIUM), T0 + 410)
    assert q.next_wakeup() == T0 + 440
    assert [o.opportunity_ids for o in q.tick(T0 + 440)] == [("m", "l2")]


def test_digest_is_best_first_and_capped_the_rest_dropped() -> None:
    q = Confirmed(7, DistributionSettings(digest_max_items=3))
    for i, profit in enumerate([0.5, 2.0, 1.0, 3.0]):
        q.offer(opp(f"m{i}", expected_profit_pct=profit), T0)
    q.offer(opp("low-but-rich", LOW, expected_profit_pct=9.0), T0)
    q.drain_events()
    (out,) = q.tick(T0 + 30)
    assert out.opportunity_ids == ("m3", "m1", "m2")  # MEDIUM before LOW, then profit
    assert out.priority is MEDIUM
    assert reasons(q, "dropped") == [("m0", "digest_cap"), ("low-but-rich", "digest_cap")]


def test_quota_limits_what_a_message_carries() -> None:
    q = queue()
    assert q.offer(opp("h", HIGH), T0, quota=0) == []
    assert reasons(q, "dropped") == [("h", "quota")]
    for i in range(3):
        q.offer(opp(f"m{i}", expected_profit_pct=i), T0)
    (out,) = q.tick(T0 + 30, quota=2)
    assert out.opportunity_ids == ("m2", "m1")
    assert reasons(q, "dropped") == [("m0", "quota")]


def test_the_same_opportunity_is_never_sent_twice() -> None:
    q = queue()
    assert len(q.offer(opp("h", HIGH), T0)) == 1
    assert q.offer(opp("h", HIGH), T0 + 1) == []
    q.offer(opp("m"), T0)
    q.tick(T0 + 30)
    assert q.offer(opp("m"), T0 + 31) == []
    assert q.tick(T0 + 100) == []
    assert reasons(q, "dropped") == [("h", "not_improved"), ("m", "not_improved")]


def test_material_update_is_folded_into_the_next_digest_as_updated() -> None:
    q = queue()
    q.offer(opp("h", HIGH, net_spread_pct=1.0), T0)
    assert q.offer(opp("h", HIGH, net_spread_pct=1.19), T0 + 1) == []  # +19%: dropped
    assert q.offer(opp("h", HIGH, net_spread_pct=1.2, updated_at=T0 + 2), T0 + 2) == []
    q.offer(opp("m"), T0 + 5)
    (out,) = q.tick(T0 + 32)
    assert out.kind == "digest"
    assert out.opportunity_ids == ("h", "m")
    assert out.updated_ids == ("h",)
    # A further update is measured against the spread sent last (1.2).
    assert q.offer(opp("h", HIGH, net_spread_pct=1.43), T0 + 40) == []
    assert q.next_wakeup() is None


def test_improvement_rule_is_relative_and_handles_zero_and_negative() -> None:
    q = queue()
    assert q.improved(1.0, 1.2)
    assert not q.improved(1.0, 1.1999)
    assert q.improved(0.0, 0.01)
    assert not q.improved(0.0, 0.0)
    assert q.improved(-1.0, -0.8)
    assert not q.improved(-1.0, -0.9)


def test_update_of_a_pending_item_refreshes_it_in_place() -> None:
    q = queue()
    q.offer(opp("m", expected_profit_pct=0.5), T0)
    q.offer(opp("m", LOW, expected_profit_pct=0.9), T0 + 10)
    assert q.next_wakeup() == T0 + 30  # keeps the earlier deadline
    (out,) = q.tick(T0 + 30)
    assert out.opportunity_ids == ("m",)
    assert out.priority is LOW
    assert [e.kind for e in q.drain_events()] == ["queued", "refreshed", "sent"]


def test_dnd_holds_items_then_releases_them_in_one_digest() -> None:
    q = queue(dnd_until=T0 + 600)
    assert q.offer(opp("h", HIGH), T0) == []
    q.offer(opp("m"), T0)
    assert q.tick(T0 + 30) == []
    assert reasons(q, "held") == [("h", "dnd"), ("m", "dnd")]
    assert q.next_wakeup() == T0 + 600
    assert q.tick(T0 + 599) == []
    assert q.drain_events() == []  # held once, not at every tick
    (out,) = q.tick(T0 + 600)
    assert (out.kind, out.opportunity_ids) == ("digest", ("h", "m"))


def test_high_pierces_dnd_only_for_users_who_opted_in() -> None:
    q = queue(dnd_until=T0 + 600, high_priority_pierces_dnd=True)
    assert [o.kind for o in q.offer(opp("h", HIGH), T0)] == ["single"]
    q.offer(opp("m"), T0)
    assert q.tick(T0 + 30) == []
    assert q.next_wakeup() == T0 + 600


def test_pierce_does_not_override_active_hours() -> None:
    q = queue(high_priority_pierces_dnd=True, active_hours=(8, 18))  # T0 is 00:00 UTC
    assert q.offer(opp("h", HIGH, expires_at=T0 + 86400), T0) == []
    assert reasons(q, "held") == [("h", "active_hours")]
    assert q.next_wakeup() == T0 + 8 * 3600
    assert [o.opportunity_ids for o in q.tick(T0 + 8 * 3600)] == [("h",)]


def test_active_hours_hold_uses_the_users_timezone() -> None:
    q = queue(timezone="Asia/Tokyo", active_hours=(10, 18))  # T0 = 09:00 Tokyo
    q.offer(opp("m", expires_at=T0 + 7200), T0)
    assert q.tick(T0 + 30) == []
    assert q.next_wakeup() == T0 + 3600
    assert len(q.tick(T0 + 3600)) == 1


def test_held_items_that_expire_are_dropped_with_the_reason() -> None:
    q = queue(dnd_until=T0 + 600)
    q.offer(opp("m", expires_at=T0 + 300), T0)
    q.offer(opp("l", LOW, expires_at=T0 + 900), T0)
    q.tick(T0 + 30)
    q.drain_events()
    assert q.tick(T0 + 300) == []
    assert reasons(q, "dropped") == [("m", "expired_while_held")]
    (out,) = q.tick(T0 + 600)
    assert out.opportunity_ids == ("l",)
    assert out.missed == 1  # the digest says one more came and went meanwhile
    assert q.missed == 0


def test_held_alerts_all_lost_are_summarised_once_when_the_window_opens() -> None:
    """Nothing left to send when Do Not Disturb ends: one ``away`` message tells how many came
    and went (expired, or closed, while held), and then the queue is idle."""
    q = queue(dnd_until=T0 + 600)
    q.offer(opp("a", expires_at=T0 + 100), T0)
    q.offer(opp("b", LOW, expires_at=T0 + 400), T0)
    q.offer(opp("c"), T0)
    # Expires before its own batching window: never held, so never missed either.
    q.offer(opp("never_due", LOW, expires_at=T0 + 250), T0)
    q.tick(T0 + 30)  # a and c held
    assert q.on_closed("c", T0 + 50) == []
    assert q.tick(T0 + 300) == []  # b held; a expired
    assert q.tick(T0 + 450) == []  # b expired; still in DND: nothing to say yet
    assert q.missed == 3
    assert q.next_wakeup() == T0 + 600  # wakes when the window opens, with nothing pending
    (out,) = q.tick(T0 + 600)
    assert (out.kind, out.opportunity_ids, out.missed) == ("away", (), 3)
    assert q.missed == 0 and q.next_wakeup() is None
    assert q.tick(T0 + 700) == []  # told once


def test_an_unconfirmed_summary_is_kept_and_a_refused_one_waits() -> None:
    """The count is cleared only when the release step confirms the message that carries it;
    DND set again meanwhile makes it wait; push switched off drops it."""
    q = UserQueue(7, DistributionSettings(), Preferences(dnd_until=T0 + 600))
    q.offer(opp("a", expires_at=T0 + 100), T0)
    q.tick(T0 + 30)
    q.tick(T0 + 300)
    (out,) = q.tick(T0 + 600)
    assert out.kind == "away"
    state = q.to_dict()  # saved before the release: the summary is still owed
    assert UserQueue.from_dict(state).missed == 1
    assert UserQueue.from_dict(q.to_dict(assume_confirmed=[out.outgoing_id])).missed == 0
    q.refuse(out.outgoing_id, "dnd", T0 + 600, retry_at=T0 + 3600)
    assert q.missed == 1 and q.next_wakeup() == T0 + 3600
    assert q.tick(T0 + 1800) == []
    (again,) = q.tick(T0 + 3600)
    assert again.kind == "away" and again.outgoing_id != out.outgoing_id
    q.refuse(again.outgoing_id, "push_off", T0 + 3600)
    assert q.missed == 0 and q.next_wakeup() is None


def test_a_pierced_dnd_is_not_the_window_opening() -> None:
    """A HIGH alert that pierces DND goes alone; the summary waits for DND's end."""
    q = queue(dnd_until=T0 + 600, high_priority_pierces_dnd=True)
    q.offer(opp("m", expires_at=T0 + 100), T0)
    q.tick(T0 + 30)
    q.tick(T0 + 100)
    (single,) = q.offer(opp("h", HIGH), T0 + 200)
    assert single.kind == "single" and single.missed == 0
    (out,) = q.tick(T0 + 600)
    assert (out.kind, out.missed) == ("away", 1)


def test_expired_or_closed_offers_are_dropped() -> None:
    q = queue()
    assert q.offer(opp("x", expires_at=T0), T0) == []
    assert q.offer(opp("c", closed=True), T0) == []
    assert q.offer(opp("c"), T0 + 1) == []
    assert reasons(q, "dropped") == [("x", "expired"), ("c", "closed")]


def test_closing_returns_edit_instructions_for_every_message_carrying_it() -> None:
    q = queue()
    (single,) = q.offer(opp("a", HIGH, net_spread_pct=1.0), T0)
    q.record_sent(single.outgoing_id, 101)
    q.offer(opp("a", HIGH, net_spread_pct=2.0), T0 + 1)
    q.offer(opp("b"), T0 + 1)
    (digest,) = q.tick(T0 + 31)
    q.record_sent(digest.outgoing_id, 102)
    edits = q.on_closed("a", T0 + 40)
    assert [(e.kind, e.opportunity_ids, e.message_id) for e in edits] == [
        ("edit_closed", ("a",), 101),
        ("edit_closed", ("a",), 102),
    ]
    assert q.on_closed("a", T0 + 41) == []
    assert q.offer(opp("a", HIGH, net_spread_pct=9.0), T0 + 42) == []  # closed stays closed


def test_a_close_before_the_message_id_is_known_edits_on_record_sent() -> None:
    q = queue()
    (out,) = q.offer(opp("a", HIGH), T0)
    assert q.on_closed("a", T0 + 1) == []
    (edit,) = q.record_sent(out.outgoing_id, 55, T0 + 2)
    assert (edit.kind, edit.message_id) == ("edit_closed", 55)
    assert q.record_sent(out.outgoing_id, 55) == []


def test_closing_a_pending_item_removes_it() -> None:
    q = queue()
    q.offer(opp("m"), T0)
    assert q.on_closed("m", T0 + 1) == []
    assert q.tick(T0 + 30) == []
    assert q.next_wakeup() is None


def test_sent_records_are_forgotten_after_retention() -> None:
    q = Confirmed(7, DistributionSettings(sent_retention_seconds=60))
    q.offer(opp("a", HIGH, expires_at=T0 + 100), T0)
    q.tick(T0 + 161)
    assert q.to_dict()["sent"] == {}
    assert q.to_dict()["inflight"] == {}


def test_state_survives_a_json_round_trip() -> None:
    settings = DistributionSettings()
    q = Confirmed(7, settings, Preferences(dnd_until=T0 + 600, timezone="Europe/Paris"))
    (single,) = Confirmed(7, settings).offer(opp("x", HIGH), T0)
    q.offer(opp("h", HIGH), T0)
    q.offer(opp("m", net_spread_pct=1.5), T0)
    q.offer(opp("l", LOW), T0)
    q.tick(T0 + 30)
    q.drain_events()
    restored = Confirmed.from_dict(json.loads(json.dumps(q.to_dict())), settings)
    assert restored.to_dict() == q.to_dict()
    # The LOW item falls due (and is recorded held) at T0 + 300; DND ends at T0 + 600.
    assert restored.next_wakeup() == q.next_wakeup() == T0 + 300
    assert q.tick(T0 + 300) == restored.tick(T0 + 300) == []
    assert restored.next_wakeup() == q.next_wakeup() == T0 + 600
    assert q.held_count == 3
    a, b = q.tick(T0 + 600), restored.tick(T0 + 600)
    assert a == b
    assert a[0].opportunity_ids == ("h", "m", "l")
    assert isinstance(single, Outgoing)


def test_outgoing_ids_are_unique_and_dedup_keys_stable() -> None:
    q = queue()
    outs = [q.offer(opp(f"h{i}", HIGH), T0)[0] for i in range(3)]
    assert len({o.outgoing_id for o in outs}) == 3
    assert outs[0].dedup_key == f"7:single:h0@{T0 - 3600!r}"


def test_a_delayed_tier_gets_the_opportunity_when_its_delay_is_over_if_still_open() -> None:
    """A Free user's funding alert: offered at detection, sent at detection + the tier's delay
    (not refused because the delay had not elapsed when the opportunity was published)."""
    q = queue()
    assert q.offer(opp("f", HIGH, expires_at=T0 + 900), T0, not_before=T0 + 300) == []
    assert q.next_wakeup() == T0 + 300
    assert q.tick(T0 + 299) == []
    out = q.tick(T0 + 300)
    assert [(o.kind, o.opportunity_ids) for o in out] == [("digest", ("f",))]


def test_a_delayed_item_does_not_leave_early_with_a_digest_that_is_due() -> None:
    q = queue()
    q.offer(opp("late", MEDIUM, expires_at=T0 + 900), T0, not_before=T0 + 300)
    q.offer(opp("now", MEDIUM, expires_at=T0 + 900), T0)
    assert [o.opportunity_ids for o in q.tick(T0 + 30)] == [("now",)]
    assert [o.opportunity_ids for o in q.tick(T0 + 300)] == [("late",)]


def test_a_delayed_item_closed_or_expiring_before_the_delay_is_never_sent() -> None:
    q = queue()
    q.offer(opp("c", MEDIUM, expires_at=T0 + 900), T0, not_before=T0 + 300)
    q.on_closed("c", T0 + 100)
    assert q.tick(T0 + 300) == []
    assert q.offer(opp("e", MEDIUM, expires_at=T0 + 200), T0, not_before=T0 + 300) == []
    assert ("e", "expired_before_delay") in reasons(q, "dropped")
    assert q.next_wakeup() is None


def test_a_delayed_item_survives_the_json_round_trip() -> None:
    q = queue()
    q.offer(opp("f", LOW, expires_at=T0 + 900), T0, not_before=T0 + 300)
    again = Confirmed.from_dict(json.loads(json.dumps(q.to_dict())))
    assert again.tick(T0 + 299) == []
    assert [o.opportunity_ids for o in again.tick(T0 + 300)] == [("f",)]


# The host's release step decides on each proposal -----------------------------------------


def test_a_proposal_is_sent_only_once_confirmed() -> None:
    q = UserQueue(7, DistributionSettings())
    (out,) = q.offer(opp("h", HIGH), T0)
    assert q.proposed == [out]
    assert reasons(q, "sent") == []
    q.confirm(out.outgoing_id)
    assert reasons(q, "sent") == [("h", "single")]
    assert q.offer(opp("h", HIGH), T0 + 1) == []  # sent: never twice


def test_a_refused_proposal_waits_out_the_cooldown_or_drops_with_its_reason() -> None:
    q = UserQueue(7, DistributionSettings())
    q.offer(opp("m1"), T0)
    q.offer(opp("m2", expires_at=T0 + 120), T0)
    (digest,) = q.tick(T0 + 30)
    q.refuse(digest.outgoing_id, "cooldown", T0 + 30, retry_at=T0 + 90)
    assert [(oid, r) for oid, r in reasons(q, "held")] == [("m1", "cooldown"), ("m2", "cooldown")]
    assert q.next_wakeup() == T0 + 90
    assert q.tick(T0 + 89) == []
    (again,) = q.tick(T0 + 90)
    assert again.opportunity_ids == ("m1", "m2")
    assert again.outgoing_id != digest.outgoing_id  # an id is never used for other content
    q.refuse(again.outgoing_id, "push_off", T0 + 90)
    assert reasons(q, "dropped") == [("m1", "release:push_off"), ("m2", "release:push_off")]
    assert q.next_wakeup() is None


def test_a_trimmed_proposal_drops_what_did_not_fit_with_an_event() -> None:
    q = UserQueue(7, DistributionSettings())
    for i, p in enumerate((0.9, 0.5, 0.1)):
        q.offer(opp(f"m{i}", expected_profit_pct=p), T0)
    (digest,) = q.tick(T0 + 30)
    trimmed = q.trim(digest.outgoing_id, 1, T0 + 30)
    assert trimmed.opportunity_ids == ("m0",)
    assert trimmed.outgoing_id == digest.outgoing_id  # nothing was written under it yet
    assert reasons(q, "dropped") == [("m1", "quota"), ("m2", "quota")]
    q.confirm(trimmed.outgoing_id)
    assert reasons(q, "sent") == [("m0", "digest")]


def test_the_state_written_with_a_message_has_it_sent_and_other_proposals_pending() -> None:
    q = UserQueue(7, DistributionSettings())
    (single,) = q.offer(opp("h", HIGH), T0)
    after = q.to_dict(assume_confirmed=[single.outgoing_id])
    assert "h" in after["sent"] and single.outgoing_id in after["inflight"]
    before = q.to_dict()  # not confirmed: a restart proposes it again
    assert "h" not in before["sent"]
    assert [i["opportunity_id"] for i in before["pending"]] == ["h"]


def test_outgoing_ids_differ_between_two_lives_of_a_queue() -> None:
    first = UserQueue(7, DistributionSettings(), born=T0)
    second = UserQueue(7, DistributionSettings(), born=T0 + 86_400)
    (a,) = first.offer(opp("h1", HIGH), T0)
    (b,) = second.offer(opp("h2", HIGH, expires_at=T0 + 2 * 86_400), T0 + 86_400)
    assert a.outgoing_id != b.outgoing_id


def test_saved_state_holds_every_field_of_pending_and_sent_items() -> None:
    """`to_dict` writes items field by field (a fan-out saves every queue, `asdict` was too
    slow): it must still hold every field `asdict` would, so a field added to an item is never
    lost on a save and load."""
    q = UserQueue(7, DistributionSettings())
    q.offer(opp("m1", MEDIUM), T0)
    [single] = q.offer(opp("h1", Priority.HIGH), T0)
    q.confirm(single.outgoing_id)
    state = q.to_dict()
    [pending] = state["pending"]
    item = q._pending["m1"]
    assert pending == {**asdict(item), "priority": item.priority.value}
    assert state["sent"] == {k: asdict(r) for k, r in q._sent.items()}
    assert UserQueue.from_dict(json.loads(json.dumps(state))).to_dict() == state
