"""The operations side of one process: its /metrics figures, the polling-mode ops listener
(/healthz, /metrics, the dashboard on `ops.listen_host:ops.listen_port`) and the in-bot alerts
to SuperAdmins. `Runtime` owns one.

The figures include the GlobalRateLimiter's 429 counts when this process runs the push
pipeline: asked of the limiter through its typed client at scrape time (it is the one place
every sending process reports its 429s to, so one call per scrape sees them all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web
from redis.asyncio import Redis

from arbcast.pushes import Pushes
from bot.ops_routes import HealthCheck, create_ops_app
from core.alerts.mutes import AlertMutes
from core.metrics.exposition import ProcessMetrics
from core.metrics.figures import OpsFigures
from core.services import Services
from messaging.ops_figures import read_figures
from messaging.outbox.ops_alerts import OpsAlerts
from messaging.outbox.store import Outbox

log = logging.getLogger(__name__)


class Ops:
    def __init__(self, services: Services, redis: Redis, pushes: Pushes | None) -> None:
        self._services = services
        self._redis = redis
        self._pushes = pushes
        self.metrics = ProcessMetrics(self.read)
        self.listener: web.AppRunner | None = None
        self.alerts: OpsAlerts | None = None
        self._alerts_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def read(self) -> OpsFigures:
        s = self._services
        limiter = self._pushes.limiter.stats if self._pushes is not None else None
        return await read_figures(self._redis, s.settings, s.clock, limiter=limiter)

    async def start_listener(self, checks: dict[str, HealthCheck]) -> None:
        """Serve /healthz, /metrics and the dashboard (polling mode), unless `ops.listen` is
        off."""
        ops = self._services.settings.ops
        if not ops.listen:
            return
        app = create_ops_app(
            self._services.settings, self._services, checks=checks, metrics=self.metrics
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, ops.listen_host, ops.listen_port).start()
        except OSError as exc:
            # The bot still serves its users: a busy port costs only the ops routes.
            await runner.cleanup()
            log.error(
                "ops listener: cannot listen on %s:%s (%s): /healthz and /metrics are not "
                "served; set ARBCAST_OPS__LISTEN_PORT to a free port, or "
                "ARBCAST_OPS__LISTEN=false",
                ops.listen_host,
                ops.listen_port,
                exc.strerror or exc,
            )
            return
        self.listener = runner
        log.info(
            "ops listener on %s:%s (/healthz, %s)",
            ops.listen_host,
            ops.listen_port,
            ops.metrics_path,
        )

    def start_alerts(self) -> None:
        """Check the alert thresholds periodically; alerts go through the outbox, so only a
        process whose push pipeline delivers it sends them."""
        s = self._services
        if not s.settings.ops.alerts or self._alerts_task is not None:
            return
        outbox = Outbox(self._redis, s.settings.distribution.delivery, clock=s.clock)
        self.alerts = OpsAlerts(
            self.read,
            outbox,
            AlertMutes(self._redis, s.clock),
            s.settings,
            s.events,
            s.clock,
            profiles=s.profiles,
        )
        self._alerts_task = asyncio.create_task(self.alerts.run(self._stop), name="ops-alerts")

    async def stop(self) -> None:
        self._stop.set()
        if self._alerts_task is not None:
            with contextlib.suppress(Exception):
                await self._alerts_task
        if self.listener is not None:
            await self.listener.cleanup()
            self.listener = None
