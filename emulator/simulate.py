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
    message = bot.messages.get(chat_id, {}).get(message_id)
    if message is None or message.deleted or not message.outgoing:
        raise ControlError(404, f"no message {message_id} from the bot in chat {chat_id}")
    user = _user(bot, user_id, body.get("first_name"), body.get("username"))
    bot.chats[chat_id].members.add(user.id)
    query = CallbackQuery(bot.new_callback_id(), user.id, chat_id, message_id, data)
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
