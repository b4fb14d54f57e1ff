"""Counters the control API reports under /emulator/stats."""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from emulator.limits import Scope


class Stats:
    """Method calls, 429s and 403s served, messages sent and the peak send rate."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.forbidden = 0
        self.messages_sent = 0
        self.peak_rate = 0
        self.first_sent_at: float | None = None
        self.last_sent_at: float | None = None
        self._recent: deque[float] = deque()

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def call(self, method: str) -> None:
        self.calls[method] += 1

    def refused(self, scope: Scope) -> None:
        self.throttled[scope.value] += 1

    def sent(self, now: float) -> None:
        """One message delivered to a chat at monotonic time `now`."""
        self.messages_sent += 1
        if self.first_sent_at is None:
            self.first_sent_at = now
        self.last_sent_at = now
        self._recent.append(now)
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        self.peak_rate = max(self.peak_rate, len(self._recent))

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "too_many_requests": {
                "total": sum(self.throttled.values()),
                **{scope.value: self.throttled[scope.value] for scope in Scope},
            },
            "forbidden": self.forbidden,
            "messages_sent": self.messages_sent,
            "peak_send_rate": self.peak_rate,
            # Monotonic seconds of the first and last message sent: the mean send rate.
            "first_sent_at": self.first_sent_at,
            "last_sent_at": self.last_sent_at,
        }
