"""What simulated users do: write messages, press buttons, block and unblock the bot."""

from __future__ import annotations

import re
from typing import Any

from emulator.chats import (
    CHANNEL_RIGHTS,
    RESTRICTED_PERMISSIONS,
    check_anonymous,
    check_writer,
    record_actor,
    roster,
)
from emulator.context import ApiContext
from emulator.errors import ControlError
from emulator.html import utf16_len
from emulator.state import BotState, CallbackQuery, Chat, EmulatorState, Message, User, now_date
from emulator.updates import PendingUpdate

COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?(?=\s|$)")
CHAT_TYPES = frozenset({"private", "group", "supergroup"})


def _user(
    bot: BotState,
    user_id: int,
    first_name: str | None,
    username: str | None,
    language_code: Any = None,
) -> User:
    user = bot.users.get(user_id)
    if user is None:
        user = bot.users[user_id] = User(user_id, first_name or f"User {user_id}")
    if first_name:
        user.first_name = first_name
    if username:
        user.username = username
    if language_code is not None:  # the app's language, as each update of the user carries it
        if not isinstance(language_code, str) or not 2 <= len(language_code) <= 35:
            raise ControlError(400, "language_code must be an IETF language tag such as 'ru'")
        user.language_code = language_code
    return user


def _chat(bot: BotState, user: User, chat_id: int | None, chat_type: str | None) -> Chat:
    if chat_type is None:
        chat_type = "group" if chat_id is not None and chat_id < 0 else "private"
    if chat_type not in CHAT_TYPES:
        raise ControlError(400, f"chat_type must be one of {sorted(CHAT_TYPES)}")
    if chat_type == "private":
        if chat_id not in (None, user.id):
            raise ControlError(400, "a private chat's id is the user's id")
        chat = bot.chats.setdefault(user.id, Chat(user.id, "private"))
        chat.first_name, chat.username = user.first_name, user.username
    else:
        if chat_id is None or chat_id >= 0:
            raise ControlError(400, "group chats need a negative chat_id")
        chat = bot.chats.setdefault(chat_id, Chat(chat_id, chat_type, title=f"Group {chat_id}"))
    chat.members.add(user.id)
    return chat


def _thread(bot: BotState, chat: Chat, thread_id: Any) -> int | None:
    """A member writes in a forum topic (or a reply thread) given by message_thread_id."""
    if thread_id is None:
        return None
    if isinstance(thread_id, bool) or not isinstance(thread_id, int):
        raise ControlError(400, "message_thread_id must be an integer")
    known = roster(bot, chat.id).topics if chat.is_forum else bot.messages.get(chat.id, {})
    if thread_id not in known:
        raise ControlError(400, f"chat {chat.id} has no thread {thread_id}")
    return thread_id


def ensure_private_chat(bot: BotState, user_id: int, first_name: str | None) -> tuple[User, Chat]:
    """The user and their private chat with the bot, created on first sight."""
    user = _user(bot, user_id, first_name, None)
    return user, _chat(bot, user, None, "private")


def command_entities(text: str) -> list[dict[str, Any]]:
    """A bot_command entity for a leading /command or /command@bot, as Telegram sets it."""
    match = COMMAND_RE.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


def user_message(
    state: EmulatorState, bot: BotState, user_id: int, body: dict[str, Any]
) -> tuple[PendingUpdate, Message]:
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise ControlError(400, "text is required")
    user = _user(
        bot, user_id, body.get("first_name"), body.get("username"), body.get("language_code")
    )
    chat = _chat(bot, user, body.get("chat_id"), body.get("chat_type"))
    check_writer(bot, chat, user.id, message=True)
    anonymous = body.get("anonymous", False)
    if not isinstance(anonymous, bool):
        raise ControlError(400, "anonymous must be true or false")
    if anonymous:
        check_anonymous(bot, chat, user.id)
    message = Message(
        message_id=bot.new_message_id(chat.id),
        chat_id=chat.id,
        sender_id=user.id,
        text=text,
        plain=text,
        parse_mode=None,
        reply_markup=None,
        date=now_date(),
        entities=command_entities(text),
        outgoing=False,
        thread_id=_thread(bot, chat, body.get("message_thread_id")),
        anonymous=anonymous,
    )
    bot.messages.setdefault(chat.id, {})[message.message_id] = message
    payload = ApiContext(state, bot).message_json(message)
    return bot.push_update({"message": payload}), message


