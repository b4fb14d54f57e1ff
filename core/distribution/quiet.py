"""Quiet times, decided in one place: Do Not Disturb and active hours.

A user is quiet while Do Not Disturb runs (until `dnd_until`) or outside their active hours in
their own time zone. A HIGH alert pierces Do Not Disturb for users who asked for it
(`high_priority_pierces_dnd`), never active hours. Eligibility (`/opportunities`, and pushes
when the queue does not wait quiet times out), the user's queue (hold, then release when the
window opens) and the settings screens all ask this module; `core.distribution.columns` is the
same rule vectorised over a shard, checked against `eligibility.explain` by its tests, and
``push_release.lua`` reads `dnd_until` again in Redis at release, in the same step that takes
the quota (a DND set while an alert waited must hold it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from core.distribution.timezones import in_active_hours, next_active_start

if TYPE_CHECKING:
    from core.models import Preferences

QuietReason = Literal["dnd", "active_hours"]


def in_dnd(dnd_until: float | None, now: float) -> bool:
    """Whether Do Not Disturb runs at `now`."""
    return dnd_until is not None and now < dnd_until


@dataclass(frozen=True, slots=True)
class QuietTimes:
    dnd_until: float | None = None
    pierce: bool = False  # HIGH alerts pierce Do Not Disturb (not active hours)
    active_hours: tuple[int, int] = (0, 24)
    timezone: str = "UTC"

    @classmethod
    def of(cls, prefs: Preferences) -> QuietTimes:
        return cls(
            prefs.dnd_until, prefs.high_priority_pierces_dnd, prefs.active_hours, prefs.timezone
        )

    def in_dnd(self, now: float) -> bool:
        return in_dnd(self.dnd_until, now)

    def reason(self, now: float, *, high: bool) -> QuietReason | None:
        """Why an alert (HIGH or not) must wait at `now`, or None if it may go."""
        if self.in_dnd(now) and not (high and self.pierce):
            return "dnd"
        if not in_active_hours(self.active_hours, self.timezone, now):
            return "active_hours"
        return None

    def opens_at(self, t: float, *, pierce: bool) -> float:
        """The first instant >= t at which an alert may go (`pierce`: it ignores DND)."""
        if not pierce and self.dnd_until is not None and t < self.dnd_until:
            t = self.dnd_until
        return next_active_start(self.active_hours, self.timezone, t)
