"""Telegram's sending limits as exact, deterministic logic (no clock reads, no I/O).

`GlobalRateLimiterLogic` (wrapped by the GlobalRateLimiter actor) hands senders tokens in
batches, each token a *time slot*: the slots of the whole system are spaced ``s = (1 + v) / R``
apart (``R`` the rate, ``v`` = ``lease_validity_seconds``), and a token may be used only in
``[slot, slot + v)``. A lease is up to ``n`` consecutive slots starting at the next free one, no
further ahead than ``lease_horizon_seconds``; a sender uses token ``k`` at
``granted_at + k * interval``. Why slots and not a sliding window of counts:

* **No 1-second window ever holds more than R sends**, even as Telegram sees them: a window of
  one second at the server holds sends whose slots lie in an interval of ``1 + jitter``, and any
  half-open interval of length ``1 + v`` holds at most ``R`` slots. So the bound survives a
  delay between taking a token and the request reaching Telegram that varies by up to ``v``.
* Sends are *smooth*. A window-of-counts limiter grants a whole second's budget at once; thirty
  requests then queue at the server, their arrival times spread by tens of milliseconds, and a
  window boundary catches the spread as a 429. Slots never bunch.
* The price is the same as the window's: a saturated limiter grants ``R / (1 + v)`` per second
  (97.1% of R at the default 30 ms), and there are no bursts above that rate.

Times are integer microseconds, so the bound is exact. Unused trailing slots of the latest
lease can be given back (`release`); a global 429 moves the next free slot past ``retry_after``.

Per-chat limits (1 message/s to a private chat, 20 messages/min to a group, i.e. negative chat
ids) are paced by the sender that owns the chat (`messaging.transport.pacing.Pacer`); every chat
is owned by exactly one sender (its outbox partition) for these limits to hold.

A 429 with ``retry_after`` pauses everything (scope "global": no slots until it passes); one
with scope "chat" is waited out by the chat's sender alone.
"""

from __future__ import annotations

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
    granted_at: float  # the first token's slot (tokens == 0: when the limiter was asked)
    valid_until: float  # tokens > 0: the last token's slot + v; tokens == 0: ask again then
    interval: float = 0.0  # between consecutive tokens' slots
    validity: float = 0.0  # how long after its slot a token may still be used
    issued_at: float = 0.0  # the limiter's time when it granted the lease

    def slot(self, k: int) -> float:
        """When token `k` (0-based) may be used; until ``slot(k) + validity``."""
        return self.granted_at + k * self.interval

    def usable(self, now: float) -> bool:
        """Some token of the lease may be used at `now`."""
        return self.tokens > 0 and self.granted_at <= now < self.valid_until


class GlobalRateLimiterLogic:
    def __init__(self, settings: RateLimitSettings | None = None) -> None:
        self.settings = settings or RateLimitSettings()
        self.rate = self.settings.global_rate
        self._validity_us = to_us(self.settings.lease_validity_seconds)
        self._spacing_us = -(-(_US + self._validity_us) // self.rate)  # ceil: never closer
        self._horizon_us = max(self._spacing_us, to_us(self.settings.lease_horizon_seconds))
        self._next_us = 0  # the next free slot
        self._last_lease: tuple[int, int, int] | None = None  # (id, first slot, tokens)
        self._next_id = 0
        self._callback_at = float("-inf")
        self.paused_until = float("-inf")

    @property
    def spacing(self) -> float:
        return self._spacing_us / _US

    @property
    def next_slot_us(self) -> int:
        """The first slot not yet handed out: with `paused_until`, what a restart must keep."""
        return self._next_us

    def restore(self, next_slot_us: int, paused_until: float) -> None:
        """Take back what a previous life granted (never moving either backwards)."""
        self._next_us = max(self._next_us, next_slot_us)
        self.paused_until = max(self.paused_until, paused_until)

    def _first_free(self, t_us: int) -> int:
        return max(t_us, self._next_us, to_us(self.paused_until) if self.paused_until > 0 else 0)

    def available(self, now: float) -> int:
        """Tokens a lease could get at `now` (within the horizon)."""
        t_us = to_us(now)
        first = self._first_free(t_us)
        if first >= t_us + self._horizon_us:
            return 0
        return (t_us + self._horizon_us - first - 1) // self._spacing_us + 1

    def available_at(self, now: float, tokens: int = 1) -> float:
        """The earliest time a lease can get `tokens` slots (now if it can now)."""
        t_us = to_us(now)
        first = self._first_free(t_us)
        at = first - self._horizon_us + 1 + (tokens - 1) * self._spacing_us
        return max(now, at / _US)

    def next_available_at(self, now: float) -> float:
        """The earliest time a lease can get a token (now if it can now)."""
        return self.available_at(now, 1)

    def lease(self, sender_id: str, n: int, now: float) -> Lease:
        """Up to `n` consecutive slots (at most ``max_lease_tokens``), the first at or after
        `now`, none beyond the horizon.

        Under contention a lease is not split into crumbs: one that cannot get half the
        horizon's slots (or `n`, if fewer) gets none and is told when it can, so senders make
        one call per batch even when several compete."""
        self._next_id += 1
        lease_id = self._next_id
        per_horizon = max(1, self._horizon_us // self._spacing_us)
        want = max(1, min(n, self.settings.max_lease_tokens))
        least = max(1, min(want, per_horizon // 2))
        grant = min(want, self.available(now))
        if grant < least:
            # Callers told to come back are spread out, one batch apart, so that they do not
            # all return at the same instant to find one batch for one of them.
            at = max(self.available_at(now, least), self._callback_at)
            self._callback_at = at + least * self._spacing_us / _US
            return Lease(lease_id, sender_id, 0, now, at, issued_at=now)
        first = self._first_free(to_us(now))
        self._next_us = first + grant * self._spacing_us
        self._last_lease = (lease_id, first, grant)
        last = first + (grant - 1) * self._spacing_us
        return Lease(
            lease_id,
            sender_id,
            grant,
            first / _US,
            (last + self._validity_us) / _US,
            self._spacing_us / _US,
            self._validity_us / _US,
            now,
        )

    def release(self, lease: Lease, unused: int) -> None:
        """Give back the last `unused` tokens of `lease`, once. Only the latest lease's slots
        can be reused; slots already past are of no use to anyone (a lease begins at `now`)."""
        if self._last_lease is None or self._last_lease[0] != lease.lease_id:
            return
        _, first, tokens = self._last_lease
        back = max(0, min(unused, tokens))
        self._next_us = min(self._next_us, first + (tokens - back) * self._spacing_us)
        self._last_lease = None

    def report_429(
        self,
        retry_after: float,
        scope: Literal["global", "chat"],
        chat_id: int | None,
        now: float,
    ) -> None:
        """A global 429 stops every slot until it passes. A chat's 429 is waited out by the
        sender that owns the chat (its `messaging.transport.pacing.Pacer`); it stops no one else,
        so the limiter only checks that it names the chat."""
        if scope == "global":
            self.paused_until = max(self.paused_until, now + max(0.0, retry_after))
        elif chat_id is None:
            raise ValueError("a chat-scoped 429 needs the chat id")
