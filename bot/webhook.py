"""The webhook endpoint: aiogram's handler, hardened against what Telegram could send us.

- a wrong, missing or non-ASCII secret token: 401 (compared in constant time, as bytes);
- a body that is not JSON or not an Update, nested too deeply to parse included: logged,
  recorded, answered 200, since Telegram would only send the same bytes again;
- a Redis outage while handling (any store fault, FSM storage included), or a copy of an update
  another process is still handling: 503 with Retry-After, so Telegram redelivers it later.

/healthz, /metrics and the dashboard are mounted by `bot.ops_routes.add_ops_routes` (the same
routes as the polling-mode listener); each webhook request's time lands in the process's
``arbcast_webhook_request_duration_seconds`` histogram.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from pydantic import ValidationError

from bot.middlewares.dedup import IN_FLIGHT
from bot.ops_routes import HealthCheck, add_ops_routes, redis_metrics
from core.errors import StoreUnavailableError
from core.events import EventName
from core.metrics.exposition import ProcessMetrics
from core.services import Services
from core.settings import Settings

log = logging.getLogger(__name__)

BAD_UPDATE_EVENT = EventName.BAD_UPDATE
WEBHOOK_HANDLER: web.AppKey[WebhookHandler] = web.AppKey("webhook_handler")


class WebhookHandler(SimpleRequestHandler):
    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        services: Services,
        metrics: ProcessMetrics,
        **kwargs: Any,
    ) -> None:
        super().__init__(dispatcher, bot, **kwargs)
        self._services = services
        self._seconds = metrics.webhook_seconds
        self.rejected = 0

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        # As bytes: compare_digest refuses non-ASCII str (a TypeError, i.e. a 500), and a
        # header is whatever the sender put there.
        if not self.secret_token:
            return True
        given = telegram_secret_token.encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self.secret_token.encode())

    async def handle(self, request: web.Request) -> web.Response:
        started = time.perf_counter()  # a duration, not a time of day: no clock to inject
        try:
            return await self._handle(request)
        finally:
            self._seconds.observe(time.perf_counter() - started)

    async def _handle(self, request: web.Request) -> web.Response:
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


def create_webhook_app(
    dp: Dispatcher,
    bot: Bot,
    settings: Settings,
    services: Services,
    *,
    checks: dict[str, HealthCheck] | None = None,
    metrics: ProcessMetrics | None = None,
) -> web.Application:
    app = web.Application(client_max_size=1 << 20)
    metrics = metrics or redis_metrics(services)
    handler = WebhookHandler(
        dp,
        bot,
        services,
        metrics,
        secret_token=settings.telegram.webhook_secret.get_secret_value(),
        handle_in_background=settings.telegram.handle_in_background,
    )
    handler.register(app, path=settings.telegram.webhook_path)
    app[WEBHOOK_HANDLER] = handler
    add_ops_routes(app, settings, services, checks=checks, metrics=metrics)
    setup_application(app, dp, bot=bot)
    return app