def user_callback(
    state: EmulatorState, bot: BotState, user_id: int, body: dict[str, Any]
) -> tuple[PendingUpdate, CallbackQuery]:
    chat_id = body.get("chat_id", user_id)
    message_id = body.get("message_id")
    data = body.get("data")
    if not isinstance(chat_id, int) or not isinstance(message_id, int):
        raise ControlError(400, "message_id (and chat_id, if given) must be integers")
    if not isinstance(data, str):
        raise ControlError(400, "data is required")
    age = body.get("age", 0)
    if isinstance(age, bool) or not isinstance(age, int | float) or age < 0:
        raise ControlError(400, "age must be a non-negative number of seconds")
    message = bot.messages.get(chat_id, {}).get(message_id)
    if message is None or message.deleted or not message.outgoing:
        raise ControlError(404, f"no message {message_id} from the bot in chat {chat_id}")
    user = _user(
        bot, user_id, body.get("first_name"), body.get("username"), body.get("language_code")
    )
    check_writer(bot, bot.chats[chat_id], user.id, message=False)
    bot.chats[chat_id].members.add(user.id)
    # `age`: the press happened that long ago (a backlog), so the answer window is shorter.
    created_at = state.now() - float(age)
    query = CallbackQuery(bot.new_callback_id(), user.id, chat_id, message_id, data, created_at)
    bot.callbacks[query.id] = query
    payload = {
        "id": query.id,
        "from": user.to_json(),
        "message": ApiContext(state, bot).message_json(message),
        "chat_instance": str(abs(chat_id * 7919 + bot.id)),
        "data": data,
    }
    return bot.push_update({"callback_query": payload}), query


def set_blocked(bot: BotState, user_id: int, blocked: bool) -> PendingUpdate | None:
    """Block or unblock; a my_chat_member update if that changed anything."""
    if (user_id in bot.blocked) == blocked:
        return None
    user = _user(bot, user_id, None, None)
    chat = _chat(bot, user, None, "private")
    if blocked:
        bot.blocked.add(user_id)
    else:
        bot.blocked.discard(user_id)
    me = bot.user.to_json()
    member = {"status": "member", "user": me}
    kicked = {"status": "kicked", "user": me, "until_date": 0}
    payload = {
        "chat": chat.to_json(),
        "from": user.to_json(),
        "date": now_date(),
        "old_chat_member": member if blocked else kicked,
        "new_chat_member": kicked if blocked else member,
    }
    return bot.push_update({"my_chat_member": payload})


BOT_STATUSES = frozenset({"member", "administrator", "restricted", "left", "kicked"})
# A bot promoted with Telegram's default rights; `rights` in the control call overrides them.
ADMIN_RIGHTS: dict[str, bool] = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_send_welcome_messages": False,
    "can_pin_messages": True,
}


def _flags(defaults: dict[str, bool], given: Any, what: str) -> dict[str, bool]:
    if given is None:
        return dict(defaults)
    if not isinstance(given, dict):
        raise ControlError(400, f"{what} must be an object of booleans")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ControlError(400, f"unknown {what}: {unknown}; known: {sorted(defaults)}")
    if not all(isinstance(v, bool) for v in given.values()):
        raise ControlError(400, f"{what} must be an object of booleans")
    return {**defaults, **given}


def _until_date(body: dict[str, Any]) -> int:
    until = body.get("until_date", 0)
    if isinstance(until, bool) or not isinstance(until, int) or until < 0:
        raise ControlError(400, "until_date must be a unix time (0: forever)")
    return until


def bot_member(bot: BotState, status: str, chat: Chat, body: dict[str, Any]) -> dict[str, Any]:
    """The bot's ChatMember object with `status` in a group, as Telegram shapes it."""
    member: dict[str, Any] = {"status": status, "user": bot.user.to_json()}
    if status == "administrator":
        rights = dict(ADMIN_RIGHTS)
        if chat.type == "channel":
            rights.update(CHANNEL_RIGHTS)
        elif chat.type == "supergroup":
            rights["can_manage_topics"] = False  # a supergroup's right, off unless given
        member.update(_flags(rights, body.get("rights"), "rights"))
    elif status == "restricted":
        member.update(_flags(RESTRICTED_PERMISSIONS, body.get("permissions"), "permissions"))
        member["until_date"] = _until_date(body)
    elif status == "kicked":
        member["until_date"] = _until_date(body)
    return member


def set_bot_status(
    bot: BotState, chat_id: int, user_id: int, body: dict[str, Any]
) -> PendingUpdate | None:
    """A group admin `user_id` adds, promotes, restricts or removes the bot: my_chat_member.

    None if the bot's ChatMember did not change (Telegram sends no update then).
    """
    status = body.get("status")
    if status not in BOT_STATUSES:
        raise ControlError(400, f"status must be one of {sorted(BOT_STATUSES)}")
    chat_type = body.get("chat_type")
    if chat_type is None:
        chat_type = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
    if chat_type == "private" or chat_id >= 0:
        raise ControlError(400, "my_chat_member shapes here are for groups: a negative chat_id")
    user = _user(
        bot, user_id, body.get("first_name"), body.get("username"), body.get("language_code")
    )
    existing = bot.chats.get(chat_id)
    if existing is not None and existing.type == "channel":  # made by POST /emulator/chats
        if status in ("member", "restricted"):
            raise ControlError(400, "a bot is only ever an administrator of a channel")
        chat = existing
    else:
        chat = _chat(bot, user, chat_id, chat_type)
    record_actor(bot, chat, user.id)
    if isinstance(body.get("title"), str):
        chat.title = body["title"]
    old = bot.memberships.get(chat.id, {"status": "left", "user": bot.user.to_json()})
    new = bot_member(bot, status, chat, body)
    if new == old:
        return None
    bot.memberships[chat.id] = new
    payload = {
        "chat": chat.to_json(),
        "from": user.to_json(),
        "date": now_date(),
        "old_chat_member": old,
        "new_chat_member": new,
    }
    return bot.push_update({"my_chat_member": payload})
