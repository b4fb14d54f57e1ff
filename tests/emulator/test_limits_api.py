"""Flood limits through aiogram: 429 with retry_after (TelegramRetryAfter), modes, stats."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from emulator.server import EmulatorServer
from tests.emulator.conftest import Control, ManualClock, make_bot

Start = Callable[..., Awaitable[EmulatorServer]]


@pytest.fixture
async def limited(
    start_emulator: Start, manual_clock: ManualClock, http: aiohttp.ClientSession
) -> AsyncIterator[tuple[Bot, Control]]:
    """An emulator with Telegram's limits on an injected clock, 40 private chats and a group."""
    server = await start_emulator(limits="telegram", clock=manual_clock)
    bot = make_bot(server.url)
    await bot.get_me()
    control = Control(http, server.url)
    for user in range(1, 41):
        await control.say(user, "hi")
    await control.say(1, "hi", chat_id=-500, chat_type="group")
    yield bot, control
    await bot.session.close()


async def test_31st_message_in_one_second_is_429(limited: tuple[Bot, Control]) -> None:
    bot, control = limited
    for user in range(1, 31):
        await bot.send_message(user, "deal")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(31, "deal")
    assert caught.value.retry_after == 1
    status, body = await control.bot_api(bot.token, "sendMessage", chat_id=31, text="x")
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    stats = await control.get("/emulator/stats")
    assert stats["too_many_requests"]["global"] == 2
    assert stats["messages_sent"] == 30
    assert stats["peak_send_rate"] == 30


async def test_private_chat_burst_then_429(
    limited: tuple[Bot, Control], manual_clock: ManualClock
) -> None:
    bot, control = limited
    for _ in range(3):
        await bot.send_message(5, "burst")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(5, "one too many")
    manual_clock.advance(1)
    await bot.send_message(5, "after a second")
    await bot.send_chat_action(5, "typing")  # chat actions are not limited
    stats = await control.get("/emulator/stats")
    assert stats["too_many_requests"]["chat"] == 1


async def test_edits_count_against_the_chat_limit(limited: tuple[Bot, Control]) -> None:
    bot, _ = limited
    sent = await bot.send_message(5, "v0")
    await bot.edit_message_text(text="v1", chat_id=5, message_id=sent.message_id)
    await bot.edit_message_text(text="v2", chat_id=5, message_id=sent.message_id)
    with pytest.raises(TelegramRetryAfter):
        await bot.edit_message_text(text="v3", chat_id=5, message_id=sent.message_id)


async def test_group_21st_message_in_a_minute_is_429(
    limited: tuple[Bot, Control], manual_clock: ManualClock
) -> None:
    bot, control = limited
    for _ in range(20):
        await bot.send_message(-500, "group deal")
        manual_clock.advance(1)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(-500, "too many")
    assert caught.value.retry_after == 40
    assert (await control.get("/emulator/stats"))["too_many_requests"]["group"] == 1


async def test_off_mode_never_429(emulator: EmulatorServer, bot: Bot, control: Control) -> None:
    await control.say(5, "hi")
    for _ in range(50):
        await bot.send_message(5, "flood")
    stats = await control.get("/emulator/stats")
    assert stats["too_many_requests"]["total"] == 0
    assert stats["messages_sent"] == 50


async def test_paid_mode_allows_more_than_30_per_second_with_the_flag(
    limited: tuple[Bot, Control],
) -> None:
    bot, control = limited
    await control.post("/emulator/config", {"limits": "paid"})
    for user in range(1, 41):
        await bot.send_message(user, "paid", allow_paid_broadcast=True)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "free")  # without the flag 30/s still applies
    assert (await control.get("/emulator/stats"))["peak_send_rate"] == 40
