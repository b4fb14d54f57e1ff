"""A button answered after Telegram's window ("query is too old": a slow handler, or a backlog of
updates) is handled quietly: no ERROR traceback, no "something went wrong" to the user, and the
work the handler did before answering stays done. Real path: aiogram over HTTP to the emulator,
which expires callback queries 15 s after the press; the press is made `age` seconds old."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery

from core.models import Opportunity, OpportunityType, Priority
from messaging.transport.late_answers import is_late_callback_answer
from messaging.ui import templates
from tests.bot.conftest import BotEnv


async def press_late(env: BotEnv, user_id: int, message_id: int, data: str) -> dict[str, Any]:
    """A press that waited 20 s before the bot got it; returns once the bot has handled it."""
    body = {"message_id": message_id, "data": data, "age": 20, "wait": True, "timeout": 10}
    async with env.http.post(f"{env.url}/emulator/users/{user_id}/callbacks", json=body) as resp:
        result: dict[str, Any] = await resp.json()
        assert resp.status == 200, result
        return result


async def open_settings(env: BotEnv, uid: int) -> int:
    await env.send(uid, "/start")
    await env.send(uid, "/settings")
    menu = await env.last(uid)
    assert "Your settings" in menu["plain_text"]
    return int(menu["message_id"])


async def check_late_press_is_quiet(env: BotEnv, caplog: pytest.LogCaptureFixture) -> None:
    uid = 1
    mid = await open_settings(env, uid)
    sent_before = len(await env.messages(uid))
    with caplog.at_level(logging.INFO):
        pressed = await press_late(env, uid, mid, "set:push:0")
    assert pressed["delivered"] is True
    # The bot did try to answer, and the emulator refused it as too old.
    async with env.http.get(f"{env.url}/emulator/stats") as resp:
        stats = await resp.json()
    assert stats["calls"].get("answerCallbackQuery", 0) >= 1
    assert await env.callback_answers(uid) == []
    # Quiet: nothing at ERROR, no traceback, and the user is not told something broke.
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert loud == [], [r.getMessage() for r in loud]
    assert any("too late" in r.getMessage() for r in caplog.records)
    texts = [m["plain_text"] for m in await env.messages(uid)]
    assert templates.TRY_AGAIN not in texts
    assert len(texts) == sent_before
    # What the handler did before answering stays done: saved and re-rendered.
    assert (await env.services.profiles.get(uid)).preferences.push_enabled is False
    menu = next(m for m in await env.messages(uid) if m["message_id"] == mid)
    assert "Push alerts: off" in menu["plain_text"]


async def test_a_late_answer_in_webhook_mode_is_quiet(
    botenv: BotEnv, caplog: pytest.LogCaptureFixture
) -> None:
    await check_late_press_is_quiet(botenv, caplog)


async def test_a_late_answer_in_polling_mode_is_quiet(
    polling_botenv: BotEnv, caplog: pytest.LogCaptureFixture
) -> None:
    await check_late_press_is_quiet(polling_botenv, caplog)


async def test_an_answer_in_time_still_reaches_the_user(botenv: BotEnv) -> None:
    """The window only refuses late answers: a fresh press is answered as before."""
    mid = await open_settings(botenv, 1)
    await botenv.press(1, mid, "set:push:0")
    assert len(await botenv.callback_answers(1)) == 1


def test_only_query_too_old_from_answer_callback_query_is_a_late_answer() -> None:
    """Only "query is too old" is quiet: a different refusal of the same answer is a bug."""
    method = AnswerCallbackQuery(callback_query_id="1")
    late = TelegramBadRequest(
        method, "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    other = TelegramBadRequest(method, "Bad Request: MESSAGE_TOO_LONG")
    assert is_late_callback_answer(late)
    assert not is_late_callback_answer(other)
    assert not is_late_callback_answer(RuntimeError("query is too old"))


async def test_work_after_a_late_answer_still_happens(botenv: BotEnv) -> None:
    """Details answers the press first, then sends the card: a late answer must not skip it."""
    now = botenv.clock.now()
    opp = Opportunity(
        opportunity_id="fund1", type=OpportunityType.FUNDING, symbol="BTC/USDT",
        buy_exchange="binance", sell_exchange="okx", buy_price=100.0, sell_price=100.4,
        net_spread_pct=0.4, expected_profit_pct=0.4, confidence=0.8, priority=Priority.HIGH,
        detected_at=now - 600, updated_at=now, expires_at=now + 900,
    )  # fmt: skip
    await botenv.services.opportunities.put(opp)
    await botenv.send(1, "/start")
    await botenv.send(1, "/opportunities")
    listing = await botenv.last(1)
    before = len(await botenv.messages(1))
    await press_late(botenv, 1, int(listing["message_id"]), "op:details:fund1")
    after = await botenv.messages(1)
    assert len(after) == before + 1
    assert "BTC/USDT" in after[-1]["plain_text"]
