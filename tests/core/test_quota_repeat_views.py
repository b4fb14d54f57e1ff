"""Fair quota (issue 15): /opportunities charges an opportunity once per repeat window, on real
Redis; a repeat view is free, new ones are charged as far as the caps allow, a refused view
charges nothing, and after the window the same opportunity costs again."""

from __future__ import annotations

import asyncio

from core.clock import ManualClock
from core.distribution.caps import Caps
from core.services import Services

WINDOW_S = 600.0


async def test_five_views_in_a_row_of_the_same_list_charge_once(
    services: Services, clock: ManualClock
) -> None:
    """The issue's case: the same 4 opportunities asked for 5 times cost 4, not 20."""
    ids = ["a", "b", "c", "d"]
    caps = Caps(daily=50, hourly=10)
    views = [await services.quota.take_views(1, ids, caps, clock.now(), WINDOW_S) for _ in range(5)]
    assert all(v.shown == tuple(ids) for v in views)
    assert [v.grant.granted for v in views] == [4, 0, 0, 0, 0]
    assert views[0].free == frozenset() and all(v.free == frozenset(ids) for v in views[1:])
    assert await services.quota.used(1, clock.now()) == (4, 4)
    assert views[-1].grant.left == (46, 6)


async def test_only_new_opportunities_are_charged_and_the_caps_bound_them(
    services: Services, clock: ManualClock
) -> None:
    """Seen ones are shown free even when the cap is reached; new ones take what is left, in
    the asked order; when nothing can be shown, nothing is charged."""
    caps = Caps(daily=5, hourly=3)
    first = await services.quota.take_views(1, ["a", "b"], caps, clock.now(), WINDOW_S)
    assert first.shown == ("a", "b") and first.grant.granted == 2
    second = await services.quota.take_views(1, ["x", "a", "y", "b"], caps, clock.now(), WINDOW_S)
    assert second.shown == ("x", "a", "b")  # y is beyond the hourly cap of 3
    assert second.free == {"a", "b"} and second.grant.granted == 1
    refused = await services.quota.take_views(1, ["y", "z"], caps, clock.now(), WINDOW_S)
    assert refused.refused and refused.grant.granted == 0
    assert await services.quota.used(1, clock.now()) == (3, 3)


async def test_the_repeat_window_expires_and_then_charges_again(
    services: Services, clock: ManualClock
) -> None:
    """A view exactly at the window's end is charged again; just before, it is free. The
    window runs from the charge, so free repeat views do not extend it."""
    caps = Caps(daily=0, hourly=0)
    start = clock.now()
    await services.quota.take_views(1, ["a"], caps, start, WINDOW_S)
    again = await services.quota.take_views(1, ["a"], caps, start + WINDOW_S - 1, WINDOW_S)
    assert again.grant.granted == 0 and again.free == {"a"}
    expired = await services.quota.take_views(1, ["a"], caps, start + WINDOW_S, WINDOW_S)
    assert expired.grant.granted == 1 and expired.free == frozenset()
    (day, _) = await services.quota.used(1, start + WINDOW_S)
    assert day == 2
    # Over a day of views every 4 minutes, each opportunity is charged once per window.
    t, charged = start + WINDOW_S, 0
    for _ in range(360):
        t += 240
        charged += (await services.quota.take_views(1, ["a"], caps, t, WINDOW_S)).grant.granted
    # An independent count: a charge at c frees views until c + WINDOW_S; with a 240 s step
    # the next charge is the first view at or past c + 600, i.e. every third view.
    assert charged == 360 // 3


async def test_concurrent_views_charge_each_opportunity_once(
    services: Services, clock: ManualClock
) -> None:
    caps = Caps(daily=0, hourly=0)
    views = await asyncio.gather(
        *(services.quota.take_views(1, ["a", "b"], caps, clock.now(), WINDOW_S) for _ in range(20))
    )
    assert sum(v.grant.granted for v in views) == 2
    assert all(v.shown == ("a", "b") for v in views)
