"""Quiet times: Do Not Disturb and active hours, the one rule every caller asks."""

from __future__ import annotations

from datetime import UTC, datetime

from core.distribution.quiet import QuietTimes
from core.models import Preferences

# 2026-06-01 10:00 UTC (13:00 in Europe/Moscow, UTC+3 all year)
T = datetime(2026, 6, 1, 10, tzinfo=UTC).timestamp()


def test_dnd_holds_everything_but_a_high_alert_of_a_user_who_lets_it_pierce() -> None:
    q = QuietTimes(dnd_until=T + 60, pierce=False)
    assert q.reason(T, high=True) == "dnd"
    assert QuietTimes(dnd_until=T + 60, pierce=True).reason(T, high=True) is None
    assert QuietTimes(dnd_until=T + 60, pierce=True).reason(T, high=False) == "dnd"
    assert q.reason(T + 60, high=False) is None, "DND ends at dnd_until"


def test_active_hours_are_the_users_own_and_nothing_pierces_them() -> None:
    # 14:00-18:00 in Moscow: 13:00 there is outside, 14:00 (11:00 UTC) inside.
    q = QuietTimes(pierce=True, active_hours=(14, 18), timezone="Europe/Moscow")
    assert q.reason(T, high=True) == "active_hours"
    assert q.reason(T + 3600, high=False) is None
    assert q.opens_at(T, pierce=True) == T + 3600


def test_the_window_opens_after_dnd_and_inside_active_hours() -> None:
    q = QuietTimes(dnd_until=T + 7200, active_hours=(14, 18), timezone="Europe/Moscow")
    assert q.opens_at(T, pierce=False) == T + 7200  # 15:00 Moscow: DND over, inside hours
    assert q.opens_at(T, pierce=True) == T + 3600  # a piercing alert waits for 14:00 only


def test_preferences_and_the_queue_read_the_same_rule() -> None:
    prefs = Preferences(dnd_until=T + 1, high_priority_pierces_dnd=True)
    assert prefs.in_dnd(T) and not prefs.in_dnd(T + 1)
    assert QuietTimes.of(prefs) == QuietTimes(dnd_until=T + 1, pierce=True)
