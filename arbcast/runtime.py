"""One arbcast process: Redis (embedded unless REDIS_URL is set), core services, bot, dispatcher.

async with Runtime(settings) as rt:
    await rt.run_polling()      # or rt.run_webhook()

Leaving the block (normally, on an error, or cancelled by SIGTERM) runs every shutdown step even
when some fail: the engine and the push pipeline stop, buffered activity and events are
flushed, the sink writes what it holds, the actors this process created are killed (the ones it
found running are other processes' too), and the embedded Redis is shut down.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from types import TracebackType
from typing import Any

from aiogram import Bot, Dispatcher
from aiohttp import web
from redis.asyncio import Redis

from actors.engine import EngineClient
from actors.factory import create_engine, kill_created
from analytics.rollups import run_rollups
from analytics.sink import ParquetSink
from analytics.storage import Storage
from arbcast.consumers.personalisation import PersonalisationReader
from arbcast.engine import Engine
from arbcast.ops import Ops
from arbcast.pushes import Pushes
from bot.dispatcher import create_dispatcher
from bot.ops_routes import HealthCheck
from bot.polling import UpdatePoller
from bot.webhook import create_webhook_app
from core.clock import Clock
from core.events import EventLog
from core.leadership import Leadership
from core.services import Services, build_services
from core.settings import Settings
from core.store.client import connect_for
from core.store.embedded import EmbeddedRedis, env_or_embedded
from core.store.keys import EVENTS_STREAM, SINGLETONS_LEASE
from core.store.lease import Lease, holder_id
from core.tasks import Supervised, backoff_of, run_all
from messaging.outbox.channel_broadcast import channel_broadcaster
from messaging.outbox.reminders import session_reminders
from messaging.outbox.subscription_expiry import subscription_expiry
from messaging.transport.telegram import create_bot
from messaging.ui.commands import publish_commands

log = logging.getLogger(__name__)


async def _join(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        await task


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
        self._engine_feed: Engine | None = None
        self.pushes: Pushes | None = None
        self.sink: ParquetSink | None = None
        self._sink_task: Supervised | None = None
        self._sink_stop = asyncio.Event()
        self._learner_task: Supervised | None = None
        self._learner_stop = asyncio.Event()
        self._rollup_task: Supervised | None = None
        self._expiry_task: Supervised | None = None
        self._channel_task: Supervised | None = None
        self.poller: UpdatePoller | None = None
        self.ops: Ops | None = None
        self._services_started = False
        # Several processes share this deployment: the singletons follow a Redis lease.
        self._leased = settings.leadership.enabled
        self.leadership: Leadership | None = None
        self._leadership_task: asyncio.Task[None] | None = None
        self._leadership_stop = asyncio.Event()
        self._clock = clock
        self._events = events
        self.embedded: EmbeddedRedis | None = None
        self.redis_url = ""
        self._redis: Redis | None = None
        self.services: Services
        self.bot: Bot | None = None
        self.dp: Dispatcher

    async def __aenter__(self) -> Runtime:
        token_check = self.settings.bot_token()  # fail fast, before starting anything
        del token_check
        # On this (the main) thread, not a worker thread: the server is tied to the life of
        # the thread that starts it (PR_SET_PDEATHSIG), so it dies with arbcast even on kill -9.
        self.redis_url, self.embedded = env_or_embedded(
            self.settings.redis_url, self.settings.redis_dir, self.settings.redis_binary
        )
        try:
            await self._start()
        except BaseException:
            await self._shutdown()  # whatever did start (the embedded Redis first) stops again
            raise
        return self

    async def _start(self) -> None:
        self._redis = connect_for(self.redis_url, self.settings)
        await self._redis.ping()
        self.services = build_services(
            self._redis, self.settings, clock=self._clock, events=self._events
        )
        self._services_started = True
        # Several processes (`leadership.enabled`): the sweeper, like every other
        # once-per-deployment loop, runs only in the holder of the lease (`_elected`).
        await self.services.start(sweep=not self._leased)
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
        self.ops = Ops(self.services, self._redis, self.pushes)
        if not self._leased:
            self._start_loops()
        if self.settings.engine_runtime.enabled and self._start_engine and not self._leased:
            # On the main thread: Ray installs its signal handlers there.
            self.engine = self._create_engine()
        # What exists now lives as long as the process (routers, models, clients): keep it out
        # of the collector's full passes, which otherwise rescan it while updates wait. The
        # webhook benchmark's p99 fell by about a third (docs/performance.md). Collected
        # first, so no garbage is pinned; thawed on exit, for processes that start several.
        gc.collect()
        gc.freeze()

    def _start_loops(self) -> None:
        """The once-per-deployment loops besides the engine and the sweeper: subscription
        expiry, the channel broadcaster, the sink and its rollups, the relevance learner."""
        assert self.bot is not None and self._redis is not None
        self._sink_stop = asyncio.Event()
        self._learner_stop = asyncio.Event()
        if self.pushes is not None:  # the lapse message goes out through the push outbox
            expiry = subscription_expiry(self.services)
            self._expiry_task = Supervised(
                "subscription expiry",
                lambda: expiry.run(asyncio.Event()),
                backoff=backoff_of(self.settings),
            )
            self._expiry_task.start()
            # Linked channels get public opportunities late, through the same outbox.
            broadcaster = channel_broadcaster(self.services, self.bot)
            self._channel_task = Supervised(
                "channel broadcast",
                lambda: broadcaster.run(asyncio.Event()),
                backoff=backoff_of(self.settings),
            )
            self._channel_task.start()
        if self.settings.analytics.run_sink:
            self.sink = ParquetSink(
                self._redis, Storage.from_settings(self.settings.analytics), self.settings.analytics
            )
            sink = self.sink
            self._sink_task = Supervised(
                "sink",
                lambda: sink.run(self._sink_stop),
                backoff=backoff_of(self.settings),
                stop=self._sink_stop,
            )
            self._sink_task.start()
            if self.settings.analytics.run_rollups:
                # The dashboard's hourly rollups, on a niced thread of their own beside the sink.
                lake, an = Storage.from_settings(self.settings.analytics), self.settings.analytics
                self._rollup_task = Supervised(
                    "rollups",
                    lambda: run_rollups(lake, an, asyncio.Event()),
                    backoff=backoff_of(self.settings),
                )
                self._rollup_task.start()
        if self.settings.personalisation.run_learner:
            # The relevance model learns from the event stream (its own consumer group).
            learner = PersonalisationReader.of(self.services)
            self._learner_task = Supervised(
                "personalisation",
                lambda: learner.run(self._learner_stop),
                backoff=backoff_of(self.settings),
                stop=self._learner_stop,
            )
            self._learner_task.start()

    def _create_engine(self) -> EngineClient:
        # A local market-data root is made absolute, so a worker's own working directory does
        # not move it (on a cluster it is the actor's node's disk: use s3:// there).
        market_data = self.settings.market_data.resolved()
        engine_settings = self.settings.model_copy(update={"market_data": market_data})
        return create_engine(engine_settings, self.redis_url)

    async def start_engine_feed(self) -> None:
        """Let the engine consume its configured feed (simulated, replay or ccxt) from now on.
        With `leadership.enabled`: contend for the lease; its holder runs the singletons."""
        if self._leased:
            self._start_leadership()
            return
        if self.engine is not None and self._engine_feed is None:
            self._engine_feed = Engine(
                self.engine, supervise_seconds=self.settings.engine_runtime.supervise_seconds
            )
            await self._engine_feed.start()

    def _start_leadership(self) -> None:
        if self._leadership_task is not None:
            return
        lead = self.settings.leadership
        assert self._redis is not None
        lease = Lease(self._redis, SINGLETONS_LEASE, holder_id(), lead.lease_seconds)
        self.leadership = Leadership(
            lease,
            on_elected=self._elected,
            on_deposed=self._deposed,
            lease_seconds=lead.lease_seconds,
            renew_seconds=lead.renew_seconds,
            clock=self._clock,
        )
        self._leadership_task = asyncio.create_task(
            self.leadership.run(self._leadership_stop), name="leadership"
        )

    async def _elected(self) -> None:
        """This process holds the lease: run the sweeper, the loops and the engine here."""
        self.services.sweeper.start()
        self._start_loops()
        if self.pushes is not None and self.ops is not None:
            # SuperAdmin alerts once per deployment; they run on until this process stops.
            self.ops.start_alerts()
        if self.settings.engine_runtime.enabled and self._start_engine:
            # Off the event loop: starting Ray takes seconds, and the lease is renewed meanwhile.
            if self.engine is None:
                sigterm = signal.getsignal(signal.SIGTERM)
                self.engine = await asyncio.to_thread(self._create_engine)
                if callable(sigterm):  # Ray's core worker took SIGTERM over (it aborts): ours again
                    signal.signal(signal.SIGTERM, sigterm)
            self._engine_feed = Engine(
                self.engine, supervise_seconds=self.settings.engine_runtime.supervise_seconds
            )
            await self._engine_feed.start()

    async def _deposed(self) -> None:
        """The lease is lost or given up: stop every singleton (a survivor starts its own)."""
        feed, self._engine_feed = self._engine_feed, None
        loops = [self._expiry_task, self._channel_task, self._rollup_task]
        sink, learner = self._sink_task, self._learner_task
        self._expiry_task = self._channel_task = self._rollup_task = None
        self._sink_task = self._learner_task = None

        async def stop_feed() -> None:
            if feed is not None:
                await feed.stop()

        async def stop_loops() -> None:
            for task in loops:
                if task is not None:
                    await task.stop()
            self._learner_stop.set()
            if learner is not None:
                await learner.stop()
            if sink is not None:
                await sink.join()  # the sink writes what it holds before it returns

        await run_all(
            [
                ("engine feed", stop_feed),
                ("session sweeper", self.services.sweeper.close),
                ("singleton loops", stop_loops),
            ]
        )

    async def start_pushes(self) -> None:
        """Start distributing opportunity changes to users and delivering the pushes."""
        if self.pushes is not None:
            rows = await self.pushes.start()
            log.info("push pipeline started: %d users with an active session", rows)
            if self.ops is not None and not self._leased:
                self.ops.start_alerts()  # the pipeline delivers them

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        """Every step runs, in order, whichever fail (each failure is logged)."""
        if self._leadership_task is not None:
            # First: the singletons stop and the lease is released, so a survivor takes over.
            self._leadership_stop.set()
            await run_all([("leadership", lambda: _join(self._leadership_task))])
        engine, feed, pushes = self.engine, self._engine_feed, self.pushes

        async def stop_engine() -> None:
            if feed is not None:
                await feed.stop()  # the supervisor first: it must not start the feed again
            elif engine is not None:
                await engine.stop()
                await engine.flush()

        async def stop_ops() -> None:
            if self.ops is not None:
                await self.ops.stop()

        async def stop_pushes() -> None:
            if self._expiry_task is not None:
                await self._expiry_task.stop()
            if self._channel_task is not None:
                await self._channel_task.stop()
            if self._learner_task is not None:
                self._learner_stop.set()
                await self._learner_task.stop()
            if pushes is not None:
                await pushes.stop()

        async def close_services() -> None:
            if self._services_started:
                await self.services.close()  # flushes buffered events into the stream first

        async def stop_sink() -> None:
            if self._rollup_task is not None:
                await self._rollup_task.stop()  # each file is written atomically: cancel it
            if self._sink_task is not None:
                await self._sink_task.join()  # the sink writes what it holds before it returns

        async def kill_actors() -> None:
            if engine is not None or pushes is not None:
                killed = await asyncio.to_thread(kill_created, self.settings)
                log.info("killed the %d actors this process created", len(killed))

        async def close_bot() -> None:
            if self.bot is not None:
                await self.bot.session.close()

        async def close_redis() -> None:
            if self._redis is not None:
                await self._redis.aclose()

        async def stop_embedded() -> None:
            if self.embedded is not None:
                await asyncio.to_thread(self.embedded.stop)

        try:
            await run_all(
                [
                    ("ops listener and alerts", stop_ops),
                    ("engine", stop_engine),
                    ("push pipeline", stop_pushes),
                    ("core services", close_services),
                    ("sink", stop_sink),
                    ("actors", kill_actors),
                    ("bot session", close_bot),
                    ("redis client", close_redis),
                    ("embedded redis", stop_embedded),
                ]
            )
        finally:
            gc.unfreeze()

    async def health_checks(self) -> dict[str, HealthCheck]:
        """What /healthz checks besides Redis: Ray (when this process uses it) and the sink."""
        checks: dict[str, HealthCheck] = {}
        timeout = self.settings.health_timeout_seconds
        pushes = self.pushes
        if pushes is not None or self.engine is not None:

            async def ray_check() -> tuple[bool, dict[str, Any]]:
                import ray

                if not ray.is_initialized():
                    return False, {"error": "Ray is not initialised"}
                if pushes is None:
                    return True, {}
                try:
                    async with asyncio.timeout(timeout):
                        stats = await pushes.limiter.stats()
                except Exception as exc:
                    return False, {"error": f"rate limiter: {type(exc).__name__}: {exc}"[:200]}
                return True, {"limit_per_second": stats.get("rate")}

            checks["ray"] = ray_check
        task, redis = self._sink_task, self._redis
        if task is not None and redis is not None:

            async def sink_check() -> tuple[bool, dict[str, Any]]:
                figures: dict[str, Any] = {
                    "state": task.state.value,
                    "failures": task.failures,
                    "last_error": task.last_error,
                }
                try:
                    async with asyncio.timeout(timeout):
                        # The sink trims what it has written: what is left is its lag.
                        figures["lag_entries"] = int(await redis.xlen(EVENTS_STREAM))
                except Exception as exc:
                    figures["lag_error"] = f"{type(exc).__name__}: {exc}"[:200]
                return task.healthy, figures

            checks["sink"] = sink_check
        return checks

    async def publish_commands(self) -> None:
        assert self.bot is not None
        await publish_commands(self.bot)  # the menu in each language

    async def run_polling(self) -> None:
        await self.start_pushes()
        await self.start_engine_feed()
        assert self.bot is not None
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.publish_commands()
        # Our poller, not dp.start_polling: it confirms an update only once handled, so one
        # that meets a Redis outage is held, not lost.
        self.poller = UpdatePoller(self.dp, self.bot, self.settings)
        assert self.ops is not None
        await self.ops.start_listener(await self.health_checks())
        await self.poller.run()

    async def webhook_app(self) -> web.Application:
        assert self.bot is not None
        return create_webhook_app(
            self.dp,
            self.bot,
            self.settings,
            self.services,
            checks=await self.health_checks(),
            metrics=self.ops.metrics if self.ops is not None else None,
        )

    async def start_webhook(self, public_url: str | None = None) -> web.AppRunner:
        """Serve the webhook and register it with the Bot API; returns the runner to clean up."""
        tg = self.settings.telegram
        assert self.bot is not None
        runner = web.AppRunner(await self.webhook_app(), access_log=None)
        await runner.setup()
        # Several processes (`leadership.enabled`) share the port: the kernel spreads the
        # connections over them (SO_REUSEPORT), and a dead one's share goes to the others.
        reuse = self.settings.leadership.enabled or None
        await web.TCPSite(runner, tg.webhook_host, tg.webhook_port, reuse_port=reuse).start()
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
