"""getUpdates long polling, offsets, the webhook conflict, and `wait: true` with polling."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError

from tests.emulator.conftest import Control


async def test_long_poll_receives_a_control_api_message(bot: Bot, control: Control) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    sent = await control.say(7, "/start@emulated_123456_bot now", first_name="Ann")
    updates = await asyncio.wait_for(poll, 5)
    assert [u.update_id for u in updates] == [sent["update_id"]]
    message = updates[0].message
    assert message is not None
    assert message.text == "/start@emulated_123456_bot now"
    assert message.from_user is not None
    assert message.from_user.first_name == "Ann"
    assert message.entities is not None
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bot_command", 0, len("/start@emulated_123456_bot"))
    ]


async def test_offset_confirms_earlier_updates(bot: Bot, control: Control) -> None:
    first = await control.say(7, "one")
    second = await control.say(7, "two")
    assert [u.update_id for u in await bot.get_updates()] == [
        first["update_id"],
        second["update_id"],
    ]
    updates = await bot.get_updates(offset=second["update_id"])
    assert [u.update_id for u in updates] == [second["update_id"]]
    assert await bot.get_updates(offset=second["update_id"] + 1, timeout=0) == []
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_get_updates_is_409_while_a_webhook_is_set(bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == []


async def test_wait_true_returns_once_a_poll_confirmed_the_update(
    bot: Bot, control: Control
) -> None:
    said = asyncio.create_task(control.say(7, "hi", wait=True, timeout=5))
    [update] = await bot.get_updates(timeout=5)
    assert not said.done()  # the poll returned it but has not confirmed it yet
    await bot.get_updates(offset=update.update_id + 1, timeout=0)
    result = await asyncio.wait_for(said, 5)
    assert result["delivered"] is True


async def test_wait_true_times_out_with_504(bot: Bot, control: Control) -> None:
    body = await control.post(
        "/emulator/users/7/messages", {"text": "nobody polls", "wait": True, "timeout": 0.05}, 504
    )
    assert body["ok"] is False
    assert body["update_id"] == 1


async def test_a_newer_poll_terminates_an_older_one(bot: Bot, control: Control) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=10))
    await control.get("/emulator/stats")  # a round trip: the first poll is waiting by now
    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(older, 5)
