"""Forum supergroups: topics made by the control API or createForumTopic, messages sent into a
topic with message_thread_id, members writing in a topic, and Telegram's errors for a thread
that does not exist or is closed."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from tests.emulator.conftest import Control

FORUM = -1003000000001


async def _forum(control: Control, bot_status: str = "administrator") -> None:
    await control.post("/emulator/chats", {"chat_id": FORUM, "is_forum": True, "owner": 1})
    rights = {"can_manage_topics": True} if bot_status == "administrator" else None
    body = {"user_id": 1, "status": bot_status, "rights": rights}
    await control.post(f"/emulator/chats/{FORUM}/bot_status", {k: v for k, v in body.items() if v})


async def test_messages_go_into_a_topic(bot: Bot, control: Control) -> None:
    await _forum(control)
    topic = await control.post(f"/emulator/chats/{FORUM}/topics", {"name": "Alerts"})
    sent = await bot.send_message(FORUM, "BTC 0.8 %", message_thread_id=topic["message_thread_id"])
    assert sent.message_thread_id == topic["message_thread_id"] and sent.is_topic_message
    assert (await bot.get_chat(FORUM)).is_forum
    [listed] = await control.messages(FORUM)
    assert listed["message_thread_id"] == topic["message_thread_id"]
    made = await bot.create_forum_topic(FORUM, "Digest")
    assert made.name == "Digest" and made.message_thread_id != topic["message_thread_id"]
    said = await control.say(
        2, "/group_settings", chat_id=FORUM, message_thread_id=made.message_thread_id
    )
    update = next(u for u in await bot.get_updates(timeout=0) if u.update_id == said["update_id"])
    assert update.message is not None
    assert update.message.message_thread_id == made.message_thread_id


async def test_a_missing_general_or_closed_topic_is_refused(bot: Bot, control: Control) -> None:
    await _forum(control)
    topic = await control.post(f"/emulator/chats/{FORUM}/topics", {"name": "Alerts"})
    for bad in (999, 1):  # 1: the General topic takes no thread id
        with pytest.raises(TelegramBadRequest, match="Bad Request: message thread not found"):
            await bot.send_message(FORUM, "x", message_thread_id=bad)
    await control.post(
        f"/emulator/chats/{FORUM}/topics/{topic['message_thread_id']}", {"closed": True}
    )
    with pytest.raises(TelegramBadRequest, match="Bad Request: TOPIC_CLOSED"):
        await bot.send_message(FORUM, "x", message_thread_id=topic["message_thread_id"])
    await control.post(
        "/emulator/users/2/messages", {"text": "x", "chat_id": FORUM, "message_thread_id": 999}, 400
    )


async def test_topics_need_a_forum_and_the_right_to_manage_them(bot: Bot, control: Control) -> None:
    await _forum(control, bot_status="member")
    with pytest.raises(TelegramBadRequest, match="not enough rights to create a topic"):
        await bot.create_forum_topic(FORUM, "Alerts")
    await control.post("/emulator/chats", {"chat_id": -5, "owner": 1})
    await control.post("/emulator/chats/-5/bot_status", {"user_id": 1, "status": "administrator"})
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(-5, "Alerts")
    await control.post("/emulator/chats/-5/topics", {"name": "x"}, 409)
