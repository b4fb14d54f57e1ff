"""The webhook endpoint: aiogram's handler, hardened against what Telegram could send us.

- a wrong, missing or non-ASCII secret token: 401 (compared in constant time, as bytes);
- a body that is not JSON or not an Update, nested too deeply to parse included: logged,
  recorded, answered 200, since Telegram would only send the same bytes again;
- a Redis outage while handling (any store fault, FSM storage included), or a copy of an update
  another process is still handling: 503 with Retry-After, so Telegram redelivers it later.

`/healthz` answers 200 only when every check passes (Redis, and what the process runs besides:
Ray, the Parquet sink), 503 otherwise, with each check's figures.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from pydantic import ValidationError

from analytics.dashboard import add_dashboard
from analytics.storage import Storage
from bot.middlewares.dedup import IN_FLIGHT
from core.errors import StoreUnavailableError
from core.events import EventName
from core.services import Services
from core.settings import Settings

log = logging.getLogger(__name__)

BAD_UPDATE_EVENT = EventName.BAD_UPDATE
WEBHOOK_HANDLER: web.AppKey[WebhookHandler] = web.AppKey("webhook_handler")

# One check of /healthz: (up, figures). The runtime adds Ray's and the sink's to Redis's.
HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


class WebhookHandler(SimpleRequestHandler):
    def __init__(self, dispatcher: Dispatcher, bot: Bot, services: Services, **kwargs: Any) -> None:
        super().__init__(dispatcher, bot, **kwargs)
        self._services = services
        self.rejected = 0

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        # As bytes: compare_digest refuses non-ASCII str (a TypeError, i.e. a 500), and a
        # header is whatever the sender put there.
        if not self.secret_token:
            return True
        given = telegram_secret_token.encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self.secret_token.encode())

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), bot):
            return web.Response(body="Unauthorized", status=401)
        raw = await request.read()
        try:
            payload = json.loads(raw)
            update = Update.model_validate(payload, context={"bot": bot})
        except (ValueError, ValidationError, RecursionError) as exc:
            self.rejected += 1
            log.warning("rejected a malformed update (%d bytes): %s", len(raw), str(exc)[:200])
            self._services.emit(
                BAD_UPDATE_EVENT, bytes=len(raw), error=f"{type(exc).__name__}: {exc}"[:300]
            )
            return web.json_response({})
        if self.handle_in_background:
            return await self._respond_in_background(bot, update)
        try:
            result = await self.dispatcher.feed_update(bot, update, **self.data)
        except StoreUnavailableError as exc:
            log.warning("update %s not handled, Telegram will resend it: %s", update.update_id, exc)
            return self._retry_later("store unavailable")
        if result is IN_FLIGHT:
            return self._retry_later("update being handled elsewhere")
        if isinstance(result, TelegramMethod):
            await self.dispatcher.silent_call_request(bot=bot, result=result)
        return web.json_response({})

    def _retry_later(self, why: str) -> web.Response:
        return web.json_response(
            {"ok": False, "description": why},
            status=503,
            headers={
                "Retry-After": str(self._services.settings.telegram.store_retry_after_seconds)
            },
        )

    async def _respond_in_background(self, bot: Bot, update: Update) -> web.Response:
        # aiogram's background mode, fed the already validated update.
        task = asyncio.create_task(self.dispatcher.feed_update(bot, update, **self.data))
        self._background_feed_update_tasks.add(task)
        task.add_done_callback(self._background_feed_update_tasks.discard)
        return web.json_response({})


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


def create_webhook_app(
    dp: Dispatcher,
    bot: Bot,
    settings: Settings,
    services: Services,
    *,
    checks: dict[str, HealthCheck] | None = None,
) -> web.Application:
    app = web.Application(client_max_size=1 << 20)
    handler = WebhookHandler(
        dp,
        bot,
        services,
        secret_token=settings.telegram.webhook_secret.get_secret_value(),
        handle_in_background=settings.telegram.handle_in_background,
    )
    handler.register(app, path=settings.telegram.webhook_path)
    app[WEBHOOK_HANDLER] = handler

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

    app.router.add_get("/healthz", health)
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
    )
    setup_application(app, dp, bot=bot)
    return app
