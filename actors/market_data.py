"""`MarketDataCoordinator`: the feed's single consumer (the design's MarketDataCoordinatorDO).

It keeps the latest book per (exchange, symbol), knows which feeds are stale (data older than a
setting, or a call that took over 2 s), and fans every batch out to the coordinators of the
exchange pairs it concerns: one call per coordinator per batch, never one per update. It waits
for a batch's calls before taking more than `max_in_flight` batches, so a slow coordinator slows
the feed instead of piling up work.

When `market_data` recording is active (`MarketDataSettings.active`), it also hands every batch
to a `BackgroundLakeWriter`: a list append on the loop, the encoding and the file writes in a
worker thread, and batches dropped (counted in `stats()["recording"]`) rather than waited for
when the disk falls behind. `stop()` writes what is buffered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from core.clock import Clock, SystemClock
from core.market.book_cache import BookCache
from core.market.feed import Feed, SimulatedFeed
from core.market.lake_writer import BackgroundLakeWriter, MarketLakeWriter
from core.market.models import MarketUpdate, OrderBook
from core.market.replay import ReplayFeed
from core.market.simulator import SimulatedMarket
from core.parquet_storage import Storage
from core.settings import Settings
from core.tasks import Supervised, backoff_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StepResult:
    updates: int
    opened: int
    updated: int
    closed: int
    # Seconds from the batch leaving the feed to every coordinator having published it.
    latency_s: float


def make_feed(settings: Settings) -> Feed:
    if settings.feed == "simulated":
        return SimulatedFeed(SimulatedMarket(settings.market), SystemClock())
    if settings.feed == "replay":
        if settings.replay_path is None:
            raise ValueError(
                "ARBCAST_FEED=replay needs ARBCAST_REPLAY_PATH (a recorded Parquet file, a "
                "market-data lake root or a glob)"
            )
        return ReplayFeed(
            settings.replay_path,
            speed=1.0,
            since=settings.replay_since,
            until=settings.replay_until,
        )
    from core.market.ccxt_feed import CcxtFeed  # optional extra: arbcast[live]

    return CcxtFeed.from_settings(settings)


def make_recording(settings: Settings, clock: Clock) -> BackgroundLakeWriter | None:
    """The market-data lake writer of the engine, or None when recording is not active."""
    md = settings.market_data
    if not md.active(settings.feed):
        return None
    storage = Storage.from_root(md.root, settings.analytics)
    return BackgroundLakeWriter(MarketLakeWriter(storage, md, clock=clock), clock=clock)


class MarketDataCoordinator:
    def __init__(
        self, settings: Settings, coordinators: Mapping[str, Any], clock: Clock | None = None
    ) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()  # stamps recorded batches (recv_ts)
        self.recording = make_recording(settings, self._clock)
        self._coordinators = dict(coordinators)  # "a-b" -> OpportunityCoordinator handle
        self._pairs = {name: tuple(name.split("-", 1)) for name in self._coordinators}
        v = settings.engine.validation
        self.cache = BookCache(max_age_s=v.max_data_age_s, max_latency_ms=v.max_latency_ms)
        self._market = SimulatedMarket(settings.market) if settings.feed == "simulated" else None
        # The feed loop, restarted with backoff (a new feed each time) when it fails.
        self._feed = Supervised(
            "market-feed", lambda: self._run(make_feed(settings)), backoff=backoff_of(settings)
        )
        self._latencies: deque[float] = deque(maxlen=10_000)
        self.batches = 0
        self.updates = 0
        self.totals = {"opened": 0, "updated": 0, "closed": 0}
        self._started = time.monotonic()
        self.born = time.time()  # this life of the actor began (a restart starts a new one)

    def _route(self, batch: list[MarketUpdate]) -> dict[str, list[MarketUpdate]]:
        routed: dict[str, list[MarketUpdate]] = {name: [] for name in self._pairs}
        for update in batch:
            if isinstance(update, OrderBook):
                self.cache.update(update)
            for name, pair in self._pairs.items():
                if update.exchange in pair:
                    routed[name].append(update)
        return routed

    async def _fan_out(self, batch: list[MarketUpdate], now: float, started: float) -> StepResult:
        routed = self._route(batch)
        calls = [self._coordinators[name].on_updates.remote(ups, now)
                 for name, ups in routed.items() if ups]  # fmt: skip
        results = await asyncio.gather(*calls)
        latency = time.perf_counter() - started
        self._latencies.append(latency)
        self.batches += 1
        self.updates += len(batch)
        opened = sum(r.opened for r in results)
        updated = sum(r.updated for r in results)
        closed = sum(r.closed for r in results)
        self.totals["opened"] += opened
        self.totals["updated"] += updated
        self.totals["closed"] += closed
        return StepResult(len(batch), opened, updated, closed, latency)

    async def step(self, now: float) -> StepResult:
        """One batch of the simulated market at time `now` (tests and benchmarks drive this)."""
        if self._market is None:
            raise RuntimeError("step() drives the simulated feed only; use start() for others")
        started = time.perf_counter()
        batch = self._market.step(now)
        if self.recording is not None:
            self.recording.offer(batch, now)
        return await self._fan_out(batch, now, started)

    async def run_steps(self, start: float, steps: int, dt: float = 1.0) -> list[StepResult]:
        """`steps` batches of the simulated market at start, start+dt, ... (one call for many)."""
        return [await self.step(start + i * dt) for i in range(steps)]

    async def _run(self, feed: Feed) -> None:
        in_flight: set[asyncio.Task[StepResult]] = set()
        limit = self._settings.engine_runtime.max_in_flight
        async for batch in _batches(feed):
            started = time.perf_counter()
            if self.recording is not None:
                self.recording.offer(batch, self._clock.now())
            now = max((getattr(u, "ts", 0.0) for u in batch), default=time.time())
            in_flight.add(asyncio.create_task(self._fan_out(batch, now, started)))
            if len(in_flight) >= limit:
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.exception() is not None:
                        log.warning("a coordinator call failed: %s", task.exception())

    async def start(self) -> bool:
        """Consume the configured feed in the background; False if already running."""
        if self._feed.running:
            return False
        self._feed.start()
        return True

    async def stop(self) -> None:
        """Stop consuming the feed, then write the recording's buffer."""
        await self._feed.stop()
        if self.recording is not None:
            try:
                await self.recording.close()
            except Exception as exc:  # the disk or S3: the buffer is kept for the next stop
                log.warning("market-data recording not written at stop: %s", exc)

    async def stats(self) -> dict[str, Any]:
        lat = sorted(self._latencies)
        now = time.time()
        exchanges = sorted({x for pair in self._pairs.values() for x in pair})
        return {
            "batches": self.batches,
            "updates": self.updates,
            "updates_per_s": self.updates / max(1e-9, time.monotonic() - self._started),
            "latency_p50_s": lat[len(lat) // 2] if lat else None,
            "latency_p99_s": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None,
            "stale": {x: r for x in exchanges if (r := self.cache.exchange_staleness(x, now))},
            "running": self._feed.running,
            "born": self.born,
            "feed_failures": self._feed.failures,
            "recording": None if self.recording is None else asdict(self.recording.stats),
            **self.totals,
        }


async def _batches(feed: Feed) -> AsyncIterator[list[MarketUpdate]]:
    try:
        async for batch in feed.updates():
            if batch:
                yield batch
    finally:
        await feed.close()
