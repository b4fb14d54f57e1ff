"""A 429 in a group is taken for the group's own limit when this process sent there twice within
the minute (Telegram counts groups per minute, and the bot's replies and the pushes both send
there), not for the bot-wide one, which would pause every sender; private chats keep the
one-second test."""

from __future__ import annotations

from messaging.transport.pacing import Pacer, PacerLimits


class Mono:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_two_sends_to_a_group_within_a_minute_make_it_busy() -> None:
    """Group sends paced seconds apart still count as the group being busy for a minute."""
    clock = Mono()
    pacer = Pacer(PacerLimits(), monotonic=clock)
    pacer.reserve(-1001)
    clock.t += 30
    pacer.reserve(-1001)
    assert pacer.busy(-1001)
    pacer.reserve("@channel")
    clock.t += 45
    pacer.reserve("@channel")
    assert pacer.busy("@channel")


def test_sends_further_apart_and_private_chats_are_judged_as_before() -> None:
    """A group sent to 90 s apart is not busy; a private chat needs two sends in a second."""
    clock = Mono()
    pacer = Pacer(PacerLimits(), monotonic=clock)
    for chat in (-1002, 7):
        pacer.reserve(chat)
    clock.t += 90
    for chat in (-1002, 7):
        pacer.reserve(chat)
    assert not pacer.busy(-1002) and not pacer.busy(7)
    pacer.reserve(7)
    assert pacer.busy(7)
    assert not pacer.busy(-1003)  # never sent to
