"""Groups, supergroups and channels: who is in them (with Telegram's ChatMember shapes), forum
topics, and whether the bot may post there, refused with Telegram's own error texts.

A chat's roster is kept per bot, like every other emulated chat. Chats made before rosters
existed (a user simply wrote in a negative chat id) have an empty roster: their writers count as
members and the bot may post unless a `bot_status` call said otherwise, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator import errors as e
from emulator.errors import ApiError, ControlError, bad_request

if TYPE_CHECKING:
    from emulator.state import BotState, Chat

MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "restricted", "left", "kicked"})
ADMIN_STATUSES = frozenset({"creator", "administrator"})
PRESENT_STATUSES = frozenset({"creator", "administrator", "member", "restricted"})
# A user promoted with Telegram's defaults (a person, unlike the bot, may promote others).
USER_ADMIN_RIGHTS: dict[str, bool] = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": True,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
    "can_send_welcome_messages": False,
    "can_pin_messages": True,
}
# A restricted member or bot may only stay; `permissions` in bot_status overrides these.
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
# A channel administrator's own rights (the bot needs can_post_messages to broadcast).
CHANNEL_RIGHTS: dict[str, bool] = {"can_post_messages": True, "can_edit_messages": True}
# An anonymous admin's messages come `from` this bot, with the group as `sender_chat`.
GROUP_ANONYMOUS_BOT: dict[str, Any] = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)


@dataclass
class Topic:
    message_thread_id: int
    name: str
    icon_color: int
    closed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }


@dataclass
class Roster:
    """The people of one group or channel (user_id -> ChatMember fields but `user`) and topics."""

    members: dict[int, dict[str, Any]] = field(default_factory=dict)
    topics: dict[int, Topic] = field(default_factory=dict)
    migrated_to: int | None = None  # a basic group upgraded to this supergroup

    def status(self, user_id: int) -> str | None:
        member = self.members.get(user_id)
        return None if member is None else str(member["status"])


def roster(bot: BotState, chat_id: int) -> Roster:
    return bot.rosters.setdefault(chat_id, Roster())


def member_fields(
    status: str, chat_type: str, rights: Any = None, until_date: int = 0
) -> dict[str, Any]:
    """A user's ChatMember object without `user`, shaped as Telegram shapes each status."""
    if status not in MEMBER_STATUSES:
        raise ControlError(400, f"status must be one of {sorted(MEMBER_STATUSES)}")
    member: dict[str, Any] = {"status": status}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        defaults = dict(USER_ADMIN_RIGHTS)
        if chat_type == "channel":
            defaults.update(CHANNEL_RIGHTS)
        elif chat_type == "supergroup":
            defaults["can_manage_topics"] = True
        if rights is not None:
            flags = rights.values() if isinstance(rights, dict) else [None]
            if not all(isinstance(v, bool) for v in flags):
                raise ControlError(400, "rights must be an object of booleans")
            unknown = sorted(set(rights) - set(defaults))
            if unknown:
                raise ControlError(400, f"unknown rights: {unknown}; known: {sorted(defaults)}")
            defaults.update(rights)
        member.update(defaults)
    elif status == "restricted":
        member.update(RESTRICTED_PERMISSIONS, until_date=until_date)
    elif status == "kicked":
        member["until_date"] = until_date
    return member


def member_json(bot: BotState, chat: Chat, user_id: int) -> dict[str, Any]:
    """getChatMember of a user (not the bot): the roster's status, or what Telegram answers."""
    user = bot.users.get(user_id)
    if user is None:
        raise bad_request(e.USER_NOT_FOUND)
    if chat.type == "private":
        if user_id != chat.id:
            raise bad_request(e.USER_NOT_FOUND)
        return {"status": "member", "user": user.to_json()}
    fields = bot.rosters.get(chat.id, Roster()).members.get(user_id)
    if fields is None:  # a legacy chat's writer is a member; anyone else has left
        fields = {"status": "member" if user_id in chat.members else "left"}
    return {**fields, "user": user.to_json()}


def administrators(bot: BotState, chat: Chat) -> list[dict[str, Any]]:
    """getChatAdministrators: the creator first, then the admins, the bot among them if it is."""
    if chat.type == "private":
        raise bad_request(e.NO_ADMINS_IN_PRIVATE)
    people = bot.rosters.get(chat.id, Roster()).members
    found = [
        {**fields, "user": bot.users[uid].to_json()}
        for uid, fields in people.items()
        if fields["status"] in ADMIN_STATUSES and uid in bot.users
    ]
    found.sort(key=lambda m: m["status"] != "creator")
    mine = bot.memberships.get(chat.id)
    if mine is not None and mine["status"] == "administrator":
        found.append(mine)
    return found


