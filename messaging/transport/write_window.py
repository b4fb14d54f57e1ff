"""This process's last second of writes to Telegram, as Telegram may have seen them.

The GlobalRateLimiter's slots keep sends apart as long as each request reaches Telegram within
its slot's tolerance. Two things break that on a busy machine: work between the token and the
write (the outbox's sending mark, a Redis round trip), and a stall between the write and the
request's arrival (the process descheduled, a connection opened). Either way one request lands
late and shares a second of Telegram's window with requests that left on time, and Telegram
answers 429.

So every paced request passes a `WriteWindow` right before it is written, and the window holds it
until the `rate`-th request back has, by the best estimate, *arrived* more than `span` seconds
ago. A request arrived after it was written and before its answer came back; the answer's
return trip is at least the shortest round trip seen lately. So a request's arrival is estimated
as ``max(written, answered - shortest round trip)``: on time when nothing stalled (no cost to
throughput), and as late as the stall when one did (the headroom adapts to what happened). A
request not answered yet may be arriving now.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

Monotonic = Callable[[], float]


class Write:
    """One request's passage: when it was let through, and when its answer came back."""

    __slots__ = ("_window", "answered", "written")

    def __init__(self, window: WriteWindow, written: float) -> None:
        self._window = window
        self.written = written
        self.answered: float | None = None

    def done(self) -> None:
        """The answer (or the error) came back: the request has surely arrived."""
        if self.answered is None:
            self.answered = self._window.monotonic()
            self._window.round_trips.append(self.answered - self.written)


class WriteWindow:
    def __init__(self, monotonic: Monotonic = time.monotonic) -> None:
        self.monotonic = monotonic
        self.rate = 0  # 0: no limit known yet
        self.span = 1.0
        self._writes: deque[Write] = deque()
        self.round_trips: deque[float] = deque(maxlen=64)
        self.held = 0  # writes held back because an earlier one (probably) arrived late

    def configure(self, rate: int, span: float) -> None:
        """At most `rate` arrivals in any `span` seconds (the limiter's, from its lease)."""
        self.rate, self.span = rate, span
        self._writes = deque(self._writes, maxlen=rate)

    def _arrived(self, write: Write, now: float) -> float:
        shortest = min(self.round_trips, default=0.0)
        return max(write.written, (now if write.answered is None else write.answered) - shortest)

    def opens(self, now: float) -> float:
        """When one more request may be written (at or before `now`: at once)."""
        if self.rate <= 0 or len(self._writes) < self.rate:
            return now
        return self._arrived(self._writes[0], now) + self.span

    async def enter(self) -> Write:
        """Wait until one more request fits, then count it as written now.

        The check and the count run with no await between them, so concurrent writers never
        both take the last place. While the oldest counted request is unanswered its arrival
        moves with the clock, so the wait is re-checked every `span - 1` seconds at most."""
        while True:
            now = self.monotonic()
            wait = self.opens(now) - now
            if wait <= 0:
                break
            self.held += 1
            oldest = self._writes[0]
            recheck = max(self.span - 1.0, 0.005)
            await asyncio.sleep(wait if oldest.answered is not None else min(wait, recheck))
        write = Write(self, self.monotonic())
        self._writes.append(write)
        return write
