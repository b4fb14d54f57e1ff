"""Channels where only the bot posts: made through the control API, posted to by id or
@username once the bot is an admin with can_post_messages, and refused with Telegram's texts
otherwise."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from tests.emulator.conftest import Control

CHANNEL = -1002000000001


async def _channel(control: Control) -> None:
    await control.post(
        "/emulator/chats",
        {"chat_id": CHANNEL, "type": "channel", "title": "Arb signals", "username": "arb_signals",
         "owner": 1},
    )  # fmt: skip


async def _bot_status(control: Control, status: str, **extra: object) -> dict[str, object]:
    body = {"user_id": 1, "status": status, **extra}
    result: dict[str, object] = await control.post(f"/emulator/chats/{CHANNEL}/bot_status", body)
    return result


async def test_an_admin_bot_posts_by_id_and_by_username(bot: Bot, control: Control) -> None:
    """The post comes back from the channel itself (sender_chat, no from), as in Telegram."""
    await _channel(control)
    await _bot_status(control, "administrator")
    by_id = await bot.send_message(CHANNEL, "BTC/USDT 0.8 %")
    by_name = await bot.send_message("@arb_signals", "ETH/USDT 0.5 %")
    assert by_id.chat.type == "channel" and by_name.chat.id == CHANNEL
    assert by_id.from_user is None
    assert by_id.sender_chat is not None and by_id.sender_chat.id == CHANNEL
    listed = await control.messages(CHANNEL)
    assert [m["text"] for m in listed] == ["BTC/USDT 0.8 %", "ETH/USDT 0.5 %"]
    update = (await bot.get_updates(timeout=0))[0].my_chat_member
    assert update is not None and update.chat.type == "channel"
    assert update.new_chat_member.status == "administrator"


async def test_a_bot_not_in_the_channel_or_removed_is_refused(bot: Bot, control: Control) -> None:
    await _channel(control)
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the channel chat"):
        await bot.send_message(CHANNEL, "x")
    await _bot_status(control, "administrator", rights={"can_post_messages": False})
    with pytest.raises(TelegramBadRequest, match="need administrator rights in the channel chat"):
        await bot.send_message(CHANNEL, "x")
    await _bot_status(control, "kicked")
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the channel chat"):
        await bot.send_message(CHANNEL, "x")
    await _bot_status(control, "left")
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the channel chat"):
        await bot.send_message("@arb_signals", "x")
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message("@no_such_channel", "x")
    assert (await control.get("/emulator/stats"))["forbidden"] == 3


async def test_readers_do_not_write_and_a_bot_is_never_a_plain_member(
    bot: Bot, control: Control
) -> None:
    await _channel(control)
    said = await control.post("/emulator/users/1/messages", {"text": "hi", "chat_id": CHANNEL}, 409)
    assert "only the bot posts" in said["description"]
    await control.post(
        f"/emulator/chats/{CHANNEL}/bot_status", {"user_id": 1, "status": "member"}, 400
    )
    admins = await bot.get_chat_administrators(CHANNEL)
    assert [(m.user.id, m.status) for m in admins] == [(1, "creator")]
