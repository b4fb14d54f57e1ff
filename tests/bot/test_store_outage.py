"""A Redis outage loses no update, in webhook and in polling mode, and copies of an update are
handled once. Each test runs its own real redis-server, which it stops (SIGTERM) or pauses
(SIGSTOP) while the emulator sends updates over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import BaseMiddleware
from aiogram.types import Chat, Message, TelegramObject, Update, User
from aiohttp import web

from bot.dispatcher import create_dispatcher
from bot.polling import UpdatePoller
from bot.webhook import create_webhook_app
from core.clock import ManualClock
from core.errors import StoreUnavailableError
from core.events import MemoryEventLog
from core.models import SessionState
from core.services import Services, build_services
from core.settings import Settings
from core.store import keys
from core.store.client import connect_for
from core.store.embedded import EmbeddedRedis
from emulator.server import EmulatorServer
from messaging.transport.telegram import create_bot
from messaging.ui import templates
from tests.bot.conftest import BotEnv
from tests.helpers import eventually

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    """A redis-server of this test alone (a short path: unix socket paths are limited)."""
    data = Path(tempfile.mkdtemp(prefix="arbc-outage-", dir="/tmp"))
    server = EmbeddedRedis(data)
    server.start()
    yield server
    if server.pid is not None:
        os.kill(server.pid, signal.SIGCONT)  # in case a test left it paused
    server.stop()
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def outage_settings(settings: Settings) -> Settings:
    """Short Redis timeouts and a 1 s Retry-After, so an outage is seen and left quickly."""
    tg = settings.telegram.model_copy(
        update={"store_retry_after_seconds": 1, "polling_timeout_seconds": 1}
    )
    return settings.model_copy(
        update={
            "telegram": tg,
            "redis_socket_timeout_seconds": 0.5,
            "redis_connect_timeout_seconds": 0.5,
            "redis_pool_timeout_seconds": 0.5,
            "task_restart_first_seconds": 0.05,
            "task_restart_max_seconds": 0.2,
        }
    )


@pytest.fixture
async def outage_services(
    own_redis: EmbeddedRedis, outage_settings: Settings, clock: ManualClock
) -> AsyncIterator[Services]:
    client = connect_for(own_redis.url, outage_settings)
    svc = build_services(client, outage_settings, clock=clock, events=MemoryEventLog())
    await svc.start(sweep=False)
    yield svc
    await svc.close()
    await client.aclose()


@pytest.fixture
async def webhook_env(
    outage_settings: Settings,
    outage_services: Services,
    clock: ManualClock,
    emulator: EmulatorServer,
) -> AsyncIterator[BotEnv]:
    bot = create_bot(outage_settings)
    dp = create_dispatcher(outage_settings, outage_services)
    app = create_webhook_app(dp, bot, outage_settings, outage_services)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tg = outage_settings.telegram
    await web.TCPSite(runner, tg.webhook_host, tg.webhook_port).start()
    url = f"http://{tg.webhook_host}:{tg.webhook_port}"
    await bot.set_webhook(
        f"{url}{tg.webhook_path}", secret_token=tg.webhook_secret.get_secret_value()
    )
    async with aiohttp.ClientSession() as http:
        yield BotEnv(emulator, http, outage_services, clock, bot, dp, app, extra={"url": url})
    await runner.cleanup()
    await bot.session.close()


def _pause(server: EmbeddedRedis) -> None:
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)


def _resume(server: EmbeddedRedis) -> None:
    assert server.pid is not None
    os.kill(server.pid, signal.SIGCONT)


async def _send_nowait(env: BotEnv, user_id: int, text: str) -> None:
    body = {"text": text, "first_name": "Ann", "wait": False}
    async with env.http.post(f"{env.url}/emulator/users/{user_id}/messages", json=body) as r:
        assert r.status == 200, await r.text()


async def _messages(env: BotEnv, chat_id: int, count: int) -> list[dict[str, Any]]:
    url = f"{env.url}/emulator/chats/{chat_id}/messages?min_count={count}&timeout=20"
    async with env.http.get(url) as r:
        data: list[dict[str, Any]] = await r.json()
        return data


async def _has_session(services: Services, user_id: int) -> bool:
    session = await services.sessions.store.get(user_id)
    return session is not None and session.state is SessionState.ACTIVE


@pytest.mark.parametrize("fault", ["stopped", "paused"])
async def test_webhook_start_during_an_outage_is_answered_503_then_handled_on_redelivery(
    webhook_env: BotEnv, own_redis: EmbeddedRedis, fault: str
) -> None:
    """A new user's /start sent while Redis is stopped (connection refused) or paused (no
    answer: the socket timeout) gets 503 + Retry-After; Telegram's redelivery after Redis is
    back opens the session, and the user gets exactly one welcome."""
    if fault == "stopped":
        own_redis.stop()
    else:
        _pause(own_redis)
    await _send_nowait(webhook_env, 7, "/start")

    async def refused() -> bool:
        info = await webhook_env.bot.get_webhook_info()
        return "503" in (info.last_error_message or "")

    await eventually(refused, timeout=20, what="the webhook answered 503")
    async with webhook_env.http.get(f"{webhook_env.extra['url']}/healthz") as r:
        health = await r.json()
        assert r.status == 503 and health["redis"]["ok"] is False
    assert await webhook_env.texts(7) == []  # no "something went wrong" either
    if fault == "stopped":
        own_redis.start()
    else:
        _resume(own_redis)
    messages = await _messages(webhook_env, 7, 1)
    assert "Welcome to" in messages[0]["text"]
    assert await _has_session(webhook_env.services, 7)
    await _messages(webhook_env, 7, 2)  # the welcome and the first onboarding question
    assert sum("Welcome to" in t for t in await webhook_env.texts(7)) == 1
    async with webhook_env.http.get(f"{webhook_env.extra['url']}/healthz") as r:
        assert r.status == 200 and (await r.json())["redis"]["ok"] is True


async def test_polling_holds_an_update_through_an_outage_and_handles_it_after(
    outage_settings: Settings,
    outage_services: Services,
    clock: ManualClock,
    emulator: EmulatorServer,
    own_redis: EmbeddedRedis,
) -> None:
    """Long polling: a /start fetched while Redis is down is held, not confirmed. A poller
    stopped meanwhile (a process restart) leaves it unconfirmed, so the next poller gets it
    again; once Redis is back it is handled and the user has a session."""
    bot = create_bot(outage_settings)
    await bot.delete_webhook()
    async with aiohttp.ClientSession() as http:
        env = BotEnv(
            emulator,
            http,
            outage_services,
            clock,
            bot,
            create_dispatcher(outage_settings, outage_services),
        )
        own_redis.stop()
        first = UpdatePoller(env.dp, bot, outage_settings)
        task = asyncio.create_task(first.run())
        await _send_nowait(env, 8, "/start")
        await eventually(lambda: first.held >= 1, timeout=20, what="the update is held")
        first.stop()
        await asyncio.wait_for(task, 10)
        assert first.handled == 0
        # "Restarted": a new dispatcher and poller, with Redis back.
        own_redis.start()
        second = UpdatePoller(
            create_dispatcher(outage_settings, outage_services), bot, outage_settings
        )
        task = asyncio.create_task(second.run())
        try:
            messages = await _messages(env, 8, 1)
            assert "Welcome to" in messages[0]["text"]
            assert await _has_session(outage_services, 8)
            await eventually(lambda: second.handled == 1, what="the poller counted it handled")
        finally:
            second.stop()
            await asyncio.wait_for(task, 10)
            await bot.session.close()


async def test_polling_holds_while_redis_is_down_in_the_same_process(
    outage_settings: Settings,
    outage_services: Services,
    clock: ManualClock,
    emulator: EmulatorServer,
    own_redis: EmbeddedRedis,
) -> None:
    """The same poller keeps retrying the held update and handles it once Redis is back."""
    bot = create_bot(outage_settings)
    await bot.delete_webhook()
    dp = create_dispatcher(outage_settings, outage_services)
    poller = UpdatePoller(dp, bot, outage_settings)
    async with aiohttp.ClientSession() as http:
        env = BotEnv(emulator, http, outage_services, clock, bot, dp)
        _pause(own_redis)
        task = asyncio.create_task(poller.run())
        try:
            await _send_nowait(env, 9, "/start")
            await eventually(lambda: poller.held >= 1, timeout=20, what="the update is held")
            _resume(own_redis)
            messages = await _messages(env, 9, 1)
            assert "Welcome to" in messages[0]["text"]
            assert await _has_session(outage_services, 9)
            await _messages(env, 9, 2)  # the welcome and the first onboarding question
            assert sum("Welcome to" in t for t in await env.texts(9)) == 1
        finally:
            poller.stop()
            await asyncio.wait_for(task, 10)
            await bot.session.close()


def _update(update_id: int, user_id: int, text: str) -> Update:
    user = User(id=user_id, is_bot=False, first_name="Ann")
    return Update(
        update_id=update_id,
        message=Message(
            message_id=update_id,
            date=1_767_225_600,
            chat=Chat(id=user_id, type="private"),
            from_user=user,
            text=text,
        ),
    )


async def _post_update(env: BotEnv, update: Update) -> int:
    tg = env.services.settings.telegram
    async with env.http.post(
        f"{env.extra['url']}{tg.webhook_path}",
        data=update.model_dump_json(exclude_none=True),
        headers={
            SECRET_HEADER: tg.webhook_secret.get_secret_value(),
            "Content-Type": "application/json",
        },
    ) as r:
        return r.status


async def test_three_concurrent_copies_of_an_update_get_one_reply(webhook_env: BotEnv) -> None:
    """Three copies of one update posted at once: one is handled, the others are dropped (or
    answered 503 while the first is in flight, so Telegram would resend, and then dropped)."""
    await webhook_env.send(21, "/start")
    before = len(await webhook_env.texts(21))
    copy = _update(5_000, 21, "/help")
    statuses = await asyncio.gather(*(_post_update(webhook_env, copy) for _ in range(3)))
    assert set(statuses) <= {200, 503} and 200 in statuses
    for _ in range(statuses.count(503)):  # Telegram's redeliveries of the refused copies
        assert await _post_update(webhook_env, copy) == 200
    await _messages(webhook_env, 21, before + 1)
    assert len(await webhook_env.texts(21)) == before + 1


async def test_a_handled_update_resent_after_a_restart_is_not_handled_again(
    webhook_env: BotEnv, outage_settings: Settings, outage_services: Services
) -> None:
    """The claim lives in Redis: a new dispatcher (a restarted process) drops the update."""
    await webhook_env.send(22, "/start")
    copy = _update(5_001, 22, "/help")
    assert await _post_update(webhook_env, copy) == 200
    count = len(await webhook_env.texts(22))
    restarted = create_dispatcher(outage_settings, outage_services)
    assert await restarted.feed_update(webhook_env.bot, copy) is None
    assert len(await webhook_env.texts(22)) == count
    assert await outage_services.redis.get(keys.update_claim(webhook_env.bot.id, 5_001)) == "done"


class _FailOnce(BaseMiddleware):
    """Fails the first update it sees with a store outage, after the update was claimed."""

    def __init__(self) -> None:
        self.failed = False

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not self.failed:
            self.failed = True
            raise StoreUnavailableError("Redis did not answer (test)")
        return await handler(event, data)


async def test_an_update_whose_handling_failed_is_handled_on_redelivery(
    webhook_env: BotEnv, outage_services: Services
) -> None:
    """Handling fails after the claim was taken: the claim is released, the webhook answers
    503, and the redelivered copy is handled (one reply)."""
    await webhook_env.send(23, "/start")
    before = len(await webhook_env.texts(23))
    webhook_env.dp.message.middleware(_FailOnce())
    copy = _update(5_002, 23, "/help")
    assert await _post_update(webhook_env, copy) == 503
    assert await outage_services.redis.get(keys.update_claim(webhook_env.bot.id, 5_002)) is None
    assert await _post_update(webhook_env, copy) == 200
    await _messages(webhook_env, 23, before + 1)
    assert len(await webhook_env.texts(23)) == before + 1


async def test_in_background_mode_an_update_lost_to_an_outage_tells_the_user_to_retry(
    outage_settings: Settings,
    outage_services: Services,
    clock: ManualClock,
    emulator: EmulatorServer,
    own_redis: EmbeddedRedis,
) -> None:
    """With handle_in_background the webhook answered 200 before handling, so no redelivery
    can come: the user is told arbcast is briefly unavailable (not "something went wrong")."""
    tg = outage_settings.telegram.model_copy(update={"handle_in_background": True})
    settings = outage_settings.model_copy(update={"telegram": tg})
    bot = create_bot(settings)
    dp = create_dispatcher(settings, outage_services)
    runner = web.AppRunner(create_webhook_app(dp, bot, settings, outage_services), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, tg.webhook_host, tg.webhook_port).start()
    try:
        await bot.set_webhook(
            f"http://{tg.webhook_host}:{tg.webhook_port}{tg.webhook_path}",
            secret_token=tg.webhook_secret.get_secret_value(),
        )
        async with aiohttp.ClientSession() as http:
            env = BotEnv(emulator, http, outage_services, clock, bot, dp)
            own_redis.stop()
            await _send_nowait(env, 10, "/start")
            messages = await _messages(env, 10, 1)
            assert messages[0]["text"] == templates.UNAVAILABLE
    finally:
        await runner.cleanup()
        await bot.session.close()


async def test_polling_after_an_outage_handles_each_chat_in_order_and_every_chat(
    outage_settings: Settings,
    outage_services: Services,
    clock: ManualClock,
    emulator: EmulatorServer,
    own_redis: EmbeddedRedis,
) -> None:
    """Updates of two users piled up during an outage: both get sessions, and one user's
    /status, sent after their /start, is answered as for an active session (order kept)."""
    bot = create_bot(outage_settings)
    await bot.delete_webhook()
    dp = create_dispatcher(outage_settings, outage_services)
    poller = UpdatePoller(dp, bot, outage_settings)
    async with aiohttp.ClientSession() as http:
        env = BotEnv(emulator, http, outage_services, clock, bot, dp)
        own_redis.stop()
        for user, text in [(11, "/start"), (12, "/start"), (11, "/status")]:
            await _send_nowait(env, user, text)
        task = asyncio.create_task(poller.run())
        try:
            await eventually(lambda: poller.held >= 1, timeout=20, what="updates are held")
            own_redis.start()
            await eventually(lambda: poller.handled == 3, timeout=30, what="all three handled")
            assert await _has_session(outage_services, 11)
            assert await _has_session(outage_services, 12)
            assert "State: active" in (await env.last(11))["text"]
        finally:
            poller.stop()
            await asyncio.wait_for(task, 10)
            await bot.session.close()
