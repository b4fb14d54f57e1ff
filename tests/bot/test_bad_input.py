"""Bad input never crashes the bot, gets a 2xx where a retry cannot help, and loses nothing."""

from __future__ import annotations

from typing import Any

import pytest

from bot.webhook import BAD_UPDATE_EVENT
from core.events import EventName
from messaging.ui import templates
from tests.bot.conftest import BotEnv


def _webhook_url(env: BotEnv) -> str:
    tg = env.services.settings.telegram
    return f"http://{tg.webhook_host}:{tg.webhook_port}{tg.webhook_path}"


def _secret(env: BotEnv) -> dict[str, str]:
    secret = env.services.settings.telegram.webhook_secret.get_secret_value()
    return {"X-Telegram-Bot-Api-Secret-Token": secret}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1,2,3]",
        b'{"update_id": "x"}',
        b'{"message": {"text": "no ids"}}',
        b'{"update_id": 5, "message": {"message_id": 1}}',
    ],
)
async def test_malformed_webhook_bodies_are_acknowledged_and_recorded(
    botenv: BotEnv, body: bytes
) -> None:
    async with botenv.http.post(_webhook_url(botenv), data=body, headers=_secret(botenv)) as resp:
        assert resp.status == 200
    assert len(botenv.services.events.named(BAD_UPDATE_EVENT)) == 1
    await botenv.send(1, "/start")  # the bot still works
    assert "Welcome" in (await botenv.messages(1))[0]["text"]


async def test_a_wrong_secret_token_is_refused(botenv: BotEnv) -> None:
    body = b'{"update_id": 1}'
    async with botenv.http.post(_webhook_url(botenv), data=body) as resp:
        assert resp.status == 401
    bad = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
    async with botenv.http.post(_webhook_url(botenv), data=body, headers=bad) as resp:
        assert resp.status == 401


async def test_unknown_update_types_are_ignored_without_error(botenv: BotEnv) -> None:
    update: dict[str, Any] = {"update_id": 4242, "some_future_update": {"x": 1}}
    async with botenv.http.post(_webhook_url(botenv), json=update, headers=_secret(botenv)) as resp:
        assert resp.status == 200
    await botenv.send(1, "/help")
    assert "/start" in (await botenv.last(1))["text"]


async def test_huge_text_gets_an_answer(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    await botenv.send(1, "x" * 4096)
    assert (await botenv.last(1))["text"] == templates.STRAY_TEXT
    await botenv.send(1, "/" + "a" * 4000)
    assert "I don't know /" in (await botenv.last(1))["text"]


async def test_unknown_and_forged_callback_data_is_answered(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    message = next(m for m in await botenv.messages(1) if m.get("reply_markup"))
    for data in ("zz:unknown", "op:explode", "ob:::", "x" * 64):
        await botenv.press(1, message["message_id"], data)
    answers = await botenv.callback_answers(1)
    assert len(answers) == 4
    assert all(a["text"] for a in answers)


async def test_group_chatter_is_ignored_and_a_group_command_points_to_the_private_chat(
    botenv: BotEnv,
) -> None:
    await botenv.send(1, "hello group", chat_type="group", chat_id=-100)
    assert await botenv.messages(-100) == []
    await botenv.send(1, "/opportunities", chat_type="group", chat_id=-100)
    assert (await botenv.last(-100))["text"].startswith("🔒 /opportunities is personal")


async def test_a_repeated_update_is_handled_once(botenv: BotEnv) -> None:
    update = {
        "update_id": 777,
        "message": {
            "message_id": 1,
            "date": 0,
            "text": "/start",
            "chat": {"id": 5, "type": "private"},
            "from": {"id": 5, "is_bot": False, "first_name": "Eve"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    for _ in range(2):
        async with botenv.http.post(
            _webhook_url(botenv), json=update, headers=_secret(botenv)
        ) as r:
            assert r.status == 200
    assert len(botenv.services.events.named(EventName.SESSION_STARTED)) == 1
