"""What simulated users do: write messages, press buttons, block and unblock the bot."""

from __future__ import annotations

import re
from typing import Any

from emulator.context import ApiContext
from emulator.errors import ControlError
from emulator.html import utf16_len
from emulator.state import BotState, CallbackQuery, Chat, EmulatorState, Message, User, now_date
from emulator.updates import PendingUpdate

COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?(?=\s|$)")
CHAT_TYPES = frozenset({"private", "group", "supergroup"})


def _user(bot: BotState, user_id: int, first_name: str | None, username: str | None) -> User:
    user = bot.users.get(user_id)
    if user is None:
        user = bot.users[user_id] = User(user_id, first_name or f"User {user_id}")
    if first_name:
        user.first_name = first_name
    if username:
        user.username = username
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
    user = _user(bot, user_id, body.get("first_name"), body.get("username"))
    chat = _chat(bot, user, body.get("chat_id"), body.get("chat_type"))
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
    user = _user(bot, user_id, body.get("first_name"), body.get("username"))
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
# A restricted bot may do nothing but stay; `permissions` in the control call overrides them.
RESTRICTED_PERMISSIONS: dict[str, bool] = {
    "is_member": True,
    "can_send_messages": False,
    "can_send_audios": False,
    "can_send_documents": False,
    "can_send_photos": False,
    "can_send_videos": False,
    "can_send_video_notes": False,
    "can_send_voice_notes": False,
    "can_send_polls": False,
    "can_send_other_messages": False,
    "can_add_web_page_previews": False,
    "can_react_to_messages": False,
    "can_edit_tag": False,
    "can_change_info": False,
    "can_invite_users": False,
    "can_pin_messages": False,
    "can_manage_topics": False,
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
        member.update(_flags(ADMIN_RIGHTS, body.get("rights"), "rights"))
        if chat.type == "supergroup":
            member.setdefault("can_manage_topics", False)
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
    user = _user(bot, user_id, body.get("first_name"), body.get("username"))
    chat = _chat(bot, user, chat_id, chat_type)
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
