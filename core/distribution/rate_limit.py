"""Telegram's sending limits as exact, deterministic logic (no clock reads, no I/O).

`GlobalRateLimiterLogic` (wrapped by the GlobalRateLimiter actor) hands senders tokens in
batches. A lease granted at ``t`` is valid on ``[t, t + v)`` (``v`` = ``lease_validity_seconds``):
its tokens must be used, or returned with `release`, by then. The limiter counts every token it
granted at ``t`` as used over ``(t - 1 - v, t]``, and grants only while that sum stays within the
rate ``R``. Any send at ``s`` in a 1-second window ``[x, x + 1)`` used a token granted in
``(x - v, x + 1)``, an interval of length ``1 + v``, so **no 1-second window ever holds more
than R sends**; the price is that a saturated limiter grants ``R / (1 + v)`` per second (97.6% of
R at the default v = 25 ms). Times are handled as integer microseconds, so the bound is exact.

Per-chat limits (1 message/s to a private chat, 20 messages/min to a group, i.e. negative chat
ids) are enforced by `ChatPacer`, local to the sender that owns the chat; every chat must be owned
by exactly one sender (e.g. ``chat_id % n_senders``) for these limits to hold.

A 429 with ``retry_after`` pauses everything (scope "global": no tokens until it passes) or one
chat (scope "chat": `chat_paused_until`, which the owning sender applies to its `ChatPacer`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from core.distribution.settings import RateLimitSettings

_US = 1_000_000


def to_us(ts: float) -> int:
    return round(ts * _US)


@dataclass(frozen=True, slots=True)
class Lease:
    lease_id: int
    sender_id: str
    tokens: int
    granted_at: float
    valid_until: float  # tokens > 0: use them before this; tokens == 0: ask again then

    def usable(self, now: float) -> bool:
        return self.tokens > 0 and self.granted_at <= now < self.valid_until


@dataclass(slots=True)
class _Grant:
    at_us: int
    lease_id: int
    tokens: int


class GlobalRateLimiterLogic:
    def __init__(self, settings: RateLimitSettings | None = None) -> None:
        self.settings = settings or RateLimitSettings()
        self.rate = self.settings.global_rate
        self._validity_us = to_us(self.settings.lease_validity_seconds)
        self._window_us = _US + self._validity_us
        self._grants: deque[_Grant] = deque()
        self._by_id: dict[int, _Grant] = {}
        self._in_window = 0
        self._next_id = 0
        self.paused_until = float("-inf")
        self._chat_paused: dict[int, float] = {}

    def _expire(self, t_us: int) -> None:
        while self._grants and self._grants[0].at_us <= t_us - self._window_us:
            g = self._grants.popleft()
            self._in_window -= g.tokens
            self._by_id.pop(g.lease_id, None)

    def available(self, now: float) -> int:
        """Tokens a lease could get at `now`."""
        if now < self.paused_until:
            return 0
        self._expire(to_us(now))
        return self.rate - self._in_window

    def next_available_at(self, now: float) -> float:
        """The earliest time a lease can get a token (now if it can now)."""
        if now < self.paused_until:
            return self.paused_until
        t_us = to_us(now)
        self._expire(t_us)
        if self._in_window < self.rate:
            return now
        return (self._grants[0].at_us + self._window_us) / _US

    def lease(self, sender_id: str, n: int, now: float) -> Lease:
        """Up to `n` tokens (at most ``max_lease_tokens``) usable until ``valid_until``."""
        self._next_id += 1
        lease_id = self._next_id
        grant = min(n, self.settings.max_lease_tokens, self.available(now))
        if grant <= 0:
            return Lease(lease_id, sender_id, 0, now, self.next_available_at(now))
        t_us = to_us(now)
        if self._grants and self._grants[-1].at_us > t_us:
            raise ValueError("time went backwards")
        g = _Grant(t_us, lease_id, grant)
        self._grants.append(g)
        self._by_id[lease_id] = g
        self._in_window += grant
        return Lease(lease_id, sender_id, grant, now, (t_us + self._validity_us) / _US)

    def release(self, lease: Lease, unused: int) -> None:
        """Give back tokens of `lease` that were not (and will not be) used."""
        g = self._by_id.get(lease.lease_id)
        if g is None:
            return
        back = max(0, min(unused, g.tokens))
        g.tokens -= back
        self._in_window -= back

    def report_429(
        self,
        retry_after: float,
        scope: Literal["global", "chat"],
        chat_id: int | None,
        now: float,
    ) -> None:
        until = now + max(0.0, retry_after)
        if scope == "global":
            self.paused_until = max(self.paused_until, until)
        else:
            if chat_id is None:
                raise ValueError("a chat-scoped 429 needs the chat id")
            self._chat_paused[chat_id] = max(self._chat_paused.get(chat_id, until), until)

    def chat_paused_until(self, chat_id: int, now: float) -> float | None:
        until = self._chat_paused.get(chat_id)
        if until is None:
            return None
        if until <= now:
            del self._chat_paused[chat_id]
            return None
        return until


class ChatPacer:
    """Per-chat pacing inside one sender: 1 message/s per private chat, 20/min per group."""

    def __init__(self, settings: RateLimitSettings | None = None) -> None:
        self.settings = settings or RateLimitSettings()
        self._interval_us = to_us(self.settings.private_chat_interval_seconds)
        self._group_limit = self.settings.group_per_minute
        self._last: dict[int, int] = {}  # private chat -> last send (us)
        self._group: dict[int, deque[int]] = {}  # group -> its last sends (us)
        self._paused: dict[int, int] = {}

    def _next_us(self, chat_id: int) -> int:
        at = self._paused.get(chat_id, 0)
        if chat_id < 0:
            sends = self._group.get(chat_id)
            if sends is not None and len(sends) >= self._group_limit:
                at = max(at, sends[-self._group_limit] + 60 * _US)
        elif (last := self._last.get(chat_id)) is not None:
            at = max(at, last + self._interval_us)
        return at

    def next_allowed(self, chat_id: int, now: float) -> float:
        return max(now, self._next_us(chat_id) / _US)

    def try_send(self, chat_id: int, now: float) -> bool:
        """Record a send to `chat_id` at `now` if its limits allow one."""
        t_us = to_us(now)
        if t_us < self._next_us(chat_id):
            return False
        if chat_id < 0:
            sends = self._group.setdefault(chat_id, deque(maxlen=self._group_limit))
            sends.append(t_us)
        else:
            self._last[chat_id] = t_us
        return True

    def pause(self, chat_id: int, until: float) -> None:
        self._paused[chat_id] = max(self._paused.get(chat_id, 0), to_us(until))

    def prune(self, now: float) -> int:
        """Forget chats that no longer constrain anything; returns how many were forgotten."""
        t_us = to_us(now)
        gone = [c for c, at in self._last.items() if at + self._interval_us <= t_us]
        gone += [c for c, s in self._group.items() if s[-1] + 60 * _US <= t_us]
        for c in gone:
            self._last.pop(c, None)
            self._group.pop(c, None)
        paused = [c for c, at in self._paused.items() if at <= t_us]
        for c in paused:
            del self._paused[c]
        return len(gone)
