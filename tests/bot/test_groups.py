"""The bot in groups, through the emulator: joining says what it does once, removal keeps the
group's state inactive and re-adding resumes it, /start@bot answers with a deep link naming
the group and opens no session, and commands addressed to other bots are ignored. The steps
below (a group, the bot added, members writing; each confirmed delivered, no sleeps) are
shared with test_groups_settings."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.exceptions import TelegramForbiddenError

from core.events import EventName, MemoryEventLog
from core.groups.store import GroupStore
from messaging.ui import group_texts
from tests.bot.conftest import BotEnv

GROUP = -1001000005001  # a supergroup's id
OWNER, ADMIN, MEMBER = 10, 11, 12
BOT_NAME = "emulated_123456_bot"


async def make_group(env: BotEnv, chat_id: int = GROUP, **extra: Any) -> None:
    body = {
        "chat_id": chat_id,
        "title": "Arb traders",
        "owner": OWNER,
        "admins": [ADMIN],
        "members": [MEMBER],
        **extra,
    }
    await env._post("/emulator/chats", body)


async def bot_status(env: BotEnv, status: str, chat_id: int = GROUP) -> dict[str, Any]:
    body = {"user_id": OWNER, "status": status, "wait": True, "timeout": 10}
    return await env._post(f"/emulator/chats/{chat_id}/bot_status", body)


async def say(env: BotEnv, user_id: int, text: str, chat_id: int = GROUP, **extra: Any) -> None:
    body = {"text": text, "chat_id": chat_id, "wait": True, "timeout": 10, **extra}
    await env._post(f"/emulator/users/{user_id}/messages", body)


async def calls(env: BotEnv, method: str) -> int:
    stats = await env._get("/emulator/stats")
    return int(stats["calls"].get(method, 0))


def group_events(env: BotEnv, name: str) -> list[dict[str, Any]]:
    log = env.services.events
    assert isinstance(log, MemoryEventLog), "the tests' services keep events in memory"
    return [{"user_id": e.user_id, **e.attrs} for e in log.named(name)]


async def test_joining_posts_one_short_message_and_records_the_group(botenv: BotEnv) -> None:
    """Added: one message naming /group_settings and the admins; promoted: nothing more."""
    env = botenv
    await make_group(env)
    await bot_status(env, "member")
    await bot_status(env, "administrator")
    [hello] = await env.messages(GROUP)
    assert "/group_settings" in hello["text"] and "admin" in hello["text"]
    assert len(hello["plain_text"]) < 400
    config = await GroupStore(env.services.redis).get(GROUP)
    assert config is not None and config.active and not config.enabled
    assert (config.kind.value, config.title) == ("supergroup", "Arb traders")
    [joined] = group_events(env, EventName.GROUP_JOINED)
    assert (joined["chat_id"], joined["action"], joined["admin_id"]) == (GROUP, "added", OWNER)


async def test_removed_then_readded_keeps_the_settings(botenv: BotEnv) -> None:
    """Kicked: inactive with its choices kept (and Telegram refuses sends); re-added: active
    again, alerts resume as the admins left them, and the group is told so."""
    env = botenv
    store = GroupStore(env.services.redis)
    await make_group(env)
    await bot_status(env, "member")
    await store.enable(GROUP, ADMIN, env.clock.now())
    await store.update(GROUP, env.clock.now(), min_profit_pct=0.7)
    await bot_status(env, "kicked")
    gone = await store.get(GROUP)
    assert gone is not None and not gone.active and gone.enabled and gone.min_profit_pct == 0.7
    assert not gone.receives_pushes
    with pytest.raises(TelegramForbiddenError, match="kicked from the supergroup chat"):
        await env.bot.send_message(GROUP, "still here?")
    await bot_status(env, "member")
    back = await store.get(GROUP)
    assert back is not None and back.active and back.receives_pushes
    assert back.min_profit_pct == 0.7 and back.enabled_by == ADMIN
    texts = await env.texts(GROUP)
    assert len(texts) == 2 and "resume" in texts[1]
    assert [e["action"] for e in group_events(env, EventName.GROUP_LEFT)] == ["kicked"]
    actions = [e["action"] for e in group_events(env, EventName.GROUP_JOINED)]
    assert actions == ["added", "readded"]


async def test_start_in_a_group_gives_a_deep_link_and_opens_no_session(botenv: BotEnv) -> None:
    env = botenv
    await make_group(env)
    await bot_status(env, "member")
    await say(env, MEMBER, f"/start@{BOT_NAME}")
    reply = (await env.messages(GROUP))[-1]
    link = f"https://t.me/{BOT_NAME}?start=g_m{-GROUP}"
    assert link in reply["text"]
    assert reply["reply_to_message_id"] is not None  # answers the member who asked
    assert await env.services.sessions.store.get(MEMBER) is None
    await env.send(MEMBER, f"/start g_m{-GROUP}")  # the member follows the link
    session = await env.services.sessions.store.get(MEMBER)
    assert session is not None and session.is_active(env.clock.now())


async def test_commands_for_other_bots_and_chatter_are_ignored(botenv: BotEnv) -> None:
    """Nothing is answered and Telegram is not even asked who the sender is."""
    env = botenv
    await make_group(env)
    await bot_status(env, "member")
    before = len(await env.messages(GROUP))
    for text in ("/group_settings@other_bot", "/start@other_bot", "gm everyone", "/price"):
        await say(env, ADMIN, text)
    assert len(await env.messages(GROUP)) == before
    assert await calls(env, "getChatMember") == 0
    await say(env, ADMIN, f"/group_settings@{BOT_NAME}")
    assert len(await env.messages(GROUP)) == before + 1


async def test_personal_commands_in_a_group_still_point_to_the_private_chat(
    botenv: BotEnv,
) -> None:
    env = botenv
    await make_group(env)
    await bot_status(env, "member")
    await say(env, MEMBER, "/status")
    reply = (await env.messages(GROUP))[-1]
    assert "private" in reply["text"] and "State:" not in reply["text"]


async def test_group_settings_in_private_says_where_it_works(botenv: BotEnv) -> None:
    env = botenv
    await env.send(MEMBER, "/start")
    await env.send(MEMBER, "/group_settings")
    assert (await env.last(MEMBER))["text"] == group_texts.SETTINGS_IN_PRIVATE


async def test_a_channel_that_makes_the_bot_admin_is_recorded_silently(botenv: BotEnv) -> None:
    """A channel is only posted to once a SuperAdmin links it: being added says nothing."""
    env = botenv
    channel = -1002000009001
    await make_group(env, channel, type="channel", admins=[], members=[])
    await bot_status(env, "administrator", channel)
    config = await GroupStore(env.services.redis).get(channel)
    assert config is not None and config.kind.value == "channel" and config.active
    assert not config.linked_channel and await env.messages(channel) == []
    await bot_status(env, "left", channel)
    gone = await GroupStore(env.services.redis).get(channel)
    assert gone is not None and not gone.active


async def test_a_group_upgraded_to_a_supergroup_keeps_its_alerts(botenv: BotEnv) -> None:
    """Telegram moves the group to a new id; its choices follow, the old id goes inactive."""
    env = botenv
    basic, store = -4001, GroupStore(env.services.redis)
    await make_group(env, basic)
    await bot_status(env, "member", basic)
    await store.enable(basic, ADMIN, env.clock.now())
    await store.update(basic, env.clock.now(), min_profit_pct=0.4, quiet_hours=(23, 7))
    body = {"by": OWNER, "wait": True, "timeout": 10}
    moved = await env._post(f"/emulator/chats/{basic}/migrate", body)
    new = await store.get(moved["chat_id"])
    assert new is not None and new.receives_pushes and new.kind.value == "supergroup"
    assert (new.enabled_by, new.min_profit_pct, new.quiet_hours) == (ADMIN, 0.4, (23, 7))
    old = await store.get(basic)
    assert old is not None and not old.active
    [event] = [e for e in group_events(env, EventName.GROUP_JOINED) if e["action"] == "migrated"]
    assert (event["chat_id"], event["from_chat_id"]) == (moved["chat_id"], basic)
