"""Callback queries expire as in Telegram: answerCallbackQuery later than the window (15 s by
default, configurable) is refused with "query is too old". Time moves by the control API or the
injected clock, never by sleeping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from emulator.server import EmulatorServer
from tests.emulator.conftest import Control, ManualClock, make_bot

QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


async def _press(bot: Bot, control: Control, **extra: object) -> str:
    await control.say(7, "hi")
    sent = await bot.send_message(7, "menu")
    press = await control.post(
        "/emulator/users/7/callbacks", {"message_id": sent.message_id, "data": "x", **extra}
    )
    return str(press["callback_query_id"])


async def test_an_answer_within_the_window_is_accepted(bot: Bot, control: Control) -> None:
    query_id = await _press(bot, control)
    await control.post("/emulator/clock", {"advance": 14.9})
    assert await bot.answer_callback_query(query_id, text="ok")
    answers = await control.get("/emulator/chats/7/callback_answers")
    assert [a["text"] for a in answers] == ["ok"]


async def test_an_answer_after_the_window_is_query_too_old(bot: Bot, control: Control) -> None:
    query_id = await _press(bot, control)
    await control.post("/emulator/clock", {"advance": 15.1})
    with pytest.raises(TelegramBadRequest) as refused:
        await bot.answer_callback_query(query_id, text="late")
    assert refused.value.message == QUERY_TOO_OLD
    assert await control.get("/emulator/chats/7/callback_answers") == []


async def test_a_press_with_an_age_is_already_old_a_backlog(bot: Bot, control: Control) -> None:
    """`age`: the press waited that long before the bot saw it (a backlog after a restart)."""
    query_id = await _press(bot, control, age=20)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    await control.post(
        "/emulator/users/7/callbacks", {"message_id": 1, "data": "x", "age": -1}, 400
    )


async def test_the_window_is_a_setting(
    start_emulator: Callable[..., Awaitable[EmulatorServer]], manual_clock: ManualClock
) -> None:
    server = await start_emulator(limits="off", callback_query_timeout=2.0, clock=manual_clock)
    bot = make_bot(server.url)
    try:
        await bot.get_me()
        async with aiohttp.ClientSession() as http:
            control = Control(http, server.url)
            assert (await control.get("/emulator/config"))["callback_query_timeout"] == 2.0
            first = await _press(bot, control)
            manual_clock.advance(1.5)  # the injected clock moves the emulator's time too
            assert await bot.answer_callback_query(first)
            second = await _press(bot, control)
            manual_clock.advance(2.5)
            with pytest.raises(TelegramBadRequest, match="query is too old"):
                await bot.answer_callback_query(second)
            await control.post("/emulator/config", {"callback_query_timeout": 60})
            assert await bot.answer_callback_query(second)
    finally:
        await bot.session.close()


async def test_the_clock_only_moves_forward(control: Control) -> None:
    before = await control.get("/emulator/clock")
    after = await control.post("/emulator/clock", {"advance": 30})
    assert after["offset"] == before["offset"] + 30
    assert after["now"] >= before["now"] + 30
    await control.post("/emulator/clock", {"advance": -1}, 400)
    await control.post("/emulator/clock", {"advance": "soon"}, 400)
