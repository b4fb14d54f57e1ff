"""Pacing outgoing messages to Telegram's limits, before Telegram has to refuse them.

Telegram allows about 1 message/s per private chat (short bursts tolerated), 20 per minute per
group and about 30/s per bot; past them it answers 429 and, if ignored, punishes the bot. aiogram
has no outgoing limiter, so every send of a process goes through one `Pacer`.

Each bucket hands out *reservations*: a caller takes the next free slot and waits until it comes,
so waiting callers are served in order without polling.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

Monotonic = Callable[[], float]


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; a reservation may go into debt."""

    __slots__ = ("_at", "_tokens", "burst", "last_reserved", "previous_reserved", "rate")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = now
        self.last_reserved = self.previous_reserved = float("-inf")

    def reserve(self, now: float) -> float:
        """Take one token; returns how long to wait before using it (0: at once)."""
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= 1
        self.previous_reserved, self.last_reserved = self.last_reserved, now
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


GROUP_WINDOW_SECONDS = 60.0  # Telegram counts a group's messages per minute


def _is_group(chat_id: int | str) -> bool:
    """Groups, supergroups and channels: negative ids, or an ``@name``."""
    return isinstance(chat_id, str) or chat_id < 0


@dataclass(frozen=True, slots=True)
class PacerLimits:
    global_per_second: float = 29.0
    private_per_second: float = 1.0
    private_burst: float = 2.0
    group_per_minute: float = 19.0


class Pacer:
    """Reservations against the bot-wide bucket and the chat's own bucket."""

    def __init__(
        self,
        limits: PacerLimits,
        *,
        monotonic: Monotonic = time.monotonic,
        max_chats: int = 100_000,
    ) -> None:
        self.limits = limits
        self._monotonic = monotonic
        self._global = TokenBucket(limits.global_per_second, 1.0, monotonic())
        self._chats: OrderedDict[int | str, TokenBucket] = OrderedDict()
        self._max_chats = max_chats

    def _chat_bucket(self, chat_id: int | str, now: float) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            is_group = _is_group(chat_id)
            bucket = (
                TokenBucket(self.limits.group_per_minute / 60, 1.0, now)
                if is_group
                else TokenBucket(self.limits.private_per_second, self.limits.private_burst, now)
            )
            self._chats[chat_id] = bucket
            if len(self._chats) > self._max_chats:
                self._chats.popitem(last=False)
        else:
            self._chats.move_to_end(chat_id)
        return bucket

    def reserve(self, chat_id: int | str | None, *, bot_wide: bool = True) -> float:
        """Seconds to wait before sending to `chat_id` (None: a call that no chat limit covers).

        `bot_wide=False` leaves the bot-wide limit to someone else (a `LeasedTokens`)."""
        now = self._monotonic()
        wait = self._global.reserve(now) if bot_wide else 0.0
        if chat_id is not None:
            wait = max(wait, self._chat_bucket(chat_id, now).reserve(now))
        return wait

    def busy(self, chat_id: int | str, within: float = 1.0) -> bool:
        """Whether the send before the latest one to `chat_id` was reserved within `within`
        seconds of it: the chat saw two sends in that time. A group's limit is per minute (and
        shared with every other process sending there), and its sends are paced seconds apart:
        two within a minute already make a 429 there likely the group's own."""
        if _is_group(chat_id):
            within = max(within, GROUP_WINDOW_SECONDS)
        bucket = self._chats.get(chat_id)
        return bucket is not None and bucket.last_reserved - bucket.previous_reserved < within
