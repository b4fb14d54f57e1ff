"""The send pacer keeps within Telegram's limits in every window, on a manual monotonic clock."""

from __future__ import annotations

from messaging.transport.pacing import Pacer, PacerLimits, TokenBucket


class Mono:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _send_times(pacer: Pacer, clock: Mono, chats: list[int]) -> list[float]:
    """Each send goes out at now + its reserved wait; reservations are made back to back."""
    return [clock.t + pacer.reserve(c) for c in chats]


def test_a_bucket_allows_its_burst_then_one_per_interval() -> None:
    b = TokenBucket(rate=1.0, burst=3, now=0.0)
    assert [b.reserve(0.0) for _ in range(5)] == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_a_private_chat_never_gets_more_than_its_burst_plus_one_a_second() -> None:
    clock = Mono()
    pacer = Pacer(PacerLimits(), monotonic=clock)
    times = _send_times(pacer, clock, [7] * 20)
    for start in times:
        in_window = [t for t in times if start <= t < start + 1.0]
        assert len(in_window) <= 2


def test_groups_get_at_most_twenty_a_minute() -> None:
    clock = Mono()
    pacer = Pacer(PacerLimits(), monotonic=clock)
    times = _send_times(pacer, clock, [-100] * 60)
    for start in times:
        assert len([t for t in times if start <= t < start + 60.0]) <= 20


def test_the_whole_bot_stays_under_thirty_a_second_across_chats() -> None:
    clock = Mono()
    pacer = Pacer(PacerLimits(), monotonic=clock)
    times = _send_times(pacer, clock, list(range(1, 301)))
    for start in times:
        assert len([t for t in times if start <= t < start + 1.0]) <= 30
    # …and uses what it may: 300 sends to different chats take about 10 s.
    assert 9.5 < max(times) - min(times) < 10.5
