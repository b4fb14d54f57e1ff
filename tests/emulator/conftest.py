"""Fixtures for the emulator tests: a running emulator, an aiogram Bot on it, a control client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from emulator.server import EmulatorServer

TOKEN = "123456:" + "A" * 35
OTHER_TOKEN = "654321:" + "B" * 35


class ManualClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Control:
    """The emulator's control API over HTTP."""

    http: aiohttp.ClientSession
    base: str

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, status: int = 200
    ) -> Any:
        async with self.http.request(method, f"{self.base}{path}", json=body) as resp:
            data = await resp.json()
            assert resp.status == status, data
            return data

    async def post(self, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
        return await self.request("POST", path, body, status)

    async def get(self, path: str, status: int = 200) -> Any:
        return await self.request("GET", path, None, status)

    async def say(self, user_id: int, text: str, **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.post(
            f"/emulator/users/{user_id}/messages", {"text": text, **extra}
        )
        return result

    async def messages(self, chat_id: int, **query: Any) -> list[dict[str, Any]]:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        result: list[dict[str, Any]] = await self.get(f"/emulator/chats/{chat_id}/messages?{qs}")
        return result

    async def bot_api(self, token: str, method: str, **params: Any) -> tuple[int, Any]:
        async with self.http.post(f"{self.base}/bot{token}/{method}", json=params) as resp:
            return resp.status, await resp.json()


def make_bot(url: str, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def start_emulator() -> AsyncIterator[Callable[..., Awaitable[EmulatorServer]]]:
    """A factory for emulators with any settings; all are stopped after the test."""
    servers: list[EmulatorServer] = []

    async def start(**kwargs: Any) -> EmulatorServer:
        kwargs.setdefault("webhook_retry_base", 0.01)
        # Receivers listen on http://127.0.0.1:<free port>; test_webhook_url turns this off.
        kwargs.setdefault("allow_insecure_webhooks", True)
        server = EmulatorServer(**kwargs)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def emulator(
    start_emulator: Callable[..., Awaitable[EmulatorServer]],
) -> EmulatorServer:
    """An emulator with the limits off."""
    return await start_emulator(limits="off")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def control(http: aiohttp.ClientSession, emulator: EmulatorServer) -> Control:
    return Control(http, emulator.url)


@pytest.fixture
async def bot(emulator: EmulatorServer) -> AsyncIterator[Bot]:
    """A real aiogram Bot talking to the emulator over HTTP (it has called getMe)."""
    instance = make_bot(emulator.url)
    await instance.get_me()
    yield instance
    await instance.session.close()
