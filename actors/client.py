"""The base of the typed clients callers use instead of raw Ray handles.

Every call goes through `_call`, which awaits the remote method with a timeout and turns Ray's
exceptions into the actor layer's own (as `ray.util.queue` and Ray Serve's handles do).
"""

from __future__ import annotations

import asyncio
from typing import Any

import ray
import ray.exceptions

from actors import ownership
from actors.errors import ActorCallError, ActorTimeoutError, ActorUnavailableError


class ActorClient:
    def __init__(self, handle: Any, name: str, *, timeout: float = 30.0) -> None:
        self._handle = handle
        self.name = name
        self._timeout = timeout

    @property
    def handle(self) -> Any:
        return self._handle

    def kill(self) -> None:
        """Kill the actor for good (tests, and `arbcast` shutting down its own)."""
        ray.kill(self._handle, no_restart=True)
        ownership.forget(self._handle)

    async def _call(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        ref = getattr(self._handle, method).remote(*args)
        try:
            return await asyncio.wait_for(ref, timeout or self._timeout)
        except TimeoutError as exc:
            ray.cancel(ref)
            raise ActorTimeoutError(
                f"{self.name}.{method} did not answer within {timeout or self._timeout:.0f} s"
            ) from exc
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
            raise ActorUnavailableError(
                f"{self.name} is unavailable ({type(exc).__name__}); Ray restarts it — retry"
            ) from exc
        except ray.exceptions.RayTaskError as exc:
            raise ActorCallError(f"{self.name}.{method} failed: {exc.cause!r}") from exc
