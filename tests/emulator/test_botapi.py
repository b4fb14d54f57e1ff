"""A real aiogram Bot against the emulator: shapes, HTML, keyboards, edits and Telegram's errors."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNotFound, TelegramUnauthorizedError
from aiogram.methods import TelegramMethod
from aiogram.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from emulator.server import EmulatorServer
from tests.emulator.conftest import TOKEN, Control, make_bot


def _keyboard(data: str = "pick:1") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Pick", callback_data=data)]]
    )


async def test_get_me_returns_the_bot_user_from_the_token(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username


async def test_send_message_with_html_and_keyboard(bot: Bot, control: Control) -> None:
    await control.say(7, "hello")
    sent = await bot.send_message(
        7, "<b>Deal</b> found", parse_mode="HTML", reply_markup=_keyboard()
    )
    assert sent.text == "Deal found"
    assert sent.chat.id == 7
    assert sent.chat.type == "private"
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == _keyboard().model_dump()
    listed = await control.messages(7)
    assert [(m["message_id"], m["text"], m["parse_mode"]) for m in listed] == [
        (sent.message_id, "<b>Deal</b> found", "HTML")
    ]
    assert listed[0]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Pick", "callback_data": "pick:1"}]]
    }


async def test_bad_html_raises_telegram_bad_request(bot: Bot, control: Control) -> None:
    await control.say(7, "hello")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(7, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Unsupported start tag"):
        await bot.send_message(7, "<blink>x</blink>", parse_mode="HTML")
    assert await control.messages(7) == []


async def test_callback_data_over_64_bytes_is_button_data_invalid(
    bot: Bot, control: Control
) -> None:
    await control.say(7, "hello")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(7, "x", reply_markup=_keyboard("é" * 33))  # 66 bytes
    await bot.send_message(7, "x", reply_markup=_keyboard("d" * 64))


async def test_unknown_chat_empty_and_too_long_texts_are_refused(
    bot: Bot, control: Control
) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(999, "hi")
    await control.say(7, "hello")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(7, "<b> </b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(7, "x" * 4097)
    await bot.send_message(7, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")


async def test_edit_message_text_keeps_history(bot: Bot, control: Control) -> None:
    await control.say(7, "hello")
    sent = await bot.send_message(7, "v1", reply_markup=_keyboard())
    edited = await bot.edit_message_text(
        text="<i>v2</i>", chat_id=7, message_id=sent.message_id, parse_mode="HTML"
    )
    assert not isinstance(edited, bool)
    assert edited.text == "v2"
    assert edited.edit_date is not None
    assert edited.reply_markup is None  # an edit without reply_markup drops the keyboard
    [listed] = await control.messages(7)
    assert listed["text"] == "<i>v2</i>"
    assert [v["text"] for v in listed["edits"]] == ["v1"]


async def test_identical_edit_is_message_not_modified(bot: Bot, control: Control) -> None:
    await control.say(7, "hello")
    sent = await bot.send_message(7, "same", reply_markup=_keyboard())
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="same", chat_id=7, message_id=sent.message_id, reply_markup=_keyboard()
        )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=7, message_id=sent.message_id, reply_markup=_keyboard()
        )
    await bot.edit_message_reply_markup(chat_id=7, message_id=sent.message_id)
    assert (await control.messages(7))[0]["reply_markup"] is None


async def test_editing_or_deleting_a_missing_message_fails(bot: Bot, control: Control) -> None:
    await control.say(7, "hello")
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=7, message_id=404)
    sent = await bot.send_message(7, "bye")
    assert await bot.delete_message(7, sent.message_id) is True
    assert (await control.messages(7))[0]["deleted"] is True
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(7, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=7, message_id=sent.message_id)


async def test_answer_callback_query_is_recorded_once(bot: Bot, control: Control) -> None:
    await control.say(7, "hello")
    sent = await bot.send_message(7, "menu", reply_markup=_keyboard())
    pressed = await control.post(
        "/emulator/users/7/callbacks", {"message_id": sent.message_id, "data": "pick:1"}
    )
    update = (await bot.get_updates(offset=-1, timeout=0))[0]
    query = update.callback_query
    assert query is not None
    assert query.id == pressed["callback_query_id"]
    assert query.data == "pick:1"
    assert query.message is not None
    assert query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="Done", show_alert=True)
    answers = await control.get("/emulator/chats/7/callback_answers")
    assert [(a["text"], a["show_alert"]) for a in answers] == [("Done", True)]
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("nope")


async def test_bad_token_raises_unauthorized(emulator: EmulatorServer) -> None:
    bad = make_bot(emulator.url, token="42:short")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await bad.get_me()
    finally:
        await bad.session.close()


async def test_unknown_method_is_404_not_found(bot: Bot, control: Control) -> None:
    class Nope(TelegramMethod[bool]):
        __returning__ = bool
        __api_method__ = "sendTelepathy"

    with pytest.raises(TelegramNotFound, match="Not Found"):
        await bot(Nope())
    status, body = await control.bot_api(TOKEN, "sendTelepathy")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


async def test_method_names_are_case_insensitive_and_json_bodies_work(control: Control) -> None:
    status, body = await control.bot_api(TOKEN, "GETME")
    assert status == 200
    assert body["result"]["id"] == 123456
    await control.say(7, "hi")
    status, body = await control.bot_api(TOKEN, "sendmessage", chat_id=7, text="json")
    assert (status, body["result"]["text"]) == (200, "json")


async def test_urlencoded_and_query_parameters_work(
    emulator: EmulatorServer, http: aiohttp.ClientSession, control: Control
) -> None:
    await control.bot_api(TOKEN, "getMe")
    await control.say(7, "hi")
    url = f"{emulator.url}/bot{TOKEN}/sendMessage?chat_id=7"
    async with http.post(url, data={"text": "form"}) as resp:
        assert (await resp.json())["result"]["text"] == "form"


async def test_missing_chat_id_is_a_bad_request(control: Control) -> None:
    status, body = await control.bot_api(TOKEN, "sendMessage", text="x")
    assert (status, body["description"]) == (400, "Bad Request: chat_id is empty")


async def test_chat_member_chat_action_and_commands(bot: Bot, control: Control) -> None:
    await control.say(7, "hi", first_name="Ann")
    chat = await bot.get_chat(7)
    assert chat.first_name == "Ann"
    member = await bot.get_chat_member(7, 7)
    assert member.status == "member"
    assert await bot.send_chat_action(7, "typing")
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(7, "dancing")
    commands = [BotCommand(command="start", description="Start")]
    assert await bot.set_my_commands(commands)
    assert [c.model_dump() for c in await bot.get_my_commands()] == [
        c.model_dump() for c in commands
    ]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="bad command", description="x")])
