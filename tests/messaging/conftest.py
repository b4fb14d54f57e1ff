"""Push delivery tests: the outbox on real Redis, a real aiogram Bot over HTTP to the emulator.

`TgEnv` opens chats (a user writes first, as on Telegram), blocks users and reads what the bot
sent. `make_bot` builds a Bot with the production send wrapper (`FloodControl`) and optional
extra request middlewares (fault injection). `FaultProxy` sits between the Bot and the emulator
and answers the first N ``sendMessage`` calls with a 500 or a dropped connection: the emulator
has no switch for server errors.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiohttp import web

from core.clock import ManualClock
from core.distribution.settings import DeliverySettings
from core.events import MemoryEventLog
from emulator.server import EmulatorServer
from messaging.outbox.message import OutboxMessage
from messaging.outbox.store import Outbox
from messaging.transport.flood_control import FloodControl
from messaging.transport.json_session import JsonSession
from messaging.transport.pacing import Pacer, PacerLimits

TOKEN = "123456:" + "A" * 35


def make_bot(
    api_base: str,
    *,
    pace: float = 1e6,
    retries_after_429: int = 3,
    middlewares: Iterable[BaseRequestMiddleware] = (),
) -> Bot:
    session = JsonSession(api=TelegramAPIServer.from_base(api_base))
    limits = PacerLimits(
        global_per_second=pace, private_per_second=pace, private_burst=2, group_per_minute=pace
    )
    session.middleware(FloodControl(Pacer(limits), max_retries=retries_after_429))
    for m in middlewares:
        session.middleware(m)
    return Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


@dataclass
class TgEnv:
    emulator: EmulatorServer
    http: aiohttp.ClientSession
    bots: list[Bot] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.emulator.url

    async def bot(self, api_base: str | None = None, **kwargs: Any) -> Bot:
        bot = make_bot(api_base or self.url, **kwargs)
        self.bots.append(bot)
        return bot

    async def open_chats(self, user_ids: Iterable[int]) -> None:
        """Each user writes to the bot once, so that the bot may message them."""
        for uid in user_ids:
            async with self.http.post(
                f"{self.url}/emulator/users/{uid}/messages",
                json={"text": "hello", "first_name": f"U{uid}", "bot_token": TOKEN},
            ) as resp:
                assert resp.status == 200, await resp.text()

    async def block(self, user_id: int) -> None:
        async with self.http.post(
            f"{self.url}/emulator/users/{user_id}/block", json={"bot_token": TOKEN}
        ) as resp:
            assert resp.status == 200, await resp.text()

    async def messages(
        self, chat_id: int, *, min_count: int = 0, timeout: float = 10
    ) -> list[dict[str, Any]]:
        q = f"?min_count={min_count}&timeout={timeout}&bot_token={TOKEN}"
        async with self.http.get(f"{self.url}/emulator/chats/{chat_id}/messages{q}") as resp:
            data = await resp.json()
            assert resp.status == 200, data
            items: list[dict[str, Any]] = data
            return [m for m in items if not m.get("deleted")]

    async def texts(self, chat_id: int) -> list[str]:
        return [m["plain_text"] for m in await self.messages(chat_id)]

    async def stats(self) -> dict[str, Any]:
        async with self.http.get(f"{self.url}/emulator/stats") as resp:
            data: dict[str, Any] = await resp.json()
            return data


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    server = EmulatorServer(limits="off", default_bot_token=TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def tg(emulator: EmulatorServer) -> AsyncIterator[TgEnv]:
    async with aiohttp.ClientSession() as http:
        env = TgEnv(emulator, http)
        yield env
        for bot in env.bots:
            await bot.session.close()


@pytest.fixture
def delivery_settings() -> DeliverySettings:
    return DeliverySettings(block_ms=0, backoff_base_seconds=1.0, backoff_max_seconds=8.0)


@pytest.fixture
def outbox(
    redis: Any, delivery_settings: DeliverySettings, events: MemoryEventLog, clock: ManualClock
) -> Outbox:
    return Outbox(redis, delivery_settings, events=events, clock=clock)


MessageFactory = Callable[..., OutboxMessage]


@pytest.fixture
def message(clock: ManualClock) -> MessageFactory:
    """``message(user_id, n)``: the n-th test message for a user, its private chat by default."""

    def make(user_id: int, n: int, **overrides: Any) -> OutboxMessage:
        fields: dict[str, Any] = {
            "outgoing_id": f"{user_id}:{n}",
            "user_id": user_id,
            "chat_id": user_id,
            "text": f"m{n} for <b>{user_id}</b>",
            "opportunity_ids": (f"opp{n}",),
            "priority": "medium",
            "created_at": clock.now(),
        }
        fields.update(overrides)
        return OutboxMessage(**fields)

    return make


class FaultProxy:
    """Forwards Bot API calls to `upstream`; the first `failures` sendMessage calls to chats in
    `chats` (all chats if None) fail: ``mode`` "500" answers a 500, "drop" closes the
    connection."""

    def __init__(
        self, upstream: str, *, failures: int, mode: str = "500", chats: set[int] | None = None
    ) -> None:
        self.upstream = upstream
        self.failures = failures
        self.mode = mode
        self.chats = chats
        self.failed = 0
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        is_send = request.path.lower().endswith("/sendmessage")
        if is_send and self.failed < self.failures and self._targets(body):
            self.failed += 1
            if self.mode == "drop":
                assert request.transport is not None
                request.transport.close()
                raise ConnectionResetError("dropped by FaultProxy")
            return web.json_response(
                {"ok": False, "error_code": 500, "description": "Internal Server Error"},
                status=500,
            )
        assert self._http is not None
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        async with self._http.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as resp:
            return web.Response(
                body=await resp.read(), status=resp.status, content_type="application/json"
            )

    def _targets(self, body: bytes) -> bool:
        if self.chats is None:
            return True
        # JSON (arbcast's session), urlencoded (aiogram's without files) or multipart
        found = re.search(rb'chat_id(?:=|"\r\n\r\n|":\s*)(-?\d+)', body)
        return found is not None and int(found.group(1)) in self.chats

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._http = aiohttp.ClientSession()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def fault_proxy(emulator: EmulatorServer) -> AsyncIterator[Callable[..., Any]]:
    proxies: list[FaultProxy] = []

    async def start(**kwargs: Any) -> FaultProxy:
        proxy = FaultProxy(emulator.url, **kwargs)
        await proxy.start()
        proxies.append(proxy)
        return proxy

    yield start
    for p in proxies:
        await p.stop()
