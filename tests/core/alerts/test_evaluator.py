"""The in-bot alert rules, judged on hand-made figures with a manual clock (no Redis, no Ray):
a threshold trips an alert once, a repeat waits `alert_repeat_seconds`, a mute silences its kind
until it ends, `for_seconds` holds back the no-opportunities alert, and an unread figure trips
nothing."""

from __future__ import annotations

from core.alerts.evaluator import Alert, AlertEvaluator
from core.alerts.rules import AlertKind, per_minute_429
from core.clock import ManualClock
from core.metrics.figures import OpsFigures
from core.ops_settings import OpsSettings

SETTINGS = OpsSettings(
    alert_repeat_seconds=600,
    alert_sink_lag_entries=100,
    alert_429_per_minute=5,
    alert_dead_letters=3,
    alert_no_opportunities_seconds=300,
)


def calm(clock: ManualClock, **changes: object) -> OpsFigures:
    """Figures with every threshold far away, as at `clock`'s time."""
    f = OpsFigures(
        at=clock.now(),
        send_limit_per_second=30,
        dead_letters={"a:dead": 0},
        sink_lag_entries=0,
        opportunities_live=4,
        telegram_429={"global": 0, "chat": 0},
    )
    for k, v in changes.items():
        setattr(f, k, v)
    return f


def kinds(alerts: list[Alert]) -> list[AlertKind]:
    return [a.kind for a in alerts]


def test_a_crossed_threshold_alerts_once_then_waits_for_the_repeat_period() -> None:
    clock = ManualClock()
    ev = AlertEvaluator(SETTINGS, clock)
    assert ev.check(calm(clock), {}) == []
    first = ev.check(calm(clock, sink_lag_entries=101), {})
    assert kinds(first) == [AlertKind.SINK_LAG]
    assert (first[0].value, first[0].threshold) == (101, 100)
    clock.advance(seconds=599)
    assert ev.check(calm(clock, sink_lag_entries=5000), {}) == []  # still tripped: rate-limited
    clock.advance(seconds=1)
    assert kinds(ev.check(calm(clock, sink_lag_entries=5000), {})) == [AlertKind.SINK_LAG]


def test_the_threshold_itself_does_not_trip_lag_but_does_trip_dead_letters() -> None:
    clock = ManualClock()
    ev = AlertEvaluator(SETTINGS, clock)
    assert ev.check(calm(clock, sink_lag_entries=100, dead_letters={"x": 2}), {}) == []
    assert kinds(ev.check(calm(clock, dead_letters={"x": 2, "y": 1}), {})) == [
        AlertKind.DEAD_LETTERS
    ]


def test_a_flapping_figure_is_still_sent_once_per_period() -> None:
    clock = ManualClock()
    ev = AlertEvaluator(SETTINGS, clock)
    sent = 0
    for _ in range(10):  # tripped, calm, tripped... every minute
        sent += len(ev.check(calm(clock, dead_letters={"x": 9}), {}))
        clock.advance(seconds=30)
        sent += len(ev.check(calm(clock), {}))
        clock.advance(seconds=30)
    assert sent == 1


def test_a_mute_silences_its_kind_only_until_it_ends() -> None:
    clock = ManualClock()
    ev = AlertEvaluator(SETTINGS, clock)
    tripped = calm(clock, dead_letters={"x": 3}, sink_lag_entries=1000)
    mutes = {AlertKind.DEAD_LETTERS.value: clock.now() + 3600}
    assert kinds(ev.check(tripped, mutes)) == [AlertKind.SINK_LAG]  # the other kind still comes
    clock.advance(seconds=3599)
    assert ev.check(calm(clock, dead_letters={"x": 3}), mutes) == []
    clock.advance(seconds=1)  # the mute has ended
    assert kinds(ev.check(calm(clock, dead_letters={"x": 3}), mutes)) == [AlertKind.DEAD_LETTERS]


def test_no_opportunities_alerts_only_once_none_was_live_for_the_whole_period() -> None:
    clock = ManualClock()
    ev = AlertEvaluator(SETTINGS, clock)
    assert ev.check(calm(clock, opportunities_live=0), {}) == []
    clock.advance(seconds=299)
    assert ev.check(calm(clock, opportunities_live=0), {}) == []
    clock.advance(seconds=1)
    alerts = ev.check(calm(clock, opportunities_live=0), {})
    assert kinds(alerts) == [AlertKind.NO_OPPORTUNITIES]
    assert alerts[0].since == clock.now() - 300
    # One live opportunity starts the period again.
    ev2 = AlertEvaluator(SETTINGS, clock)
    ev2.check(calm(clock, opportunities_live=0), {})
    clock.advance(seconds=200)
    ev2.check(calm(clock, opportunities_live=1), {})
    clock.advance(seconds=200)
    assert ev2.check(calm(clock, opportunities_live=0), {}) == []


def test_the_429_rate_is_per_minute_between_checks_and_survives_a_limiter_restart() -> None:
    clock = ManualClock()
    ev = AlertEvaluator(SETTINGS, clock)
    assert ev.check(calm(clock, telegram_429={"global": 10, "chat": 0}), {}) == []  # no rate yet
    clock.advance(seconds=30)
    # 2 more in 30 s: 4 a minute, under 5.
    assert ev.check(calm(clock, telegram_429={"global": 11, "chat": 1}), {}) == []
    clock.advance(seconds=30)
    alerts = ev.check(calm(clock, telegram_429={"global": 11, "chat": 4}), {})  # 6 a minute
    assert kinds(alerts) == [AlertKind.TELEGRAM_429] and alerts[0].value == 6
    before = calm(clock, telegram_429={"global": 50, "chat": 0})
    clock.advance(seconds=60)
    restarted = calm(clock, telegram_429={"global": 7, "chat": 0})  # fell: counts from 0
    assert per_minute_429(restarted, before) == 7


def test_a_figure_that_could_not_be_read_trips_nothing() -> None:
    clock = ManualClock()
    ev = AlertEvaluator(SETTINGS, clock)
    unread = OpsFigures(at=clock.now(), send_limit_per_second=30, failed=["sink"])
    for _ in range(2):
        assert ev.check(unread, {}) == []
        clock.advance(seconds=3600)
