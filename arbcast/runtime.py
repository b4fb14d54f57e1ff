"""One arbcast process: Redis (embedded unless REDIS_URL is set), core services, bot, dispatcher.

async with Runtime(settings) as rt:
    await rt.run_polling()      # or rt.run_webhook()
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from types import TracebackType
from typing import Any

from aiogram import Bot, Dispatcher
from aiohttp import web

from actors.engine import EngineClient
from actors.factory import create_engine
from analytics.sink import ParquetSink
from analytics.storage import Storage
from arbcast.pushes import Pushes
from bot.dispatcher import create_dispatcher
from bot.webhook import create_webhook_app
from core.clock import Clock
from core.events import EventLog
from core.services import Services, build_services
from core.settings import Settings
from core.store.client import connect_for
from core.store.embedded import EmbeddedRedis, env_or_embedded
from messaging.commands import COMMANDS
from messaging.session_reminders import session_reminders
from messaging.telegram import create_bot

log = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        events: EventLog | None = None,
        start_engine: bool = True,
        start_pushes: bool = True,
    ) -> None:
        self.settings = settings
        self._start_engine = start_engine
        self._start_pushes = start_pushes
        self.engine: EngineClient | None = None
        self.pushes: Pushes | None = None
        self.sink: ParquetSink | None = None
        self._sink_task: asyncio.Task[object] | None = None
        self._sink_stop = asyncio.Event()
        self._clock = clock
        self._events = events
        self.embedded: EmbeddedRedis | None = None
        self.redis_url = ""
        self._redis: Any = None
        self.services: Services
        self.bot: Bot
        self.dp: Dispatcher

    async def __aenter__(self) -> Runtime:
        token_check = self.settings.bot_token()  # fail fast, before starting anything
        del token_check
        self.redis_url, self.embedded = await asyncio.to_thread(
            env_or_embedded,
            self.settings.redis_url,
            self.settings.redis_dir,
            self.settings.redis_binary,
        )
        self._redis = connect_for(self.redis_url, self.settings)
        await self._redis.ping()
        self.services = build_services(
            self._redis, self.settings, clock=self._clock, events=self._events
        )
        await self.services.start()
        if self.settings.distribution.enabled and self._start_pushes:
            # On the main thread: Ray installs its signal handlers there.
            self.pushes = Pushes(
                self.settings,
                self.redis_url,
                self._redis,
                reminders=session_reminders(self.services),
            )
        self.bot = create_bot(
            self.settings, tokens=self.pushes.bot_tokens() if self.pushes else None
        )
        self.dp = create_dispatcher(self.settings, self.services)
        if self.settings.analytics.run_sink:
            self.sink = ParquetSink(
                self._redis, Storage.from_settings(self.settings.analytics), self.settings.analytics
            )
            self._sink_task = asyncio.create_task(self.sink.run(self._sink_stop), name="sink")
        if self.settings.engine_runtime.enabled and self._start_engine:
            # On the main thread: Ray installs its signal handlers there.
            self.engine = create_engine(self.settings, self.redis_url)
        # What exists now lives as long as the process (routers, models, clients): keep it out
        # of the collector's full passes, which otherwise rescan it while updates wait. The
        # webhook benchmark's p99 fell by about a third (docs/performance.md). Collected
        # first, so no garbage is pinned; thawed on exit, for processes that start several.
        gc.collect()
        gc.freeze()
        return self

    async def start_engine_feed(self) -> None:
        """Let the engine consume its configured feed (simulated, replay or ccxt) from now on."""
        if self.engine is not None:
            await self.engine.start()

    async def start_pushes(self) -> None:
        """Start distributing opportunity changes to users and delivering the pushes."""
        if self.pushes is not None:
            rows = await self.pushes.start()
            log.info("push pipeline started: %d users with an active session", rows)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.engine is not None:
            with contextlib.suppress(Exception):
                await self.engine.stop()
                await self.engine.flush()
            self.engine.kill()
        if self.pushes is not None:
            await self.pushes.stop()
            self.pushes.kill()
        await self.services.close()  # flushes buffered events into the stream first
        if self._sink_task is not None:
            self._sink_stop.set()
            await self._sink_task  # the sink writes what it holds before it returns
        await self.bot.session.close()
        await self._redis.aclose()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
        gc.unfreeze()

    async def publish_commands(self) -> None:
        from aiogram.types import BotCommand

        await self.bot.set_my_commands(
            [
                BotCommand(command=c.name, description=c.description)
                for c in COMMANDS
                if not c.admin_only
            ]
        )

    async def run_polling(self) -> None:
        await self.start_pushes()
        await self.start_engine_feed()
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.publish_commands()
        await self.dp.start_polling(
            self.bot,
            polling_timeout=self.settings.telegram.polling_timeout_seconds,
            handle_signals=False,
            close_bot_session=False,
        )

    def webhook_app(self) -> web.Application:
        return create_webhook_app(self.dp, self.bot, self.settings, self.services)

    async def start_webhook(self, public_url: str | None = None) -> web.AppRunner:
        """Serve the webhook and register it with the Bot API; returns the runner to clean up."""
        tg = self.settings.telegram
        runner = web.AppRunner(self.webhook_app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, tg.webhook_host, tg.webhook_port).start()
        url = public_url or f"http://{tg.webhook_host}:{tg.webhook_port}{tg.webhook_path}"
        await self.bot.set_webhook(url, secret_token=tg.webhook_secret.get_secret_value())
        await self.publish_commands()
        log.info("webhook listening on %s:%s%s", tg.webhook_host, tg.webhook_port, tg.webhook_path)
        return runner

    async def run_webhook(self, public_url: str | None = None) -> None:
        await self.start_pushes()
        await self.start_engine_feed()
        runner = await self.start_webhook(public_url)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
