"""Bot API methods on groups and channels: members, administrators and forum topics."""

from __future__ import annotations

from typing import Any

from emulator import errors as e
from emulator.chats import (
    PRESENT_STATUSES,
    TOPIC_COLORS,
    Topic,
    administrators,
    check_can_post,
    member_json,
    roster,
)
from emulator.context import ApiContext
from emulator.errors import bad_request
from emulator.params import Params
from emulator.state import BotState

MAX_TOPIC_NAME = 128


async def get_chat_member(ctx: ApiContext, params: Params) -> dict[str, Any]:
    chat = ctx.chat(params.chat_id())
    user_id = params.integer("user_id", missing="Bad Request: user_id is empty")
    if user_id == ctx.bot.id:
        if chat.id in ctx.bot.memberships:
            return ctx.bot.memberships[chat.id]
        if chat.type == "private" and chat.id in ctx.bot.blocked:
            return {"status": "kicked", "user": ctx.bot.user.to_json(), "until_date": 0}
        return {"status": "member", "user": ctx.bot.user.to_json()}
    return member_json(ctx.bot, chat, user_id or 0)


async def get_chat_administrators(ctx: ApiContext, params: Params) -> list[dict[str, Any]]:
    return administrators(ctx.bot, ctx.chat(params.chat_id()))


async def get_chat_member_count(ctx: ApiContext, params: Params) -> int:
    chat = ctx.chat(params.chat_id())
    if chat.type == "private":
        return 2 if chat.id not in ctx.bot.blocked else 1
    people = ctx.bot.rosters.get(chat.id)
    present = {uid for uid in chat.members if people is None or uid not in people.members}
    if people is not None:
        present |= {uid for uid, m in people.members.items() if m["status"] in PRESENT_STATUSES}
    mine = ctx.bot.memberships.get(chat.id)
    bot_in = mine is None or mine["status"] in PRESENT_STATUSES
    return len(present) + (1 if bot_in else 0)


async def create_forum_topic(ctx: ApiContext, params: Params) -> dict[str, Any]:
    """A topic in a forum supergroup; the bot needs can_manage_topics, as in Telegram."""
    chat = ctx.chat(params.chat_id())
    if chat.type != "supergroup" or not chat.is_forum:
        raise bad_request(e.NOT_A_FORUM)
    check_can_post(ctx.bot, chat)
    mine = ctx.bot.memberships.get(chat.id)
    if mine is None or mine["status"] != "administrator" or not mine.get("can_manage_topics"):
        raise bad_request(e.TOPIC_RIGHTS)
    name = params.text("name", missing="Bad Request: TOPIC_TITLE_EMPTY") or ""
    if len(name) > MAX_TOPIC_NAME:
        raise bad_request("Bad Request: TOPIC_TITLE_INVALID")
    color = params.integer("icon_color")
    return new_topic(ctx.bot, chat.id, name, color).to_json()


def new_topic(bot: BotState, chat_id: int, name: str, color: int | None = None) -> Topic:
    """A forum topic; its thread id is the id its creation message took, as in Telegram."""
    people = roster(bot, chat_id)
    thread_id = bot.new_message_id(chat_id)
    if color is None:
        color = TOPIC_COLORS[len(people.topics) % len(TOPIC_COLORS)]
    elif color not in TOPIC_COLORS:
        raise bad_request("Bad Request: TOPIC_ICON_COLOR_INVALID")
    topic = people.topics[thread_id] = Topic(thread_id, name, color)
    return topic
