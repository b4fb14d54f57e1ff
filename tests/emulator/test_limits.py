"""The rate limiter alone, on an injected clock: no sleeping."""

from __future__ import annotations

from emulator.limits import RateLimiter, Scope
from tests.emulator.conftest import ManualClock


def test_31st_message_in_one_second_is_refused_globally(manual_clock: ManualClock) -> None:
    limiter = RateLimiter("telegram", manual_clock)
    for chat in range(30):
        assert limiter.check_and_count(1, 1000 + chat) is None
    refusal = limiter.check_and_count(1, 2000)
    assert refusal is not None
    assert refusal.scope is Scope.GLOBAL
    assert refusal.retry_after == 1
    manual_clock.advance(1.0)
    assert limiter.check_and_count(1, 2000) is None


def test_private_chat_allows_a_burst_of_3_then_one_per_second(manual_clock: ManualClock) -> None:
    limiter = RateLimiter("telegram", manual_clock)
    assert all(limiter.check_and_count(1, 42) is None for _ in range(3))
    refusal = limiter.check_and_count(1, 42)
    assert refusal is not None
    assert (refusal.scope, refusal.retry_after) == (Scope.CHAT, 1)
    manual_clock.advance(1.0)
    assert limiter.check_and_count(1, 42) is None
    assert limiter.check_and_count(1, 42) is not None
    assert limiter.check_and_count(1, 43) is None  # another chat is not affected


def test_group_allows_20_per_minute(manual_clock: ManualClock) -> None:
    limiter = RateLimiter("telegram", manual_clock)
    for _ in range(20):
        assert limiter.check_and_count(1, -100) is None
        manual_clock.advance(0.5)
    refusal = limiter.check_and_count(1, -100)
    assert refusal is not None
    assert refusal.scope is Scope.GROUP
    assert refusal.retry_after == 50  # the first message leaves the window at t=60
    manual_clock.advance(50)
    assert limiter.check_and_count(1, -100) is None


def test_refused_sends_are_not_counted(manual_clock: ManualClock) -> None:
    limiter = RateLimiter("telegram", manual_clock)
    for _ in range(3):
        limiter.check_and_count(1, 42)
    for _ in range(10):
        assert limiter.check_and_count(1, 42) is not None
    manual_clock.advance(1.0)
    assert limiter.check_and_count(1, 42) is None


def test_limits_are_per_bot(manual_clock: ManualClock) -> None:
    limiter = RateLimiter("telegram", manual_clock)
    for chat in range(30):
        limiter.check_and_count(1, chat + 1)
    assert limiter.check_and_count(1, 99) is not None
    assert limiter.check_and_count(2, 99) is None


def test_off_mode_never_refuses(manual_clock: ManualClock) -> None:
    limiter = RateLimiter("off", manual_clock)
    assert all(limiter.check_and_count(1, 42) is None for _ in range(1000))


def test_paid_mode_allows_1000_per_second_only_with_the_flag(manual_clock: ManualClock) -> None:
    limiter = RateLimiter("paid", manual_clock)
    for chat in range(1000):
        assert limiter.check_and_count(1, chat + 1, paid=True) is None
    assert limiter.check_and_count(1, 5000, paid=True) is not None
    manual_clock.advance(1.0)
    for chat in range(30):
        assert limiter.check_and_count(1, chat + 1) is None
    refusal = limiter.check_and_count(1, 5000)  # without the flag 30/s still applies
    assert refusal is not None
    assert refusal.scope is Scope.GLOBAL


def test_the_paid_flag_means_nothing_in_telegram_mode(manual_clock: ManualClock) -> None:
    limiter = RateLimiter("telegram", manual_clock)
    for chat in range(30):
        limiter.check_and_count(1, chat + 1, paid=True)
    assert limiter.check_and_count(1, 99, paid=True) is not None
