"""Telegram limits, simulated with a manual clock: the global rate never exceeds its limit in
any 1-second window, per-chat and per-group limits hold, a backlog drains at >= 97% of the
allowed rate, and 429s pause everything or one chat."""

from __future__ import annotations

from collections import defaultdict, deque

import pytest

from core.clock import ManualClock
from core.distribution.rate_limit import GlobalRateLimiterLogic, Lease
from core.distribution.settings import RateLimitSettings

from .chat_pacing import ChatPacer
from .factories import T0


class Sender:
    """A sender as the actor runs one: leases batches of slots, sends on each slot to a chat its
    pacing allows, gives back what it cannot use."""

    def __init__(
        self, name: str, limiter: GlobalRateLimiterLogic, chats: list[int], n: int
    ) -> None:
        self.name = name
        self.limiter = limiter
        self.pacer = ChatPacer()
        self.backlog: deque[int] = deque(chats[i % len(chats)] for i in range(n))
        self.lease: Lease | None = None
        self.k = 0
        self.lease_calls = 0
        self.retry_at = float("-inf")

    def _send_one(self, now: float, sent: list[tuple[int, int]]) -> None:
        for _ in range(len(self.backlog)):
            chat = self.backlog.popleft()
            if self.pacer.try_send(chat, now):
                sent.append((round(now * 1_000_000), chat))
                return
            self.backlog.append(chat)

    def step(self, now: float, sent: list[tuple[int, int]]) -> None:
        lease = self.lease
        if lease is not None:
            while self.k < lease.tokens and lease.slot(self.k) <= now:
                if now < lease.slot(self.k) + lease.validity and self.backlog:
                    self._send_one(now, sent)
                self.k += 1
            if self.k >= lease.tokens:
                self.lease = None
            elif not self.backlog:
                self.limiter.release(lease, lease.tokens - self.k)
                self.lease = None
        if self.lease is None and self.backlog and now >= self.retry_at:
            lease = self.limiter.lease(self.name, min(len(self.backlog), 10), now)
            self.lease_calls += 1
            if lease.tokens:
                self.lease, self.k = lease, 0
            else:
                self.retry_at = lease.valid_until  # the limiter says when to ask again


def max_in_window(times_us: list[int], width_us: int) -> int:
    times = sorted(times_us)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - width_us:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def simulate(
    settings: RateLimitSettings, seconds: float, senders: int, per_sender: int, chats: int
) -> tuple[list[tuple[int, int]], list[Sender], GlobalRateLimiterLogic]:
    clock = ManualClock(T0)
    limiter = GlobalRateLimiterLogic(settings)
    # Chat ids: positive private chats and every 10th a group; each chat owned by one sender.
    ids = [(-(i + 1) if i % 10 == 0 else i + 1) for i in range(chats)]
    owned: dict[int, list[int]] = defaultdict(list)
    for c in ids:
        owned[abs(c) % senders].append(c)
    pool = [Sender(f"s{k}", limiter, owned[k], per_sender) for k in range(senders)]
    sent: list[tuple[int, int]] = []
    for ms in range(round(seconds * 1000)):
        clock.set(T0 + ms / 1000)
        for s in pool[ms % senders :] + pool[: ms % senders]:
            s.step(clock.now(), sent)
    return sent, pool, limiter


def test_simulated_minute_respects_global_chat_and_group_limits_and_drains_at_97pct() -> None:
    settings = RateLimitSettings()
    sent, pool, _ = simulate(settings, 60.0, senders=8, per_sender=1000, chats=4000)
    times = [t for t, _ in sent]
    assert max_in_window(times, 1_000_000) <= 30
    assert len(sent) >= 0.97 * 30 * 60  # R / (1 + v) = 97.1% of R at v = 30 ms
    by_chat: dict[int, list[int]] = defaultdict(list)
    for t, chat in sent:
        by_chat[chat].append(t)
    for chat, ts in by_chat.items():
        if chat > 0:
            assert max_in_window(ts, 1_000_000) <= 1
        else:
            assert max_in_window(ts, 60_000_000) <= 20
    # Tokens come in batches, not one call per message.
    assert sum(s.lease_calls for s in pool) < len(sent)


def test_group_limit_holds_with_few_busy_groups() -> None:
    settings = RateLimitSettings()
    clock = ManualClock(T0)
    limiter = GlobalRateLimiterLogic(settings)
    s = Sender("s", limiter, [-1, -2, 3], 300)
    sent: list[tuple[int, int]] = []
    for ms in range(0, 180_000, 10):
        clock.set(T0 + ms / 1000)
        s.step(clock.now(), sent)
    for chat in (-1, -2):
        ts = [t for t, c in sent if c == chat]
        assert len(ts) >= 55  # ~20 per minute over 3 minutes
        assert max_in_window(ts, 60_000_000) <= 20
    private = [t for t, c in sent if c == 3]
    assert max_in_window(private, 1_000_000) <= 1


def test_paid_broadcast_rate_is_used_when_enabled() -> None:
    settings = RateLimitSettings(paid_broadcast_enabled=True, paid_broadcast_rate=1000)
    sent, _, _ = simulate(settings, 5.0, senders=4, per_sender=5000, chats=20000)
    times = [t for t, _ in sent]
    assert max_in_window(times, 1_000_000) <= 1000
    assert len(sent) >= 0.97 * 1000 * 5


