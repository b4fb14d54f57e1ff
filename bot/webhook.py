"""The webhook endpoint: aiogram's handler, hardened against what Telegram could send us.

- a wrong or missing secret token: 401 (aiogram's check, constant-time);
- a body that is not JSON or not an Update: logged, recorded, answered 200, since Telegram
  would only send the same bytes again;
- a Redis outage while handling: 503 with Retry-After, so Telegram redelivers it later.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from pydantic import ValidationError

from analytics.dashboard import add_dashboard
from analytics.storage import Storage
from core.errors import StoreUnavailableError
from core.events import Event
from core.services import Services
from core.settings import Settings

log = logging.getLogger(__name__)

BAD_UPDATE_EVENT = "audit.bad_update"
WEBHOOK_HANDLER: web.AppKey[WebhookHandler] = web.AppKey("webhook_handler")


class WebhookHandler(SimpleRequestHandler):
    def __init__(self, dispatcher: Dispatcher, bot: Bot, services: Services, **kwargs: Any) -> None:
        super().__init__(dispatcher, bot, **kwargs)
        self._services = services
        self.rejected = 0

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), bot):
            return web.Response(body="Unauthorized", status=401)
        raw = await request.read()
        try:
            payload = json.loads(raw)
            update = Update.model_validate(payload, context={"bot": bot})
        except (ValueError, ValidationError) as exc:
            self.rejected += 1
            log.warning("rejected a malformed update (%d bytes): %s", len(raw), str(exc)[:200])
            self._services.events.emit(
                Event(
                    name=BAD_UPDATE_EVENT,
                    ts=self._services.clock.now(),
                    attrs={"bytes": len(raw), "error": str(exc)[:300]},
                )
            )
            return web.json_response({})
        if self.handle_in_background:
            return await self._respond_in_background(bot, update)
        try:
            await self.dispatcher.feed_webhook_update(bot, update, **self.data)
        except StoreUnavailableError:
            return web.json_response(
                {"ok": False, "description": "store unavailable"},
                status=503,
                headers={"Retry-After": "5"},
            )
        return web.json_response({})

    async def _respond_in_background(self, bot: Bot, update: Update) -> web.Response:
        # aiogram's background mode, fed the already validated update.
        import asyncio

        task = asyncio.create_task(self.dispatcher.feed_update(bot, update, **self.data))
        self._background_feed_update_tasks.add(task)
        task.add_done_callback(self._background_feed_update_tasks.discard)
        return web.json_response({})


def create_webhook_app(
    dp: Dispatcher, bot: Bot, settings: Settings, services: Services
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

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

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
