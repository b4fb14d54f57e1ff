"""Typed clients of the opportunity engine's actors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ray

from actors import ownership
from actors.client import ActorClient
from actors.market_data import StepResult
from actors.opportunity import BatchResult


class CoordinatorClient(ActorClient):
    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("stats")
        return result

    async def flush(self) -> None:
        await self._call("flush")

    async def on_updates(self, updates: list[Any], now: float) -> BatchResult:
        result: BatchResult = await self._call("on_updates", updates, now)
        return result


class EngineClient(ActorClient):
    """The market-data actor, and through it the coordinators of every exchange pair."""

    def __init__(self, market: Any, coordinators: Mapping[str, Any], *, timeout: float) -> None:
        super().__init__(market, "market-data", timeout=timeout)
        self.coordinators = {
            name: CoordinatorClient(handle, f"opportunity-{name}", timeout=timeout)
            for name, handle in coordinators.items()
        }

    async def step(self, now: float) -> StepResult:
        result: StepResult = await self._call("step", now)
        return result

    async def run_steps(self, start: float, steps: int, dt: float = 1.0) -> list[StepResult]:
        result: list[StepResult] = await self._call("run_steps", start, steps, dt, timeout=600)
        return result

    async def start(self) -> bool:
        started: bool = await self._call("start")
        return started

    async def stop(self) -> None:
        await self._call("stop")

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("stats")
        return result

    async def flush(self) -> None:
        for coordinator in self.coordinators.values():
            await coordinator.flush()

    def kill(self) -> None:
        """Kill every engine actor for good (tests, and `arbcast` shutting down its own)."""
        for c in self.coordinators.values():
            ray.kill(c.handle, no_restart=True)
            ownership.forget(c.handle)
        ray.kill(self.handle, no_restart=True)
        ownership.forget(self.handle)
