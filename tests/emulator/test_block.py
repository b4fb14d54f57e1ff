"""A user blocking the bot: 403 on sends, my_chat_member updates both ways."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError

from tests.emulator.conftest import Control


async def test_block_makes_sends_403_and_emits_my_chat_member(bot: Bot, control: Control) -> None:
    said = await control.say(7, "hi")
    blocked = await control.post("/emulator/users/7/block")
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(7, "still there?")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(7, "typing")
    updates = await bot.get_updates(offset=said["update_id"] + 1)
    assert [u.update_id for u in updates] == [blocked["update_id"]]
    change = updates[0].my_chat_member
    assert change is not None
    assert change.chat.id == 7
    assert change.from_user.id == 7
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("member", "kicked")
    assert (await control.get("/emulator/stats"))["forbidden"] == 2


async def test_unblock_emits_the_reverse_change_and_sends_work(bot: Bot, control: Control) -> None:
    await control.post("/emulator/users/7/block")
    unblocked = await control.post("/emulator/users/7/unblock")
    updates = await bot.get_updates(offset=unblocked["update_id"])
    change = updates[0].my_chat_member
    assert change is not None
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("kicked", "member")
    assert (await bot.send_message(7, "welcome back")).text == "welcome back"


async def test_blocking_twice_changes_nothing(bot: Bot, control: Control) -> None:
    await control.post("/emulator/users/7/block")
    again = await control.post("/emulator/users/7/block", {"wait": True})
    assert again["update_id"] is None
