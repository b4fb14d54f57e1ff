"""The Bot's JSON-body session against the emulator: what aiogram's form session did, cheaper."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.types import BufferedInputFile
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiohttp import web

from messaging.transport.json_session import JsonSession
from messaging.transport.write_window import Write, WriteWindow
from tests.messaging.conftest import TOKEN, TgEnv


def _bot(base: str) -> Bot:
    return Bot(TOKEN, session=JsonSession(api=TelegramAPIServer.from_base(base)))


async def test_a_message_with_a_keyboard_and_its_edit_arrive_as_sent(tg: TgEnv) -> None:
    await tg.open_chats([5])
    bot = _bot(tg.url)
    try:
        kb = InlineKeyboardBuilder()
        kb.button(text="Details", callback_data="op:details:x")
        sent = await bot.send_message(
            5, "<b>BTC</b> 0.9%", parse_mode="HTML", reply_markup=kb.as_markup()
        )
        await bot.edit_message_text(
            "<i>closed</i>", chat_id=5, message_id=sent.message_id, parse_mode="HTML"
        )
        (got,) = await tg.messages(5, min_count=1)
    finally:
        await bot.session.close()
    assert got["message_id"] == sent.message_id
    assert got["plain_text"] == "closed"
    assert len(got["edits"]) == 1
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "op:details:x"


async def test_telegram_errors_keep_their_aiogram_types(tg: TgEnv) -> None:
    bot = _bot(tg.url)
    try:
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await bot.send_message(404, "nobody here")
    finally:
        await bot.session.close()


async def test_an_unreachable_server_is_a_network_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        bot = _bot(f"http://127.0.0.1:{port}")
        try:
            with pytest.raises(TelegramNetworkError):
                await bot.send_message(5, "hello?")
        finally:
            await bot.session.close()


async def test_a_file_upload_goes_as_multipart_and_the_rest_as_json() -> None:
    """The emulator has no sendDocument: a two-route server records what each call was sent as."""
    seen: dict[str, str] = {}

    async def record(request: web.Request) -> web.Response:
        seen[request.match_info["method"]] = request.content_type
        body = {"ok": False, "error_code": 400, "description": "Bad Request: x"}
        return web.json_response(body, status=400)

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    bot = _bot(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(TelegramBadRequest):
            await bot.send_document(5, BufferedInputFile(b"a,b\n1,2\n", filename="x.csv"))
        with pytest.raises(TelegramBadRequest):
            await bot.send_message(5, "text")
    finally:
        await bot.session.close()
        await runner.cleanup()
    assert seen == {"sendDocument": "multipart/form-data", "sendMessage": "application/json"}


async def test_paced_calls_pass_the_write_gate_last_and_report_their_answer() -> None:
    """The gate runs after the other request middlewares (the outbox's sending mark) and right
    before the request is written; its write is marked done once the answer is back. Calls that
    Telegram's flood limits do not count (getMe) skip it."""
    order: list[str] = []
    writes: list[Write] = []

    async def record(request: web.Request) -> web.Response:
        order.append(f"server:{request.match_info['method']}")
        if request.match_info["method"] == "getMe":
            me = {"id": 1, "is_bot": True, "first_name": "b", "username": "b_bot"}
            return web.json_response({"ok": True, "result": me})
        body = {"ok": False, "error_code": 400, "description": "Bad Request: x"}
        return web.json_response(body, status=400)

    window = WriteWindow()

    async def gate() -> Write:
        order.append("gate")
        write = await window.enter()
        writes.append(write)
        return write

    class Mark(BaseRequestMiddleware):
        async def __call__(self, make_request: Any, bot: Bot, method: Any) -> Any:
            order.append("mark")
            return await make_request(bot, method)

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    session = JsonSession(
        api=TelegramAPIServer.from_base(f"http://127.0.0.1:{port}"), before_write=gate
    )
    session.middleware(Mark())
    bot = Bot(TOKEN, session=session)
    try:
        await bot.get_me()
        with pytest.raises(TelegramBadRequest):
            await bot.send_message(5, "text")
    finally:
        await bot.session.close()
        await runner.cleanup()
    assert order == ["mark", "server:getMe", "mark", "gate", "server:sendMessage"]
    assert len(writes) == 1 and writes[0].answered is not None
    assert writes[0].answered >= writes[0].written
