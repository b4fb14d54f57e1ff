"""A basic group upgraded to a supergroup: the old id is refused with Telegram's text and
migrate_to_chat_id, the bot gets both service messages, and the people (and the bot) move."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramMigrateToChat
from aiogram.types import ChatMemberAdministrator, ChatMemberOwner

from tests.emulator.conftest import TOKEN, Control

GROUP = -4001
SUPER = -1000000004001


async def test_an_upgraded_group_moves_to_its_supergroup(bot: Bot, control: Control) -> None:
    await control.post("/emulator/chats", {"chat_id": GROUP, "owner": 1, "admins": [2]})
    await control.post(f"/emulator/chats/{GROUP}/bot_status", {"user_id": 1, "status": "member"})
    moved = await control.post(f"/emulator/chats/{GROUP}/migrate", {"by": 1})
    assert moved["chat_id"] == SUPER and len(moved["update_ids"]) == 2
    by_id = {u.update_id: u for u in await bot.get_updates(timeout=0)}
    old, new = (by_id[i] for i in moved["update_ids"])
    assert old.message is not None and old.message.migrate_to_chat_id == SUPER
    assert new.message is not None and new.message.migrate_from_chat_id == GROUP
    assert new.message.chat.type == "supergroup"
    with pytest.raises(TelegramMigrateToChat) as refused:
        await bot.send_message(GROUP, "x")
    assert refused.value.migrate_to_chat_id == SUPER
    status, body = await control.bot_api(TOKEN, "sendMessage", chat_id=GROUP, text="x")
    assert (status, body["description"]) == (
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
    )
    assert body["parameters"] == {"migrate_to_chat_id": SUPER}
    assert (await bot.send_message(SUPER, "here")).chat.id == SUPER
    assert isinstance(await bot.get_chat_member(SUPER, 1), ChatMemberOwner)
    admin = await bot.get_chat_member(SUPER, 2)
    assert isinstance(admin, ChatMemberAdministrator) and admin.can_manage_topics
    await control.post("/emulator/users/2/messages", {"text": "hi", "chat_id": GROUP}, 409)
    await control.post(f"/emulator/chats/{SUPER}/migrate", {"by": 1}, 409)
