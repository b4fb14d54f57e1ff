"""Background work that must keep running: one supervised asyncio task per loop.

`Supervised(name, factory, backoff=...)` runs ``await factory()``; when it raises, the failure is
logged and counted, and the loop is started again after a delay that doubles from
`Backoff.first` up to `Backoff.maximum` (reset once a run has lasted longer than the maximum,
so a loop that fails once a day restarts at once). A factory that returns ends the work.
`stop()` cancels the task and waits for it; it never raises, so a shutdown that stops several
loops always reaches the next step.

The sink, the session sweeper, the activity and event flushers and the market feed loop run on
this, instead of each carrying its own start/stop/retry code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Seconds before the first restart, and the most any restart waits."""

    first: float = 0.1
    maximum: float = 30.0

    def after(self, delay: float) -> float:
        return min(max(delay * 2, self.first), self.maximum)


def backoff_of(settings: Settings) -> Backoff:
    """The restart backoff the settings ask for."""
    return Backoff(
        first=settings.task_restart_first_seconds, maximum=settings.task_restart_max_seconds
    )


class TaskState(StrEnum):
    IDLE = "idle"  # not started, or stopped
    RUNNING = "running"
    RESTARTING = "restarting"  # failed; waiting out the backoff
    DONE = "done"  # the work returned by itself


class Supervised:
    def __init__(
        self,
        name: str,
        factory: Callable[[], Awaitable[object]],
        *,
        backoff: Backoff | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """`stop`, when given, is the work's own stop signal: once set, a failure is not
        restarted and a backoff wait ends at once (see `join`)."""
        self.name = name
        self._factory = factory
        self._backoff = backoff or Backoff()
        self._stop = stop
        self._task: asyncio.Task[None] | None = None
        self.state = TaskState.IDLE
        self.failures = 0
        self.last_error: str | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def healthy(self) -> bool:
        """Running its work right now (not waiting to be restarted, not stopped)."""
        return self.state is TaskState.RUNNING

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        delay = 0.0
        while True:
            self.state = TaskState.RUNNING
            started = loop.time()
            try:
                await self._factory()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                if self._stop is not None and self._stop.is_set():
                    log.warning("%s failed while stopping: %s", self.name, exc)
                    self.state = TaskState.DONE
                    return
                if loop.time() - started > self._backoff.maximum:
                    delay = 0.0  # it ran well for a long while: this is a new incident
                delay = self._backoff.after(delay)
                self.state = TaskState.RESTARTING
                log.warning("%s failed (%s); restarting in %.1f s", self.name, exc, delay)
                await self._wait(delay)
                continue
            self.state = TaskState.DONE
            return

    async def _wait(self, delay: float) -> None:
        # The backoff itself, not a synchronisation; a stop signal ends it so that the work
        # runs once more at once, sees the signal and finishes (flushing what it holds).
        if self._stop is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    async def stop(self) -> None:
        """Cancel the work and wait until it has ended; never raises."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.state = TaskState.IDLE

    async def join(self) -> None:
        """Set the stop signal given at construction and wait until the work has finished by
        itself (it flushes on the way out); never raises. Without a signal: `stop()`."""
        if self._stop is None:
            await self.stop()
            return
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.state = TaskState.IDLE


async def run_all(steps: list[tuple[str, Callable[[], Awaitable[object]]]]) -> list[str]:
    """Run every cleanup step in order, even when earlier ones fail; returns the failures.

    Each failure is logged with its step's name. A cancellation arriving meanwhile is held until
    every step has run, then raised, so a second SIGTERM cannot skip the flushes.
    """
    failed: list[str] = []
    cancelled = False
    for name, step in steps:
        try:
            await step()
        except asyncio.CancelledError:
            cancelled = True
            failed.append(name)
            log.warning("shutdown step %s was cancelled; continuing with the rest", name)
        except Exception as exc:
            failed.append(name)
            log.warning("shutdown step %s failed: %s", name, exc)
    if cancelled:
        raise asyncio.CancelledError
    return failed


__all__ = ["Backoff", "Supervised", "TaskState", "backoff_of", "run_all"]
