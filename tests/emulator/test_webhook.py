"""Webhook delivery: secret header, retries with backoff, Retry-After, per-chat order, replies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot
from aiohttp import web

from tests.emulator.conftest import Control

Responder = Callable[[dict[str, Any], int], Awaitable[web.Response]]


class Receiver:
    """A tiny aiohttp webhook: records every attempt and answers via a pluggable responder."""

    def __init__(self) -> None:
        self.attempts: list[tuple[dict[str, Any], str | None]] = []
        self.responder: Responder | None = None
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        update = json.loads(await request.text())
        self.attempts.append((update, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        if self.responder is not None:
            return await self.responder(update, len(self.attempts))
        return web.Response()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    instance = Receiver()
    await instance.start()
    yield instance
    await instance.stop()


async def test_failed_attempts_are_retried_until_delivered_with_the_secret(
    bot: Bot, control: Control, receiver: Receiver
) -> None:
    async def fail_twice(update: dict[str, Any], attempt: int) -> web.Response:
        return web.Response(status=500 if attempt <= 2 else 200)

    receiver.responder = fail_twice
    await bot.set_webhook(receiver.url, secret_token="s3cret_-X")
    result = await control.say(7, "hi", wait=True, timeout=5)
    assert result["delivered"] is True
    assert [u["update_id"] for u, _ in receiver.attempts] == [result["update_id"]] * 3
    assert {secret for _, secret in receiver.attempts} == {"s3cret_-X"}
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500"


async def test_retry_after_header_is_honoured(
    bot: Bot, control: Control, receiver: Receiver
) -> None:
    async def busy_once(update: dict[str, Any], attempt: int) -> web.Response:
        if attempt == 1:
            return web.Response(status=429, headers={"Retry-After": "0"})
        return web.Response()

    receiver.responder = busy_once
    await control.post("/emulator/config", {"webhook_retry_base": 30})  # backoff would time out
    await bot.set_webhook(receiver.url)
    result = await control.say(7, "hi", wait=True, timeout=5)
    assert result["delivered"] is True
    assert len(receiver.attempts) == 2


async def test_one_chat_in_order_different_chats_in_parallel(
    bot: Bot, control: Control, receiver: Receiver
) -> None:
    in_flight: dict[int, int] = {}
    peak_per_chat = 0
    both_chats_busy = asyncio.Event()
    gate = asyncio.Event()

    async def slow(update: dict[str, Any], attempt: int) -> web.Response:
        nonlocal peak_per_chat
        chat = update["message"]["chat"]["id"]
        in_flight[chat] = in_flight.get(chat, 0) + 1
        peak_per_chat = max(peak_per_chat, in_flight[chat])
        if sum(1 for n in in_flight.values() if n) == 2:
            both_chats_busy.set()
        if attempt % 3 == 0:  # some attempts fail: retries must not reorder
            in_flight[chat] -= 1
            return web.Response(status=502)
        await gate.wait()
        in_flight[chat] -= 1
        return web.Response()

    receiver.responder = slow
    await bot.set_webhook(receiver.url, max_connections=10)
    sends = [control.say(user, f"{user}:{n}") for n in range(5) for user in (1, 2)]
    await asyncio.gather(*sends)
    await asyncio.wait_for(both_chats_busy.wait(), 5)  # two chats are delivered at once
    gate.set()
    for user in (1, 2):
        await control.say(user, "end", wait=True, timeout=5)
    assert peak_per_chat == 1
    for user in (1, 2):
        delivered = [u["message"]["text"] for u, _ in receiver.attempts]
        texts = [t for t in delivered if t.startswith(f"{user}:") or t == "end"]
        first_seen = list(dict.fromkeys(t for t in texts if t != "end"))
        assert first_seen == [f"{user}:{n}" for n in range(5)]


async def test_a_reply_in_the_webhook_response_is_executed(
    bot: Bot, control: Control, receiver: Receiver
) -> None:
    async def reply(update: dict[str, Any], attempt: int) -> web.Response:
        chat = update["message"]["chat"]["id"]
        return web.json_response({"method": "sendMessage", "chat_id": chat, "text": "pong"})

    receiver.responder = reply
    await bot.set_webhook(receiver.url)
    await control.say(7, "ping", wait=True)
    assert [m["text"] for m in await control.messages(7, min_count=1, timeout=5)] == ["pong"]


async def test_updates_wait_for_a_webhook_and_go_back_to_polling(
    bot: Bot, control: Control, receiver: Receiver
) -> None:
    waiting = await control.say(7, "queued while nobody listens")
    await bot.set_webhook(receiver.url)
    await control.say(7, "second", wait=True, timeout=5)
    assert receiver.attempts[0][0]["update_id"] == waiting["update_id"]
    await bot.delete_webhook()
    later = await control.say(7, "for polling")
    assert [u.update_id for u in await bot.get_updates()] == [later["update_id"]]


async def test_drop_pending_updates_forgets_them(bot: Bot, control: Control) -> None:
    await control.say(7, "old")
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == []


async def test_secret_token_is_validated(bot: Bot, receiver: Receiver) -> None:
    from aiogram.exceptions import TelegramBadRequest

    with pytest.raises(TelegramBadRequest, match="secret token"):
        await bot.set_webhook(receiver.url, secret_token="has space")
