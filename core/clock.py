"""Injectable time.

Everything that reads the time takes a `Clock`, so that a 7-day expiry runs in milliseconds in
tests (`ManualClock.advance(days=7)`). Redis never supplies the time: Lua scripts get `now`
from the caller, so Redis and Python agree with whatever clock is injected.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start

    def now(self) -> float:
        return self._now

    def set(self, when: float) -> None:
        self._now = when

    def advance(
        self, *, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> float:
        self._now += seconds + 60 * minutes + 3600 * hours + 86400 * days
        return self._now


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class OffsetClock:
    """Real time plus an offset that can be moved forward: the demo's "eight days later"."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, *, seconds: float = 0, hours: float = 0, days: float = 0) -> float:
        self.offset += seconds + 3600 * hours + 86400 * days
        return self.now()
