"""Mutes of in-bot alert kinds, set by a SuperAdmin's Mute button. The stored value is when the
mute ends, in the injected clock's time (so tests move past it), with a TTL only to clean up."""

from __future__ import annotations

from redis.asyncio import Redis

from core.alerts.rules import AlertKind
from core.clock import Clock
from core.store.keys import ops_alert_mute


class AlertMutes:
    def __init__(self, redis: Redis, clock: Clock) -> None:
        self._redis = redis
        self._clock = clock

    async def mute(self, kind: AlertKind, seconds: float) -> float:
        """Mute `kind` for `seconds` from now (a later mute replaces an earlier one); returns
        when it ends."""
        until = self._clock.now() + seconds
        await self._redis.set(ops_alert_mute(kind), repr(until), px=max(1, int(seconds * 1000)))
        return until

    async def active(self) -> dict[str, float]:
        """Kind -> when its mute ends, for the mutes not yet over."""
        kinds = list(AlertKind)
        raw = await self._redis.mget([ops_alert_mute(k) for k in kinds])
        now = self._clock.now()
        out: dict[str, float] = {}
        for kind, value in zip(kinds, raw, strict=True):
            if value is not None and float(value) > now:
                out[kind.value] = float(value)
        return out
