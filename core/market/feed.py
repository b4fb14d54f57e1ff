"""The `Feed` protocol and the async wrapper that paces a `SimulatedMarket`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol, runtime_checkable

from core.clock import Clock
from core.market.models import MarketUpdate
from core.market.simulator import SimulatedMarket

Sleep = Callable[[float], Awaitable[None]]


@runtime_checkable
class Feed(Protocol):
    """A source of market data: batches of updates, in time order, until closed."""

    def updates(self) -> AsyncIterator[list[MarketUpdate]]: ...

    async def close(self) -> None: ...


class SimulatedFeed:
    """Steps a `SimulatedMarket` every `interval_s` of the injected clock.

    `sleep` defaults to `asyncio.sleep`; tests pass one that advances a `ManualClock` instead,
    so a day of market runs in milliseconds. `steps` bounds the number of batches (None: until
    `close()`).
    """

    def __init__(
        self,
        market: SimulatedMarket,
        clock: Clock,
        *,
        interval_s: float | None = None,
        steps: int | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.market = market
        self.clock = clock
        self.interval_s = market.settings.tick_interval_s if interval_s is None else interval_s
        self.steps = steps
        self._sleep = sleep
        self._closed = False

    async def updates(self) -> AsyncIterator[list[MarketUpdate]]:
        done = 0
        while not self._closed and (self.steps is None or done < self.steps):
            started = self.clock.now()
            yield self.market.step(started)
            done += 1
            if self._closed or (self.steps is not None and done >= self.steps):
                break
            await self._sleep(max(0.0, started + self.interval_s - self.clock.now()))

    async def close(self) -> None:
        self._closed = True
