"""Driving the settings screens in tests: a message's buttons, pressing one, opening /settings."""

from __future__ import annotations

from typing import Any

from tests.bot.conftest import BotEnv


def buttons(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]


async def message_by_id(env: BotEnv, uid: int, message_id: int) -> dict[str, Any]:
    return next(m for m in await env.messages(uid) if m["message_id"] == message_id)


async def click(env: BotEnv, uid: int, message_id: int, data: str) -> dict[str, Any]:
    """Press a button of the message, then return the message as it is now."""
    message = await message_by_id(env, uid, message_id)
    assert data in buttons(message), f"{data} is not a button of {buttons(message)}"
    await env.press(uid, message_id, data)
    return await message_by_id(env, uid, message_id)


async def open_settings(env: BotEnv, uid: int = 1) -> int:
    """/start, then /settings; returns the settings message's id."""
    await env.send(uid, "/start")
    await env.send(uid, "/settings")
    return int((await env.last(uid))["message_id"])
