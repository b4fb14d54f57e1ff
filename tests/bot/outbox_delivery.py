"""Delivering a durable outbox through the bot, as the push sender does, for tests that drive a
queue shard without Ray: each claimed message is sent with aiogram to the emulator and
acknowledged with its Telegram message id."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, Message

from messaging.outbox.message import OutboxMessage
from messaging.outbox.store import Outbox

from .conftest import BotEnv


async def deliver(botenv: BotEnv, outbox: Outbox) -> list[tuple[OutboxMessage, Message]]:
    """Send what the outbox holds; returns each message with what Telegram answered."""
    sent = []
    for entry in await outbox.claim("test-sender", count=100):
        m = entry.message
        markup = (
            InlineKeyboardMarkup.model_validate_json(m.reply_markup) if m.reply_markup else None
        )
        msg = await botenv.bot.send_message(m.chat_id, m.text, reply_markup=markup)
        await outbox.ack(entry, msg.message_id)
        sent.append((m, msg))
    return sent
