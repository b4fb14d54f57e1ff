"""What a Bot API method sees: the emulator state, the calling bot, and shared helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.chats import GROUP_ANONYMOUS_BOT, check_can_post
from emulator.errors import BOT_BLOCKED, CHAT_NOT_FOUND, ApiError, bad_request, too_many_requests
from emulator.keyboard import inline_only
from emulator.state import BotState, Chat, EmulatorState, Message


@dataclass
class ApiContext:
    state: EmulatorState
    bot: BotState

    def chat(self, chat_id: int) -> Chat:
        chat = self.bot.chats.get(chat_id)
        if chat is None:
            raise bad_request(CHAT_NOT_FOUND)
        return chat

    def outgoing(self, chat_id: int, *, paid: bool = False, counts_as_sent: bool = True) -> Chat:
        """Admit one outgoing message: known chat, not blocked, within the flood limits."""
        chat = self.chat(chat_id)
        if chat.type == "private" and chat_id in self.bot.blocked:
            self.state.stats.forbidden += 1
            raise ApiError(403, BOT_BLOCKED)
        try:
            check_can_post(self.bot, chat)
        except ApiError as error:
            if error.code == 403:
                self.state.stats.forbidden += 1
            raise
        refusal = self.state.limiter.check_and_count(self.bot.id, chat_id, paid=paid)
        if refusal is not None:
            self.state.stats.refused(refusal.scope)
            raise too_many_requests(refusal.retry_after)
        if counts_as_sent:
            self.state.stats.sent(self.state.clock())
        return chat

    def message_json(self, message: Message, *, with_reply: bool = True) -> dict[str, Any]:
        """The Bot API Message object (a replied-to message in it has no reply of its own)."""
        chat = self.bot.chats[message.chat_id]
        data: dict[str, Any] = {"message_id": message.message_id}
        if chat.type == "channel":  # a channel post has no `from`: the channel itself posts
            data["sender_chat"] = chat.to_json()
        elif message.anonymous:  # Telegram shows the group, and a stand-in bot as `from`
            data["from"] = dict(GROUP_ANONYMOUS_BOT)
            data["sender_chat"] = chat.to_json()
        elif message.outgoing:
            data["from"] = self.bot.user.to_json()
        else:
            data["from"] = self.bot.users[message.sender_id].to_json()
        data.update(chat=chat.to_json(), date=message.date, text=message.plain)
        if message.thread_id is not None:
            data["message_thread_id"] = message.thread_id
            if chat.is_forum:
                data["is_topic_message"] = True
        if message.entities:
            data["entities"] = message.entities
        if (markup := inline_only(message.reply_markup)) is not None:
            data["reply_markup"] = markup
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        replied = self.bot.messages.get(message.chat_id, {}).get(message.reply_to or 0)
        if with_reply and replied is not None:
            data["reply_to_message"] = self.message_json(replied, with_reply=False)
        return data
