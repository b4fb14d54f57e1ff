"""The real path for bot tests: aiogram over HTTP to the emulator, real Redis, manual clock.

`botenv` runs the bot in webhook mode (the emulator delivers updates to the bot's aiohttp
webhook, as Telegram does); `polling_botenv` runs it with long polling. Each helper waits
until the emulator confirms the bot has handled the update: no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiohttp import web
from pydantic import SecretStr

from bot.dispatcher import create_dispatcher
from bot.polling import UpdatePoller
from bot.webhook import create_webhook_app
from core.clock import ManualClock
from core.services import Services
from core.settings import Settings
from emulator.server import EmulatorServer
from messaging.transport.telegram import create_bot

TOKEN = "123456:" + "A" * 35


@dataclass
class BotEnv:
    emulator: EmulatorServer
    http: aiohttp.ClientSession
    services: Services
    clock: ManualClock
    bot: Bot
    dp: Dispatcher
    app: web.Application | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.emulator.url

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(f"{self.url}{path}", json=body) as resp:
            data: dict[str, Any] = await resp.json()
            assert resp.status == 200, data
            return data

    async def _get(self, path: str) -> Any:
        async with self.http.get(f"{self.url}{path}") as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def send(
        self,
        user_id: int,
        text: str,
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        first_name: str = "Ann",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "text": text,
            "chat_type": chat_type,
            "first_name": first_name,
            "wait": True,
            "timeout": 10,
        }
        if chat_id is not None:
            body["chat_id"] = chat_id
        return await self._post(f"/emulator/users/{user_id}/messages", body)

    async def press(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"message_id": message_id, "data": data, "wait": True, "timeout": 10}
        if chat_id is not None:
            body["chat_id"] = chat_id
        return await self._post(f"/emulator/users/{user_id}/callbacks", body)

    async def messages(self, chat_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._get(f"/emulator/chats/{chat_id}/messages")
        return result

    async def last(self, chat_id: int) -> dict[str, Any]:
        msgs = await self.messages(chat_id)
        assert msgs, f"the bot sent nothing to chat {chat_id}"
        return msgs[-1]

    async def texts(self, chat_id: int) -> list[str]:
        return [m["text"] for m in await self.messages(chat_id)]

    async def callback_answers(self, chat_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._get(
            f"/emulator/chats/{chat_id}/callback_answers"
        )
        return result


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    # The bot's webhook is http://127.0.0.1:<free port>: the development flag allows it.
    server = EmulatorServer(limits="off", webhook_retry_base=0.01, allow_insecure_webhooks=True)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def settings(settings: Settings, emulator: EmulatorServer) -> Settings:
    """The suite's settings, pointed at this test's emulator, with a free webhook port."""
    return settings.model_copy(
        update={
            "telegram": settings.telegram.model_copy(
                update={
                    "api_base": emulator.url,
                    "webhook_port": _free_port(),
                    # The emulator runs with limits off here; test_rate_limits turns them on.
                    "pace_global_per_second": 1e6,
                    "pace_private_per_second": 1e6,
                    "pace_group_per_minute": 1e8,
                },
            ),
            "telegram_bot_token": SecretStr(TOKEN),
        }
    )


@pytest.fixture
async def botenv(
    settings: Settings, services: Services, clock: ManualClock, emulator: EmulatorServer
) -> AsyncIterator[BotEnv]:
    """The bot in webhook mode behind the emulator."""
    bot = create_bot(settings)
    dp = create_dispatcher(settings, services)
    app = create_webhook_app(dp, bot, settings, services)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tg = settings.telegram
    site = web.TCPSite(runner, tg.webhook_host, tg.webhook_port)
    await site.start()
    await bot.set_webhook(
        f"http://{tg.webhook_host}:{tg.webhook_port}{tg.webhook_path}",
        secret_token=tg.webhook_secret.get_secret_value(),
    )
    async with aiohttp.ClientSession() as http:
        yield BotEnv(emulator, http, services, clock, bot, dp, app)
    await runner.cleanup()
    await bot.session.close()


@pytest.fixture
async def polling_botenv(
    settings: Settings, services: Services, clock: ManualClock, emulator: EmulatorServer
) -> AsyncIterator[BotEnv]:
    """The bot with long polling against the emulator."""
    bot = create_bot(settings)
    dp = create_dispatcher(settings, services)
    await bot.delete_webhook()
    # arbcast's poller (as `arbcast run` uses): one update at a time, the offset confirmed only
    # past handled ones; the emulator counts an update handled once the next poll confirms it.
    tg = settings.telegram.model_copy(update={"polling_timeout_seconds": 1})
    poller = UpdatePoller(dp, bot, settings.model_copy(update={"telegram": tg}))
    task = asyncio.create_task(poller.run())
    async with aiohttp.ClientSession() as http:
        yield BotEnv(emulator, http, services, clock, bot, dp, extra={"poller": poller})
    poller.stop()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    await bot.session.close()
