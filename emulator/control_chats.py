"""The control API for groups, supergroups and channels: make them, set who is in them (and as
what), open and close forum topics, and read it all back. Members then act through
`/emulator/users/{id}/messages` and `/callbacks` with the chat's id; the bot is added, promoted
and removed through `/emulator/chats/{id}/bot_status`."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from emulator.api_chats import new_topic
from emulator.chats import PRESENT_STATUSES, member_fields, roster
from emulator.control import _answer, _body, _bot, _int, _timeout
from emulator.errors import ApiError, ControlError
from emulator.simulate import _user
from emulator.state import BotState, Chat, now_date
from emulator.updates import PendingUpdate

routes = web.RouteTableDef()
CHAT_TYPES = ("group", "supergroup", "channel")
SUPERGROUP_IDS = -1_000_000_000_000  # ids at or below this are supergroups and channels


def _ids(body: dict[str, Any], key: str) -> list[int]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ControlError(400, f"{key} must be a list of user ids")
    return value


def create_chat(bot: BotState, body: dict[str, Any]) -> Chat:
    """A group, supergroup or channel with its people; the bot is not in it until bot_status."""
    chat_id = body.get("chat_id")
    if isinstance(chat_id, bool) or not isinstance(chat_id, int) or chat_id >= 0:
        raise ControlError(400, "chat_id must be a negative integer")
    kind = body.get("type") or ("supergroup" if chat_id <= SUPERGROUP_IDS else "group")
    if kind not in CHAT_TYPES:
        raise ControlError(400, f"type must be one of {list(CHAT_TYPES)}")
    forum = body.get("is_forum", False)
    if not isinstance(forum, bool) or (forum and kind != "supergroup"):
        raise ControlError(400, "is_forum (true or false) is for supergroups only")
    username = body.get("username")
    if username is not None and (not isinstance(username, str) or not username.isidentifier()):
        raise ControlError(400, "username must be a public name such as arb_signals (no @)")
    existing = bot.chats.get(chat_id)
    if existing is not None and existing.type != kind:
        raise ControlError(409, f"chat {chat_id} exists already as a {existing.type}")
    default_title = f"{'Channel' if kind == 'channel' else 'Group'} {chat_id}"
    chat = existing or Chat(chat_id, kind, title=default_title)
    bot.chats[chat_id] = chat
    if isinstance(body.get("title"), str):
        chat.title = body["title"]
    chat.username = username or chat.username
    if forum and not chat.is_forum and chat_id not in bot.messages:
        bot.new_message_id(chat_id)  # message 1 made the General topic, as in Telegram
    chat.is_forum = forum or chat.is_forum
    people = roster(bot, chat_id)
    owner = body.get("owner")
    if owner is not None:
        _ids({"owner": [owner]}, "owner")
        _join(bot, chat, owner, member_fields("creator", kind))
    for user_id in _ids(body, "admins"):
        _join(bot, chat, user_id, member_fields("administrator", kind))
    for user_id in _ids(body, "members"):
        if people.status(user_id) is None:
            _join(bot, chat, user_id, member_fields("member", kind))
    return chat


def _join(bot: BotState, chat: Chat, user_id: int, fields: dict[str, Any]) -> None:
    _user(bot, user_id, None, None)
    roster(bot, chat.id).members[user_id] = fields
    if fields["status"] in PRESENT_STATUSES:
        chat.members.add(user_id)
    else:
        chat.members.discard(user_id)


def set_member(
    bot: BotState, chat: Chat, user_id: int, body: dict[str, Any]
) -> PendingUpdate | None:
    """A user joins, leaves, is promoted, restricted or banned: a chat_member update (delivered
    only to a bot that asked for it in allowed_updates, as Telegram does)."""
    until = body.get("until_date", 0)
    if isinstance(until, bool) or not isinstance(until, int) or until < 0:
        raise ControlError(400, "until_date must be a unix time (0: forever)")
    fields = member_fields(str(body.get("status")), chat.type, body.get("rights"), until)
    user = _user(bot, user_id, body.get("first_name"), body.get("username"))
    actor_id = body.get("by", user_id)
    if isinstance(actor_id, bool) or not isinstance(actor_id, int):
        raise ControlError(400, "by (the admin who made the change) must be a user id")
    actor = _user(bot, actor_id, None, None)
    old = roster(bot, chat.id).members.get(user_id, {"status": "left"})
    _join(bot, chat, user_id, fields)
    if old == fields:
        return None
    payload = {
        "chat": chat.to_json(),
        "from": actor.to_json(),
        "date": now_date(),
        "old_chat_member": {**old, "user": user.to_json()},
        "new_chat_member": {**fields, "user": user.to_json()},
    }
    return bot.push_update({"chat_member": payload})


def chat_json(bot: BotState, chat: Chat) -> dict[str, Any]:
    people = roster(bot, chat.id)
    return {
        "chat": chat.to_json(),
        "members": [{"user_id": uid, **fields} for uid, fields in people.members.items()],
        "bot": bot.memberships.get(chat.id, {"status": "left"})["status"],
        "topics": [{**t.to_json(), "closed": t.closed} for t in people.topics.values()],
    }


def _known(bot: BotState, request: web.Request) -> Chat:
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    chat = bot.chats.get(chat_id)
    if chat is None or chat.type == "private":
        raise ControlError(404, f"no group or channel {chat_id}: POST /emulator/chats first")
    return chat


@routes.post("/emulator/chats")
async def post_chat(request: web.Request) -> web.Response:
    body = await _body(request)
    bot = _bot(request, body)
    return web.json_response(chat_json(bot, create_chat(bot, body)))


@routes.get("/emulator/chats/{chat_id}")
async def get_chat(request: web.Request) -> web.Response:
    bot = _bot(request, {})
    return web.json_response(chat_json(bot, _known(bot, request)))


@routes.post("/emulator/chats/{chat_id}/members/{user_id}")
async def post_member(request: web.Request) -> web.Response:
    body = await _body(request)
    bot = _bot(request, body)
    chat = _known(bot, request)
    user_id = _int(request.match_info["user_id"], "user_id")
    update = set_member(bot, chat, user_id, body)
    return await _answer(update, body, {"status": body.get("status")})


@routes.post("/emulator/chats/{chat_id}/topics")
async def post_topic(request: web.Request) -> web.Response:
    body = await _body(request)
    bot = _bot(request, body)
    chat = _known(bot, request)
    name = body.get("name")
    if not chat.is_forum:
        raise ControlError(409, f"chat {chat.id} is not a forum (is_forum at POST /emulator/chats)")
    if not isinstance(name, str) or not name:
        raise ControlError(400, "name is required")
    try:
        topic = new_topic(bot, chat.id, name)
    except ApiError as error:
        raise ControlError(400, error.description) from None
    return web.json_response({**topic.to_json(), "closed": topic.closed})


@routes.post("/emulator/chats/{chat_id}/topics/{thread_id}")
async def post_topic_state(request: web.Request) -> web.Response:
    """{"closed": true|false}: an admin closes or reopens a topic."""
    body = await _body(request)
    bot = _bot(request, body)
    chat = _known(bot, request)
    thread_id = _int(request.match_info["thread_id"], "thread_id")
    topic = roster(bot, chat.id).topics.get(thread_id)
    if topic is None:
        raise ControlError(404, f"chat {chat.id} has no topic {thread_id}")
    if not isinstance(body.get("closed"), bool):
        raise ControlError(400, "closed must be true or false")
    topic.closed = body["closed"]
    return web.json_response({**topic.to_json(), "closed": topic.closed})


def migrate(bot: BotState, chat: Chat, actor_id: int, new_id: int) -> list[PendingUpdate]:
    """A basic group upgraded to a supergroup: a new id with the same people (and the bot);
    the old id is refused with migrate_to_chat_id, and the bot, if in, gets both service
    messages (migrate_to_chat_id in the old chat, migrate_from_chat_id in the new one)."""
    if chat.type != "group":
        raise ControlError(409, f"only a basic group is upgraded; {chat.id} is a {chat.type}")
    if new_id > SUPERGROUP_IDS or new_id in bot.chats:
        raise ControlError(400, f"to must be a free supergroup id (<= {SUPERGROUP_IDS})")
    actor = _user(bot, actor_id, None, None)
    new = bot.chats[new_id] = Chat(new_id, "supergroup", title=chat.title, username=chat.username)
    new.members = set(chat.members)
    old_people, people = roster(bot, chat.id), roster(bot, new_id)
    for user_id, fields in old_people.members.items():
        extra = {"can_manage_topics": True} if fields["status"] == "administrator" else {}
        people.members[user_id] = {**fields, **extra}
    old_people.migrated_to = new_id
    mine = bot.memberships.get(chat.id)
    if mine is not None:
        extra = {"can_manage_topics": False} if mine["status"] == "administrator" else {}
        bot.memberships[new_id] = {**mine, **extra}
    if mine is not None and mine["status"] not in PRESENT_STATUSES:
        return []  # the bot is not in it: Telegram tells it nothing
    date = now_date()
    told: list[tuple[Chat, str, int]] = [
        (chat, "migrate_to_chat_id", new_id),
        (new, "migrate_from_chat_id", chat.id),
    ]
    return [
        bot.push_update(
            {
                "message": {
                    "message_id": bot.new_message_id(where.id),
                    "from": actor.to_json(),
                    "chat": where.to_json(),
                    "date": date,
                    key: value,
                }
            }
        )
        for where, key, value in told
    ]


@routes.post("/emulator/chats/{chat_id}/migrate")
async def post_migrate(request: web.Request) -> web.Response:
    """{"by": admin id, "to"?: the supergroup's id}: the group is upgraded to a supergroup."""
    body = await _body(request)
    bot = _bot(request, body)
    chat = _known(bot, request)
    actor = body.get("by")
    new_id = body.get("to", SUPERGROUP_IDS - abs(chat.id))
    if isinstance(actor, bool) or not isinstance(actor, int):
        raise ControlError(400, "by (the admin who upgraded it) must be a user id")
    if isinstance(new_id, bool) or not isinstance(new_id, int):
        raise ControlError(400, "to must be an integer chat id")
    updates = migrate(bot, chat, actor, new_id)
    extra = {"chat_id": new_id, "update_ids": [u.update_id for u in updates]}
    if body.get("wait") and updates:  # two chats' updates go in parallel: wait for all
        done = asyncio.gather(*(u.done.wait() for u in updates))
        try:
            await asyncio.wait_for(done, _timeout(body.get("timeout")))
        except TimeoutError:
            return web.json_response(
                {"ok": False, "description": "the updates were not delivered in time", **extra},
                status=504,
            )
    return await _answer(updates[-1] if updates else None, body, extra)