def test_lease_grants_consecutive_slots_within_the_horizon() -> None:
    limiter = GlobalRateLimiterLogic(
        RateLimitSettings(lease_horizon_seconds=0.25, lease_validity_seconds=0.025)
    )
    spacing = 1.025 / 30
    a = limiter.lease("a", 25, T0)
    assert a.tokens == 8  # slots T0, T0 + s, ... up to the 0.25 s horizon
    assert a.interval == pytest.approx(spacing, abs=1e-6)
    assert a.slot(7) == pytest.approx(T0 + 7 * spacing, abs=1e-5)
    assert a.valid_until == pytest.approx(a.slot(7) + 0.025, abs=1e-6)
    b = limiter.lease("b", 25, T0)
    assert b.tokens == 0
    # Ask again when half a horizon's worth of slots (3) is free, not for a crumb.
    assert b.valid_until == pytest.approx(T0 + 8 * spacing - 0.25 + 2 * spacing, abs=1e-5)
    c = limiter.lease("c", 2, T0 + 0.5)
    assert (c.tokens, c.granted_at) == (2, T0 + 0.5)  # idle time is not saved up as a burst


def test_lease_size_is_capped_by_max_lease_tokens() -> None:
    settings = RateLimitSettings(
        paid_broadcast_enabled=True, paid_broadcast_rate=1000, max_lease_tokens=20
    )
    assert GlobalRateLimiterLogic(settings).lease("a", 500, T0).tokens == 20


def test_returned_slots_are_leased_again() -> None:
    limiter = GlobalRateLimiterLogic()
    lease = limiter.lease("a", 8, T0)
    limiter.release(lease, 5)
    limiter.release(lease, 100)  # never more than granted, never twice
    again = limiter.lease("b", 8, T0 + 0.01)
    assert again.granted_at == pytest.approx(lease.slot(3), abs=1e-6)


def test_a_token_is_usable_only_from_its_slot_for_the_validity() -> None:
    limiter = GlobalRateLimiterLogic()
    lease = limiter.lease("a", 5, T0)
    assert lease.usable(T0 + 0.024)
    assert not lease.usable(lease.valid_until)
    assert not lease.usable(T0 - 0.001)


def test_global_429_pauses_every_lease_until_retry_after() -> None:
    limiter = GlobalRateLimiterLogic(RateLimitSettings(lease_validity_seconds=0.025))
    limiter.report_429(5.0, "global", None, T0)
    paused = limiter.lease("a", 10, T0 + 1)
    assert paused.tokens == 0
    assert paused.valid_until == pytest.approx(T0 + 5 - 0.25 + 2 * 1.025 / 30, abs=1e-5)
    assert limiter.next_available_at(T0 + 1) == pytest.approx(T0 + 5 - 0.25, abs=1e-5)
    resumed = limiter.lease("a", 10, T0 + 5)
    assert resumed.tokens > 0 and resumed.granted_at == T0 + 5


def test_a_chat_429_stops_no_one_else() -> None:
    """Only a global 429 pauses the bot-wide slots; a chat's is waited out by its own sender."""
    limiter = GlobalRateLimiterLogic()
    limiter.report_429(3.0, "chat", 42, T0)
    assert limiter.lease("a", 10, T0 + 1).tokens > 0
    pacer = ChatPacer()
    pacer.pause(42, T0 + 3)
    assert not pacer.try_send(42, T0 + 2.9)
    assert pacer.try_send(43, T0 + 2.9)
    assert pacer.try_send(42, T0 + 3)
    with pytest.raises(ValueError, match="chat id"):
        limiter.report_429(1.0, "chat", None, T0)


def test_private_chat_pacing_is_one_per_second() -> None:
    pacer = ChatPacer()
    assert pacer.try_send(1, T0)
    assert not pacer.try_send(1, T0 + 0.999)
    assert pacer.next_allowed(1, T0 + 0.5) == T0 + 1
    assert pacer.try_send(1, T0 + 1)


def test_group_pacing_is_twenty_per_minute_sliding() -> None:
    pacer = ChatPacer()
    for i in range(20):
        assert pacer.try_send(-5, T0 + i)
    assert not pacer.try_send(-5, T0 + 59.9)
    assert pacer.next_allowed(-5, T0 + 30) == T0 + 60
    assert pacer.try_send(-5, T0 + 60)
    assert not pacer.try_send(-5, T0 + 60.5)
    assert pacer.try_send(-5, T0 + 61)


def test_pacer_forgets_idle_chats() -> None:
    pacer = ChatPacer()
    pacer.try_send(1, T0)
    pacer.try_send(-1, T0)
    assert pacer.prune(T0 + 0.5) == 0
    assert pacer.prune(T0 + 60) == 2


def test_a_limiter_restored_from_its_saved_state_grants_no_slot_twice() -> None:
    """What `GlobalRateLimiter` saves to Redis (the next free slot, the global pause) is enough
    for a new instance to carry on where the old one stopped; restoring never moves back."""
    settings = RateLimitSettings(lease_horizon_seconds=5.0, max_lease_tokens=200)
    old = GlobalRateLimiterLogic(settings)
    held = old.lease("a", 200, T0)
    old.report_429(2.0, "global", None, T0)
    new = GlobalRateLimiterLogic(settings)
    new.restore(old.next_slot_us, old.paused_until)
    new.restore(0, float("-inf"))  # an older save read late changes nothing
    lease = new.lease("b", 200, T0 + 0.5)
    while not lease.tokens:
        lease = new.lease("b", 200, lease.valid_until)
    assert lease.granted_at >= held.slot(held.tokens - 1) + held.interval - 1e-6
    assert lease.granted_at >= T0 + 2.0
