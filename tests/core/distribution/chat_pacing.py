"""A model of the per-chat pacing inside one sender, for the limiter's simulations: whether a
slot the `GlobalRateLimiterLogic` grants can be spent on some chat without breaking that chat's
own limit. Exact in integer microseconds, so a simulation can count windows precisely."""

from __future__ import annotations

from collections import deque

from core.distribution.rate_limit import to_us

_US = 1_000_000


class ChatPacer:
    """Per-chat pacing inside one model sender: 1 message/s per private chat, 20/min per group
    (Telegram's limits; the real senders pace with `messaging.transport.pacing.Pacer`)."""

    def __init__(self, private_interval_seconds: float = 1.0, group_per_minute: int = 20) -> None:
        self._interval_us = to_us(private_interval_seconds)
        self._group_limit = group_per_minute
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
