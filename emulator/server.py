"""The emulator's aiohttp application and `EmulatorServer`, the way tests and demos run it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from emulator import botapi, control, control_chats
from emulator.config import CALLBACK_QUERY_TIMEOUT, EmulatorConfig
from emulator.errors import EmulatorError
from emulator.limits import Clock, LimitMode, parse_mode
from emulator.state import EmulatorState


def create_app(state: EmulatorState) -> web.Application:
    """The Bot API under /bot<token>/<method> and the control API under /emulator/."""
    app = web.Application(middlewares=[control.control_errors])
    app[botapi.STATE_KEY] = state
    botapi.add_routes(app)
    app.add_routes(control.routes)
    app.add_routes(control_chats.routes)

    async def http_session(app: web.Application) -> AsyncIterator[None]:
        state.http = aiohttp.ClientSession()
        yield
        await state.reset()
        await state.http.close()
        state.http = None

    app.cleanup_ctx.append(http_session)
    return app


class EmulatorServer:
    """A Telegram Bot API emulator listening on host:port (port 0: a free one)."""

    def __init__(
        self,
        limits: str | LimitMode = "telegram",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_retry_base: float = 1.0,
        webhook_retry_cap: float = 60.0,
        default_bot_token: str | None = None,
        clock: Clock | None = None,
        callback_query_timeout: float = CALLBACK_QUERY_TIMEOUT,
        allow_insecure_webhooks: bool = False,
    ) -> None:
        config = EmulatorConfig(
            limits=parse_mode(limits),
            webhook_retry_base=webhook_retry_base,
            webhook_retry_cap=webhook_retry_cap,
            default_bot_token=default_bot_token,
            callback_query_timeout=callback_query_timeout,
            allow_insecure_webhooks=allow_insecure_webhooks,
        )
        self.state = EmulatorState(config, clock)
        self.host = host
        self.port = port
        self.app = create_app(self.state)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        if self._runner is None:
            raise EmulatorError("the emulator is not running; await start() first")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        """Start serving; returns the base url, e.g. http://127.0.0.1:8081."""
        if self._runner is not None:
            return self.url
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        server = site._server
        if self.port == 0 and server is not None:
            sockets = getattr(server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])
        self._runner = runner
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
