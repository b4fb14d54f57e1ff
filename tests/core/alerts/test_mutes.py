"""Mutes of alert kinds on real Redis: a mute lasts its seconds by the injected clock, a later
mute replaces an earlier one, and the key is cleaned up by a TTL no shorter than the mute."""

from __future__ import annotations

from typing import Any

from core.alerts.mutes import AlertMutes
from core.alerts.rules import AlertKind
from core.clock import ManualClock
from core.store.keys import ops_alert_mute


async def test_a_mute_lasts_its_seconds_by_the_clock(redis: Any, clock: ManualClock) -> None:
    mutes = AlertMutes(redis, clock)
    assert await mutes.active() == {}
    until = await mutes.mute(AlertKind.SINK_LAG, 600)
    assert until == clock.now() + 600
    assert await mutes.active() == {"sink_lag": until}
    ttl_ms = await redis.pttl(ops_alert_mute("sink_lag"))
    assert 599_000 < ttl_ms <= 600_000
    clock.advance(seconds=599)
    assert list(await mutes.active()) == ["sink_lag"]
    clock.advance(seconds=1)
    assert await mutes.active() == {}


async def test_a_later_mute_replaces_an_earlier_one(redis: Any, clock: ManualClock) -> None:
    mutes = AlertMutes(redis, clock)
    await mutes.mute(AlertKind.DEAD_LETTERS, 3600)
    clock.advance(seconds=10)
    until = await mutes.mute(AlertKind.DEAD_LETTERS, 60)
    assert await mutes.active() == {"dead_letters": until}
    clock.advance(seconds=61)
    assert await mutes.active() == {}
