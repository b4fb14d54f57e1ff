"""The write window: requests counted as they reach Telegram, so a late one cannot crowd a second.

Times are a hand-moved clock; `opens` is the rule, `enter` counts a write when there is room."""

from __future__ import annotations

from messaging.transport.write_window import Write, WriteWindow

SPAN = 1.03  # one second plus the limiter's 30 ms tolerance


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def _write(window: WriteWindow, clock: Clock, at: float, round_trip: float | None) -> Write:
    clock.t = at
    write = await window.enter()  # room in the window: no wait, so no sleep on the fake clock
    if round_trip is not None:
        clock.t = at + round_trip
        write.done()
    return write


async def test_writes_pass_at_once_until_the_rate_is_reached() -> None:
    clock = Clock()
    window = WriteWindow(clock)
    window.configure(3, SPAN)
    for k in range(3):
        assert window.opens(100.0 + k * 0.1) == 100.0 + k * 0.1
        await _write(window, clock, 100.0 + k * 0.1, 0.002)
    assert window.held == 0


async def test_on_time_requests_cost_nothing_beyond_the_span() -> None:
    """Every request answered in the shortest round trip: the oldest arrived when it was
    written, so the next write may go exactly one span after it."""
    clock = Clock()
    window = WriteWindow(clock)
    window.configure(3, SPAN)
    for k in range(3):
        await _write(window, clock, 100.0 + k * 0.1, 0.002)
    assert window.opens(100.3) == 100.0 + SPAN


async def test_a_request_that_stalled_on_its_way_moves_the_window_by_the_stall() -> None:
    """The oldest request took 50 ms where 2 ms is usual: it may have reached Telegram up to
    48 ms late, and the write that would share its second waits that much longer."""
    clock = Clock()
    window = WriteWindow(clock)
    window.configure(3, SPAN)
    await _write(window, clock, 100.0, 0.050)
    await _write(window, clock, 100.1, 0.002)
    await _write(window, clock, 100.2, 0.002)
    assert abs(window.opens(100.3) - (100.0 + 0.048 + SPAN)) < 1e-9


async def test_an_unanswered_request_may_be_arriving_now() -> None:
    clock = Clock()
    window = WriteWindow(clock)
    window.configure(2, SPAN)
    await _write(window, clock, 100.0, None)
    await _write(window, clock, 100.1, 0.002)
    assert abs(window.opens(101.5) - (101.5 - 0.002 + SPAN)) < 1e-9


async def test_only_the_latest_rate_writes_count() -> None:
    clock = Clock()
    window = WriteWindow(clock)
    window.configure(2, SPAN)
    for at in (100.0, 101.1, 102.2):
        await _write(window, clock, at, 0.001)
    assert window.opens(102.3) == 101.1 + SPAN


async def test_a_done_write_keeps_its_first_answer() -> None:
    clock = Clock()
    window = WriteWindow(clock)
    window.configure(1, SPAN)
    write = await _write(window, clock, 100.0, 0.004)
    clock.t = 105.0
    write.done()  # the session's finally after a retry path: counted once
    assert write.answered == 100.0 + 0.004
    assert len(window.round_trips) == 1