def check_can_post(bot: BotState, chat: Chat) -> None:
    """Refuse a send to a group or channel the bot is not (allowed to post) in, as Telegram."""
    if chat.type == "private":
        return
    moved = bot.rosters.get(chat.id, Roster()).migrated_to
    if moved is not None:
        raise ApiError(400, e.UPGRADED, migrate_to_chat_id=moved)
    mine = bot.memberships.get(chat.id)
    status = None if mine is None else mine["status"]
    if chat.type == "channel":
        if status == "kicked":
            raise ApiError(403, e.KICKED_FROM.format(kind="channel"))
        if status in (None, "left"):
            raise ApiError(403, e.NOT_A_MEMBER.format(kind="channel"))
        if mine is None or status != "administrator" or not mine.get("can_post_messages"):
            raise bad_request(e.NEED_CHANNEL_ADMIN)
        return
    if status == "kicked":
        raise ApiError(403, e.KICKED_FROM.format(kind=chat.type))
    if status == "left":
        if chat.type == "group":  # Telegram hides a basic group the bot left
            raise bad_request(e.CHAT_NOT_FOUND)
        raise ApiError(403, e.NOT_A_MEMBER.format(kind=chat.type))
    if status == "restricted" and mine is not None and not mine.get("can_send_messages"):
        raise bad_request(e.NOT_ENOUGH_RIGHTS_TEXT)


def check_thread(bot: BotState, chat: Chat, thread_id: int | None) -> int | None:
    """The message_thread_id a send goes to: a forum's open topic, or a reply thread's root."""
    if thread_id is None or thread_id == 0:
        return None
    if chat.type == "supergroup" and chat.is_forum:
        topic = bot.rosters.get(chat.id, Roster()).topics.get(thread_id)
        if topic is None:  # the General topic (1) too: Telegram wants no thread id for it
            raise bad_request(e.THREAD_NOT_FOUND)
        if topic.closed:
            raise bad_request(e.TOPIC_CLOSED)
        return thread_id
    root = bot.messages.get(chat.id, {}).get(thread_id)
    if root is None or root.deleted:
        raise bad_request(e.THREAD_NOT_FOUND)
    return thread_id


def resolve_username(bot: BotState, value: Any) -> Any:
    """`@name` as chat_id: the id of the public group or channel so named; else as given."""
    if not isinstance(value, str) or not value.startswith("@"):
        return value
    wanted = value[1:].lower()
    for chat in bot.chats.values():
        if chat.type != "private" and chat.username and chat.username.lower() == wanted:
            return chat.id
    return value


def record_actor(bot: BotState, chat: Chat, user_id: int) -> None:
    """Whoever changes the bot's status acts as an admin: an unknown actor becomes the chat's
    creator (if it has none yet) or an administrator."""
    people = roster(bot, chat.id)
    if people.status(user_id) in ADMIN_STATUSES:
        return
    has_creator = any(m["status"] == "creator" for m in people.members.values())
    status = "administrator" if has_creator else "creator"
    people.members[user_id] = member_fields(status, chat.type)
    chat.members.add(user_id)


def check_writer(bot: BotState, chat: Chat, user_id: int, *, message: bool) -> None:
    """Refuse (409) a simulated user acting where Telegram would not let them, or where the bot
    would hear nothing; a newcomer to a group with a roster joins it as a member."""
    if chat.type == "private":
        return
    if chat.type == "channel" and message:
        raise ControlError(409, f"only the bot posts in channel {chat.id}; users read it")
    moved = roster(bot, chat.id).migrated_to
    if moved is not None:
        raise ControlError(409, f"group {chat.id} was upgraded: write in supergroup {moved}")
    status = roster(bot, chat.id).status(user_id)
    if status in ("left", "kicked"):
        raise ControlError(
            409,
            f"user {user_id} is not in chat {chat.id} (status {status}): "
            f'POST /emulator/chats/{chat.id}/members/{user_id} {{"status": "member"}} first',
        )
    mine = bot.memberships.get(chat.id)
    if message and mine is not None and mine["status"] in ("left", "kicked"):
        raise ControlError(
            409,
            f"the bot is not in chat {chat.id} (status {mine['status']}), so Telegram would "
            "send it nothing: add it with POST /emulator/chats/{chat_id}/bot_status",
        )
    if status is None and chat.type != "channel" and bot.rosters[chat.id].members:
        bot.rosters[chat.id].members[user_id] = member_fields("member", chat.type)


def check_anonymous(bot: BotState, chat: Chat, user_id: int) -> None:
    """Only a group's admins may write anonymously (as the group)."""
    if chat.type not in ("group", "supergroup") or roster(bot, chat.id).status(user_id) not in (
        ADMIN_STATUSES
    ):
        raise ControlError(409, f"only an admin of group {chat.id} can write anonymously")
