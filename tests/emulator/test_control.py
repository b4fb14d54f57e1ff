"""The control API: long polls on messages and answers, raw updates, reset, config, many bots."""

from __future__ import annotations

import asyncio

from aiogram import Bot

from emulator.server import EmulatorServer
from tests.emulator.conftest import OTHER_TOKEN, TOKEN, Control


async def test_min_count_long_poll_waits_for_the_bot(bot: Bot, control: Control) -> None:
    await control.say(7, "hi")
    listing = asyncio.create_task(control.messages(7, min_count=2, timeout=5))
    await bot.send_message(7, "one")
    assert not listing.done()
    await bot.send_message(7, "two")
    assert [m["text"] for m in await asyncio.wait_for(listing, 5)] == ["one", "two"]


async def test_min_count_times_out_with_504(control: Control, bot: Bot) -> None:
    body = await control.get("/emulator/chats/7/messages?min_count=1&timeout=0.05", status=504)
    assert body["items"] == []


async def test_callback_answers_are_long_pollable(bot: Bot, control: Control) -> None:
    await control.say(7, "hi")
    sent = await bot.send_message(7, "menu")
    press = await control.post(
        "/emulator/users/7/callbacks", {"message_id": sent.message_id, "data": "x"}
    )
    answers = asyncio.create_task(
        control.get("/emulator/chats/7/callback_answers?min_count=1&timeout=5")
    )
    await bot.answer_callback_query(press["callback_query_id"], text="ok")
    assert [a["text"] for a in await asyncio.wait_for(answers, 5)] == ["ok"]


async def test_pressing_a_button_of_a_missing_message_is_404(bot: Bot, control: Control) -> None:
    await control.say(7, "hi")
    await control.post("/emulator/users/7/callbacks", {"message_id": 99, "data": "x"}, 404)


async def test_group_messages_and_supergroups(bot: Bot, control: Control) -> None:
    said = await control.say(3, "/help", chat_id=-1001, chat_type="supergroup")
    [update] = await bot.get_updates()
    assert update.update_id == said["update_id"]
    assert update.message is not None
    assert (update.message.chat.id, update.message.chat.type) == (-1001, "supergroup")
    await control.post("/emulator/users/3/messages", {"text": "x", "chat_type": "group"}, 400)


async def test_raw_updates_are_injected_with_an_update_id(bot: Bot, control: Control) -> None:
    body = await control.post("/emulator/updates", {"weird_update": {"x": 1}})
    status, raw = await control.bot_api(TOKEN, "getUpdates")
    assert status == 200
    assert raw["result"] == [{"update_id": body["update_id"], "weird_update": {"x": 1}}]


async def test_stats_count_calls_per_method(bot: Bot, control: Control) -> None:
    await bot.get_me()
    stats = await control.get("/emulator/stats")
    assert stats["calls"]["getMe"] == 2  # the fixture's and this one


async def test_reset_forgets_everything_but_the_config(
    emulator: EmulatorServer, bot: Bot, control: Control
) -> None:
    await control.say(7, "hi")
    await bot.send_message(7, "x")
    await control.post("/emulator/reset")
    assert emulator.state.bots == {}
    assert (await control.get("/emulator/stats"))["messages_sent"] == 0
    assert (await control.get("/emulator/config"))["limits"] == "off"


async def test_config_changes_limits_and_rejects_nonsense(control: Control) -> None:
    config = await control.post("/emulator/config", {"limits": "paid", "webhook_retry_base": 0.5})
    assert (config["limits"], config["webhook_retry_base"]) == ("paid", 0.5)
    await control.post("/emulator/config", {"limits": "fast"}, 400)


async def test_each_token_is_its_own_bot(emulator: EmulatorServer, control: Control) -> None:
    await control.bot_api(TOKEN, "getMe")
    await control.bot_api(OTHER_TOKEN, "getMe")
    await control.say(7, "to the second", bot_token=OTHER_TOKEN)
    _, first = await control.bot_api(TOKEN, "getUpdates")
    _, second = await control.bot_api(OTHER_TOKEN, "getUpdates")
    assert first["result"] == []
    assert [u["message"]["text"] for u in second["result"]] == ["to the second"]
    assert emulator.state.default_bot().id == 123456  # the first bot seen


async def test_control_calls_need_a_bot(control: Control) -> None:
    body = await control.post("/emulator/users/7/messages", {"text": "hi"}, 409)
    assert "bot_token" in body["description"]
