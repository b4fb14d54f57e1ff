"""Telegram's flood limits: 30 msg/s per bot, ~1 msg/s per private chat, 20 msg/min per group.

The limiter reads an injectable monotonic clock, so its tests need no sleeping. A send is
checked against every scope first and only counted when all of them allow it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from emulator.errors import EmulatorError

Clock = Callable[[], float]


class LimitMode(StrEnum):
    TELEGRAM = "telegram"
    OFF = "off"
    PAID = "paid"


class Scope(StrEnum):
    GLOBAL = "global"
    CHAT = "chat"
    GROUP = "group"


GLOBAL_PER_SECOND = 30
PAID_PER_SECOND = 1000
PRIVATE_RATE = 1.0  # tokens per second
PRIVATE_BURST = 3
GROUP_PER_MINUTE = 20


def parse_mode(value: str | LimitMode) -> LimitMode:
    try:
        return LimitMode(value)
    except ValueError:
        raise EmulatorError(f"unknown limits mode {value!r}: use telegram, off or paid") from None


@dataclass(frozen=True)
class Refusal:
    """A send the limiter refused: which scope, and how long to wait (whole seconds, >= 1)."""

    scope: Scope
    retry_after: int


class SlidingWindow:
    """At most `limit` events in any `window` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.events: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self.events and self.events[0] <= now - self.window:
            self.events.popleft()

    def wait_time(self, now: float, limit: int | None = None) -> float:
        """0 if one more event fits now, else the seconds until it would."""
        self._expire(now)
        limit = self.limit if limit is None else limit
        if len(self.events) < limit:
            return 0.0
        # The event that must leave the window before one more fits.
        blocking = self.events[len(self.events) - limit]
        return blocking + self.window - now

    def add(self, now: float) -> None:
        self.events.append(now)


class TokenBucket:
    """Short bursts up to `capacity`, refilled at `rate` per second."""

    def __init__(self, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = float(capacity)
        self.stamp = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def add(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


def _whole_seconds(wait: float) -> int:
    return max(1, math.ceil(wait - 1e-9))


class RateLimiter:
    """Per-bot flood control; `check_and_count` returns a Refusal or counts the send."""

    def __init__(self, mode: str | LimitMode = LimitMode.TELEGRAM, clock: Clock | None = None):
        self.mode = parse_mode(mode)
        self.clock: Clock = clock or time.monotonic
        self._global: dict[int, SlidingWindow] = {}
        self._private: dict[tuple[int, int], TokenBucket] = {}
        self._groups: dict[tuple[int, int], SlidingWindow] = {}

    def reset(self) -> None:
        self._global.clear()
        self._private.clear()
        self._groups.clear()

    def check_and_count(self, bot_id: int, chat_id: int, *, paid: bool = False) -> Refusal | None:
        """Count one outgoing message from `bot_id` to `chat_id`, unless a limit refuses it."""
        if self.mode is LimitMode.OFF:
            return None
        now = self.clock()
        paid = paid and self.mode is LimitMode.PAID
        window = self._global.setdefault(bot_id, SlidingWindow(GLOBAL_PER_SECOND, 1.0))
        wait = window.wait_time(now, PAID_PER_SECOND if paid else GLOBAL_PER_SECOND)
        if wait > 0:
            return Refusal(Scope.GLOBAL, _whole_seconds(wait))
        key = (bot_id, chat_id)
        if chat_id < 0:
            group = self._groups.setdefault(key, SlidingWindow(GROUP_PER_MINUTE, 60.0))
            if (wait := group.wait_time(now)) > 0:
                return Refusal(Scope.GROUP, _whole_seconds(wait))
            group.add(now)
        else:
            bucket = self._private.get(key)
            if bucket is None:
                bucket = self._private[key] = TokenBucket(PRIVATE_RATE, PRIVATE_BURST, now)
            if (wait := bucket.wait_time(now)) > 0:
                return Refusal(Scope.CHAT, _whole_seconds(wait))
            bucket.add(now)
        window.add(now)
        return None
