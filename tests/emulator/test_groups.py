"""Groups and supergroups: rosters with admins and members as getChatMember and
getChatAdministrators answer them, the bot added, removed and refused as Telegram refuses it,
members who write and press buttons, and chat_member updates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
)

from emulator.server import EmulatorServer
from tests.emulator.conftest import TOKEN, Control, ManualClock, make_bot

GROUP = -4001
SUPER = -1001000000001
BOT_ID = 123456


async def _group(control: Control, chat_id: int = GROUP, **extra: object) -> None:
    body = {"chat_id": chat_id, "owner": 1, "admins": [2], "members": [3], **extra}
    await control.post("/emulator/chats", body)


async def test_members_and_admins_answer_as_telegram_shapes_them(
    bot: Bot, control: Control
) -> None:
    """The owner is a creator, admins are administrators with rights, members are members, and
    someone known but outside the chat has left; getChatAdministrators lists creator first."""
    await _group(control, title="Arb traders")
    await control.say(9, "hi")  # known to the emulator, never in the group
    assert isinstance(await bot.get_chat_member(GROUP, 1), ChatMemberOwner)
    admin = await bot.get_chat_member(GROUP, 2)
    assert isinstance(admin, ChatMemberAdministrator) and admin.can_promote_members
    assert isinstance(await bot.get_chat_member(GROUP, 3), ChatMemberMember)
    assert isinstance(await bot.get_chat_member(GROUP, 9), ChatMemberLeft)
    with pytest.raises(TelegramBadRequest, match="Bad Request: user not found"):
        await bot.get_chat_member(GROUP, 777)
    admins = await bot.get_chat_administrators(GROUP)
    assert [(m.user.id, m.status) for m in admins] == [(1, "creator"), (2, "administrator")]
    chat = await bot.get_chat(GROUP)
    assert (chat.type, chat.title) == ("group", "Arb traders")


async def test_the_bot_is_added_promoted_and_listed_among_admins(
    bot: Bot, control: Control
) -> None:
    """bot_status by the owner makes a my_chat_member update; a promoted bot is an admin."""
    await _group(control)
    added = await control.post(
        f"/emulator/chats/{GROUP}/bot_status", {"user_id": 1, "status": "member"}
    )
    promoted = await control.post(
        f"/emulator/chats/{GROUP}/bot_status", {"user_id": 1, "status": "administrator"}
    )
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [added["update_id"], promoted["update_id"]]
    event = updates[0].my_chat_member
    assert event is not None and event.from_user.id == 1
    assert isinstance(event.new_chat_member, ChatMemberMember)
    admins = await bot.get_chat_administrators(GROUP)
    assert [m.user.id for m in admins] == [1, 2, BOT_ID]
    assert await bot.get_chat_member_count(GROUP) == 4  # three people and the bot


async def test_a_removed_bot_is_refused_with_telegram_s_texts(bot: Bot, control: Control) -> None:
    """Kicked from a group or supergroup: 403 'bot was kicked from the <kind> chat'; having
    left a supergroup: 403 'not a member'; having left a basic group: 'chat not found'."""
    await _group(control)
    await _group(control, SUPER)
    for chat_id in (GROUP, SUPER):
        await control.post(
            f"/emulator/chats/{chat_id}/bot_status", {"user_id": 1, "status": "member"}
        )
        assert (await bot.send_message(chat_id, "hello")).chat.id == chat_id
        await control.post(
            f"/emulator/chats/{chat_id}/bot_status", {"user_id": 1, "status": "kicked"}
        )
    with pytest.raises(TelegramForbiddenError, match=r"bot was kicked from the group chat$"):
        await bot.send_message(GROUP, "x")
    with pytest.raises(TelegramForbiddenError, match=r"bot was kicked from the supergroup chat$"):
        await bot.send_message(SUPER, "x")
    for chat_id in (GROUP, SUPER):
        await control.post(
            f"/emulator/chats/{chat_id}/bot_status", {"user_id": 1, "status": "left"}
        )
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(GROUP, "x")
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the supergroup chat"):
        await bot.send_message(SUPER, "x")
    stats = await control.get("/emulator/stats")
    assert (stats["messages_sent"], stats["forbidden"]) == (2, 3)


async def test_a_restricted_bot_may_not_write(bot: Bot, control: Control) -> None:
    await _group(control)
    await control.post(
        f"/emulator/chats/{GROUP}/bot_status", {"user_id": 1, "status": "restricted"}
    )
    with pytest.raises(TelegramBadRequest, match="not enough rights to send text messages"):
        await bot.send_message(GROUP, "x")


async def test_members_write_and_press_buttons_and_outsiders_cannot(
    bot: Bot, control: Control
) -> None:
    """A member's command reaches the bot with its bot_command entity; a banned user cannot
    write, and nobody can once the bot is gone (Telegram would send it nothing)."""
    await _group(control)
    await control.post(f"/emulator/chats/{GROUP}/bot_status", {"user_id": 1, "status": "member"})
    said = await control.say(3, "/group_settings@emulated_123456_bot", chat_id=GROUP)
    sent = await bot.send_message(GROUP, "menu")
    press = await control.post(
        "/emulator/users/3/callbacks",
        {"chat_id": GROUP, "message_id": sent.message_id, "data": "x"},
    )
    updates = await bot.get_updates(timeout=0)
    message = next(u.message for u in updates if u.update_id == said["update_id"])
    assert message is not None and message.entities is not None
    assert message.entities[0].type == "bot_command" and message.chat.id == GROUP
    query = next(u.callback_query for u in updates if u.update_id == press["update_id"])
    assert query is not None and query.from_user.id == 3
    await control.post(f"/emulator/chats/{GROUP}/members/3", {"status": "kicked", "by": 1})
    await control.post("/emulator/users/3/messages", {"text": "hi", "chat_id": GROUP}, 409)
    await control.post(f"/emulator/chats/{GROUP}/bot_status", {"user_id": 1, "status": "kicked"})
    await control.post("/emulator/users/1/messages", {"text": "hi", "chat_id": GROUP}, 409)


async def test_chat_member_updates_go_only_to_a_bot_that_asked(bot: Bot, control: Control) -> None:
    """As in Telegram, chat_member is left out unless allowed_updates names it."""
    await _group(control)
    skipped = await control.post(f"/emulator/chats/{GROUP}/members/5", {"status": "member"})
    assert await bot.get_updates(timeout=0, allowed_updates=["message", "chat_member"]) == []
    joined = await control.post(
        f"/emulator/chats/{GROUP}/members/5", {"status": "administrator", "by": 1}
    )
    [update] = await bot.get_updates(timeout=0)
    assert skipped["update_id"] != joined["update_id"] == update.update_id
    event = update.chat_member
    assert event is not None and event.from_user.id == 1
    assert isinstance(event.old_chat_member, ChatMemberMember)
    assert isinstance(event.new_chat_member, ChatMemberAdministrator)
    await control.post(f"/emulator/chats/{GROUP}/members/5", {"status": "kicked"})
    [banned] = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert banned.chat_member is not None
    assert isinstance(banned.chat_member.new_chat_member, ChatMemberBanned)


async def test_bad_control_calls_say_what_to_do(control: Control, bot: Bot) -> None:
    await control.post("/emulator/chats", {"chat_id": 5}, 400)
    await control.post("/emulator/chats", {"chat_id": -5, "type": "forum"}, 400)
    await control.post("/emulator/chats", {"chat_id": -5, "is_forum": True}, 400)
    await control.post("/emulator/chats", {"chat_id": -5, "admins": ["x"]}, 400)
    await _group(control)
    await control.post("/emulator/chats", {"chat_id": GROUP, "type": "channel"}, 409)
    await control.post(f"/emulator/chats/{GROUP}/members/3", {"status": "owner"}, 400)
    missing = await control.post("/emulator/chats/-77/members/3", {"status": "member"}, 404)
    assert "POST /emulator/chats first" in missing["description"]


async def test_twenty_messages_a_minute_per_group(
    start_emulator: Callable[..., Awaitable[EmulatorServer]],
    manual_clock: ManualClock,
    http: aiohttp.ClientSession,
) -> None:
    """Telegram's group limit: the 21st message within a minute is a 429 with retry_after, and
    the group may be written to again once the minute has passed."""
    server = await start_emulator(limits="telegram", clock=manual_clock)
    bot = make_bot(server.url, TOKEN)
    control = Control(http, server.url)
    try:
        await bot.get_me()
        await _group(control)
        await control.post(
            f"/emulator/chats/{GROUP}/bot_status", {"user_id": 1, "status": "member"}
        )
        for i in range(20):
            await bot.send_message(GROUP, f"alert {i}")
        status, body = await control.bot_api(TOKEN, "sendMessage", chat_id=GROUP, text="x")
        assert (status, body["description"]) == (429, "Too Many Requests: retry after 60")
        assert body["parameters"]["retry_after"] == 60
        manual_clock.advance(60)
        status, _ = await control.bot_api(TOKEN, "sendMessage", chat_id=GROUP, text="x")
        assert status == 200
        stats = await control.get("/emulator/stats")
        assert (stats["messages_sent"], stats["too_many_requests"]["group"]) == (21, 1)
    finally:
        await bot.session.close()


async def test_an_anonymous_admin_writes_as_the_group(bot: Bot, control: Control) -> None:
    """Telegram sends it from GroupAnonymousBot with the group as sender_chat; members can't."""
    await _group(control, SUPER)
    said = await control.say(2, "/group_settings", chat_id=SUPER, anonymous=True)
    [update] = await bot.get_updates(timeout=0)
    assert update.update_id == said["update_id"] and update.message is not None
    assert update.message.from_user is not None
    assert (update.message.from_user.username, update.message.from_user.is_bot) == (
        "GroupAnonymousBot",
        True,
    )
    assert update.message.sender_chat is not None and update.message.sender_chat.id == SUPER
    body = {"text": "x", "chat_id": SUPER, "anonymous": True}
    await control.post("/emulator/users/3/messages", body, 409)
