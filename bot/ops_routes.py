"""What every arbcast listener serves besides the webhook: /healthz, /metrics and the
dashboard. `add_ops_routes` is the one place they are mounted: on the webhook's app in webhook
mode (`bot.webhook.create_webhook_app`) and on the ops listener in polling mode
(`create_ops_app`, started by `arbcast.runtime.Runtime.run_polling`).

`/healthz` answers 200 only when every check passes (Redis, and what the process runs besides:
Ray, the Parquet sink), 503 otherwise, with each check's figures. `/metrics` is the Prometheus
exposition of the process's `ProcessMetrics` (docs/operations.md lists what it shows).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from analytics.dashboard import add_dashboard
from analytics.storage import Storage
from core.metrics.exposition import CONTENT_TYPE, ProcessMetrics
from core.services import Services
from core.settings import Settings
from messaging.ops_figures import read_figures

# One check of /healthz: (up, figures). The runtime adds Ray's and the sink's to Redis's.
HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]

OPS_METRICS: web.AppKey[ProcessMetrics] = web.AppKey("ops_metrics")


async def redis_health(services: Services) -> tuple[bool, dict[str, Any]]:
    """Redis answers PING within `health_timeout_seconds`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        async with asyncio.timeout(services.settings.health_timeout_seconds):
            await services.redis.ping()
    except Exception as exc:
        return False, {"error": f"{type(exc).__name__}: {exc}"[:200]}
    return True, {"ping_ms": round((loop.time() - started) * 1000, 1)}


def redis_metrics(services: Services) -> ProcessMetrics:
    """Metrics whose shared figures come from Redis alone (a process without the limiter)."""
    return ProcessMetrics(lambda: read_figures(services.redis, services.settings, services.clock))


def add_ops_routes(
    app: web.Application,
    settings: Settings,
    services: Services,
    *,
    checks: dict[str, HealthCheck] | None = None,
    metrics: ProcessMetrics | None = None,
) -> ProcessMetrics:
    """Mount /healthz, /metrics and the dashboard on `app`; returns the metrics it serves."""
    metrics = metrics or redis_metrics(services)
    app[OPS_METRICS] = metrics
    all_checks: dict[str, HealthCheck] = {
        "redis": lambda: redis_health(services),
        **(checks or {}),
    }

    async def health(_: web.Request) -> web.Response:
        results = await asyncio.gather(*(check() for check in all_checks.values()))
        body: dict[str, Any] = {}
        for name, (up, figures) in zip(all_checks, results, strict=True):
            body[name] = {"ok": up, **figures}
        ok = all(up for up, _ in results)
        return web.json_response({"ok": ok, **body}, status=200 if ok else 503)

    async def scrape(_: web.Request) -> web.Response:
        body = await metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/healthz", health)
    app.router.add_get(settings.ops.metrics_path, scrape)
    a = settings.analytics
    add_dashboard(
        app,
        Storage.from_settings(a),
        admin_token=a.dashboard_token.get_secret_value(),
        path=a.dashboard_path,
        settings=a,
        cache_seconds=a.dashboard_cache_seconds,
        refresh_seconds=a.dashboard_refresh_seconds,
        threads=a.dashboard_threads,
        clock=services.clock,
        send_limit_per_second=settings.distribution.rate_limits.global_rate,
    )
    return metrics


def create_ops_app(
    settings: Settings,
    services: Services,
    *,
    checks: dict[str, HealthCheck] | None = None,
    metrics: ProcessMetrics | None = None,
) -> web.Application:
    """The polling-mode listener: the ops routes alone (there is no webhook to serve)."""
    app = web.Application(client_max_size=1 << 16)
    add_ops_routes(app, settings, services, checks=checks, metrics=metrics)
    return app
