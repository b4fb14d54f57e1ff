"""The emulator is as strict as Telegram where the bot's correctness depends on it: trimmed texts,
MarkdownV2 escaping, replies to missing messages, webhook URLs, getUpdates offset=-1, and the
my_chat_member shapes of groups, each with Telegram's exact error text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberRestricted,
    ReplyParameters,
    Update,
)

from emulator import errors as e
from emulator.server import EmulatorServer
from tests.emulator.conftest import TOKEN, Control, make_bot

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


def reserved(char: str) -> str:
    return (
        "Bad Request: can't parse entities: "
        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    )


async def test_leading_and_trailing_whitespace_is_trimmed(bot: Bot, control: Control) -> None:
    await control.say(7, "hi")
    sent = await bot.send_message(7, "  \n Deal found \n\n ", parse_mode=None)
    assert sent.text == "Deal found"
    bold = await bot.send_message(7, "\n<b>Deal </b>\n", parse_mode="HTML")
    assert bold.text == "Deal"
    assert bold.entities is not None
    assert [(x.type, x.offset, x.length) for x in bold.entities] == [("bold", 0, 4)]


async def test_whitespace_only_text_is_empty(bot: Bot, control: Control) -> None:
    await control.say(7, "hi")
    with pytest.raises(TelegramBadRequest) as refused:
        await bot.send_message(7, " \n ", parse_mode=None)
    assert refused.value.message == "Bad Request: message text is empty"


async def test_an_edit_equal_after_trimming_is_not_modified(bot: Bot, control: Control) -> None:
    await control.say(7, "hi")
    sent = await bot.send_message(7, "Deal found", parse_mode=None)
    with pytest.raises(TelegramBadRequest) as refused:
        await bot.edit_message_text(
            text="Deal found \n", chat_id=7, message_id=sent.message_id, parse_mode=None
        )
    assert refused.value.message == NOT_MODIFIED
    edited = await bot.edit_message_text(
        text="Deal closed ", chat_id=7, message_id=sent.message_id, parse_mode=None
    )
    assert not isinstance(edited, bool) and edited.text == "Deal closed"


@pytest.mark.parametrize("char", list("_*[]()~`>#+-=|{}.!"))
async def test_markdown_v2_reserved_characters_must_be_escaped(
    bot: Bot, control: Control, char: str
) -> None:
    await control.say(7, "hi")
    text = f"x {char}" if char in "_*[~`|" else f"x{char}y"
    if char in "_*[~`":  # these open an entity: left open, they are another error
        with pytest.raises(TelegramBadRequest, match="Can't find end of"):
            await bot.send_message(7, text, parse_mode="MarkdownV2")
    else:
        with pytest.raises(TelegramBadRequest) as refused:
            await bot.send_message(7, text, parse_mode="MarkdownV2")
        assert refused.value.message == reserved(char)
    escaped = await bot.send_message(7, f"x\\{char}y", parse_mode="MarkdownV2")
    assert escaped.text == f"x{char}y"
    assert [m["text"] for m in await control.messages(7)] == [f"x\\{char}y"]


async def test_markdown_v2_entities_parse_and_inside_code_only_backticks_matter(
    bot: Bot, control: Control
) -> None:
    await control.say(7, "hi")
    sent = await bot.send_message(
        7,
        "*Deal* _BTC_ __u__ ~s~ ||x|| `a.b-c!` [site](https://example.com/a\\)b) 1\\.5%",
        parse_mode="MarkdownV2",
    )
    assert sent.text == "Deal BTC u s x a.b-c! site 1.5%"
    assert sent.entities is not None
    assert [(x.type, x.offset, x.length, x.url) for x in sent.entities] == [
        ("bold", 0, 4, None),
        ("italic", 5, 3, None),
        ("underline", 9, 1, None),
        ("strikethrough", 11, 1, None),
        ("spoiler", 13, 1, None),
        ("code", 15, 6, None),
        ("text_link", 22, 4, "https://example.com/a)b"),
    ]
    with pytest.raises(TelegramBadRequest) as refused:
        await bot.send_message(7, "Profit: 1.5%", parse_mode="MarkdownV2")
    assert refused.value.message == reserved(".")
    with pytest.raises(TelegramBadRequest) as unclosed:
        await bot.send_message(7, "🏟 *bold", parse_mode="MarkdownV2")
    assert unclosed.value.message == (
        "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 5"
    )


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        (">Spread 2\\.1%\n>on BTC\nend", "Spread 2.1%\non BTC\nend", [("blockquote", 0, 19)]),
        ("*>quoted*", "quoted", [("blockquote", 0, 6), ("bold", 0, 6)]),
        ("[docs](example.org)", "docs", [("text_link", 0, 4, "http://example.org/")]),
        ("[docs](nowhere)", "docs", []),
        ("[example\\.org]", "example.org", [("text_link", 0, 11, "http://example.org/")]),
        ("a ![👍](tg://emoji?id=5368324170671202286)", "a 👍", [("custom_emoji", 2, 2)]),
        ("```python\nprint(1)```", "print(1)", [("pre", 0, 8)]),
    ],
)
async def test_markdown_v2_blockquotes_links_emoji_and_pre(
    bot: Bot, control: Control, source: str, text: str, entities: list[tuple[Any, ...]]
) -> None:
    await control.say(7, "hi")
    sent = await bot.send_message(7, source, parse_mode="MarkdownV2")
    assert sent.text == text
    got = [
        (x.type, x.offset, x.length, x.url) if x.url else (x.type, x.offset, x.length)
        for x in sent.entities or []
    ]
    assert got == entities


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("__under", "Can't find end of Underline entity at byte offset 0"),
        ("ok ||hidden", "Can't find end of Spoiler entity at byte offset 3"),
        ("```python code", "Can't find end of PreCode entity at byte offset 0"),
        ("[a](https://x.org", "Can't find end of a URL at byte offset 4"),
        ("![👍]", "Custom emoji entity must contain a tg://emoji URL"),
        (">q ||open\nnext||", "Can't find end of Spoiler entity at byte offset 3"),
        ("1 > 0", "Character '>' is reserved and must be escaped with the preceding '\\'"),
    ],
)
async def test_markdown_v2_errors_are_telegrams(
    bot: Bot, control: Control, source: str, error: str
) -> None:
    await control.say(7, "hi")
    with pytest.raises(TelegramBadRequest) as refused:
        await bot.send_message(7, source, parse_mode="MarkdownV2")
    assert refused.value.message == "Bad Request: can't parse entities: " + error


async def test_a_reply_to_a_missing_message_is_refused(bot: Bot, control: Control) -> None:
    said = await control.say(7, "hi")
    with pytest.raises(TelegramBadRequest) as refused:
        await bot.send_message(7, "re", reply_parameters=ReplyParameters(message_id=999))
    assert refused.value.message == "Bad Request: message to be replied not found"
    status, body = await control.bot_api(
        TOKEN, "sendMessage", chat_id=7, text="re", reply_to_message_id=999
    )
    assert (status, body["description"]) == (400, "Bad Request: message to be replied not found")
    assert await control.messages(7) == []

    lenient = await bot.send_message(
        7, "re", reply_parameters=ReplyParameters(message_id=999, allow_sending_without_reply=True)
    )
    assert lenient.reply_to_message is None
    reply = await bot.send_message(
        7, "re", reply_parameters=ReplyParameters(message_id=said["message_id"])
    )
    assert reply.reply_to_message is not None
    assert (reply.reply_to_message.message_id, reply.reply_to_message.text) == (
        said["message_id"],
        "hi",
    )


async def test_a_reply_to_a_deleted_message_is_refused(bot: Bot, control: Control) -> None:
    await control.say(7, "hi")
    sent = await bot.send_message(7, "menu")
    await bot.delete_message(7, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(7, "re", reply_to_message_id=sent.message_id)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://127.0.0.1:8080/hook", e.WEBHOOK_URL_INVALID),
        ("http://bot.example.com/hook", e.WEBHOOK_URL_INVALID),
        ("bot.example.com/hook", e.WEBHOOK_URL_INVALID),
        ("https://bot.example.com:8080/hook", e.WEBHOOK_PORT_INVALID),
        ("https://bot.example.com:8444/hook", e.WEBHOOK_PORT_INVALID),
    ],
)
async def test_webhooks_need_https_on_telegrams_ports(
    start_emulator: Callable[..., Awaitable[EmulatorServer]], url: str, error: str
) -> None:
    server = await start_emulator(limits="off", allow_insecure_webhooks=False)
    bot = make_bot(server.url)
    try:
        with pytest.raises(TelegramBadRequest) as refused:
            await bot.set_webhook(url)
        assert refused.value.message == error
        assert (await bot.get_webhook_info()).url == ""
    finally:
        await bot.session.close()


@pytest.mark.parametrize("port", ["", ":443", ":80", ":88", ":8443"])
async def test_https_webhooks_on_telegrams_ports_are_accepted(
    start_emulator: Callable[..., Awaitable[EmulatorServer]], port: str
) -> None:
    server = await start_emulator(limits="off", allow_insecure_webhooks=False)
    bot = make_bot(server.url)
    try:
        assert await bot.set_webhook(f"https://bot.example.com{port}/hook")
        await bot.delete_webhook()
    finally:
        await bot.session.close()


async def test_the_development_flag_allows_plain_http_on_any_port(
    bot: Bot, control: Control
) -> None:
    assert (await control.get("/emulator/config"))["allow_insecure_webhooks"] is True
    assert await bot.set_webhook("http://127.0.0.1:9/hook")
    await bot.delete_webhook()
    await control.post("/emulator/config", {"allow_insecure_webhooks": False})
    with pytest.raises(TelegramBadRequest, match="An HTTPS URL must be provided"):
        await bot.set_webhook("http://127.0.0.1:9/hook")


async def test_offset_minus_one_returns_the_last_update_and_forgets_the_older(
    bot: Bot, control: Control
) -> None:
    await control.say(7, "one")
    await control.say(7, "two")
    last = await control.say(7, "three")
    [update] = await bot.get_updates(offset=-1, timeout=0)
    assert update.update_id == last["update_id"]
    assert (await bot.get_webhook_info()).pending_update_count == 1
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [last["update_id"]]


async def _my_chat_member(bot: Bot, control: Control, chat_id: int, **body: Any) -> Update:
    result = await control.post(f"/emulator/chats/{chat_id}/bot_status", {"user_id": 5, **body})
    [raw] = [u for u in await bot.get_updates(timeout=0) if u.update_id == result["update_id"]]
    await bot.get_updates(offset=raw.update_id + 1, timeout=0)
    return raw


async def test_my_chat_member_shapes_for_groups_parse_as_aiogram_types(
    bot: Bot, control: Control
) -> None:
    chat = -1001234567890
    added = await _my_chat_member(bot, control, chat, status="member", title="Traders")
    event = added.my_chat_member
    assert event is not None
    assert (event.chat.id, event.chat.type, event.chat.title) == (chat, "supergroup", "Traders")
    assert event.from_user.id == 5 and event.date is not None
    assert isinstance(event.old_chat_member, ChatMemberLeft)
    assert isinstance(event.new_chat_member, ChatMemberMember)
    assert event.new_chat_member.user.id == 123456

    promoted = (await _my_chat_member(bot, control, chat, status="administrator")).my_chat_member
    assert promoted is not None
    assert isinstance(promoted.old_chat_member, ChatMemberMember)
    admin = promoted.new_chat_member
    assert isinstance(admin, ChatMemberAdministrator)
    assert admin.can_delete_messages and not admin.can_promote_members
    assert admin.can_manage_topics is False  # a supergroup's right

    restricted = await _my_chat_member(
        bot, control, chat, status="restricted", permissions={"can_send_messages": True}
    )
    assert restricted.my_chat_member is not None
    member = restricted.my_chat_member.new_chat_member
    assert isinstance(member, ChatMemberRestricted)
    assert member.is_member and member.can_send_messages and not member.can_send_photos
    assert isinstance(restricted.my_chat_member.old_chat_member, ChatMemberAdministrator)

    kicked = (await _my_chat_member(bot, control, chat, status="kicked")).my_chat_member
    assert kicked is not None and isinstance(kicked.new_chat_member, ChatMemberBanned)
    group = (await _my_chat_member(bot, control, -42, status="member")).my_chat_member
    assert group is not None and group.chat.type == "group"
    gone = (await _my_chat_member(bot, control, -42, status="left")).my_chat_member
    assert gone is not None and isinstance(gone.new_chat_member, ChatMemberLeft)


async def test_my_chat_member_updates_survive_aiogram_s_update_model(
    bot: Bot, control: Control
) -> None:
    """The raw JSON, as a webhook would receive it, validates as aiogram's Update."""
    result = await control.post(
        "/emulator/chats/-100777/bot_status",
        {"user_id": 5, "status": "administrator", "rights": {"can_promote_members": True}},
    )
    status, body = await control.bot_api(TOKEN, "getUpdates")
    assert status == 200
    [raw] = body["result"]
    assert raw["update_id"] == result["update_id"]
    assert set(raw["my_chat_member"]) == {
        "chat",
        "from",
        "date",
        "old_chat_member",
        "new_chat_member",
    }
    update = Update.model_validate(raw, context={"bot": bot})
    assert update.my_chat_member is not None
    member = update.my_chat_member.new_chat_member
    assert isinstance(member, ChatMemberAdministrator) and member.can_promote_members


async def test_the_bot_s_group_status_is_what_get_chat_member_says(
    bot: Bot, control: Control
) -> None:
    await control.post("/emulator/chats/-42/bot_status", {"user_id": 5, "status": "administrator"})
    member = await bot.get_chat_member(-42, 123456)
    assert isinstance(member, ChatMemberAdministrator)


async def test_an_unchanged_status_sends_no_update_and_nonsense_is_refused(
    bot: Bot, control: Control
) -> None:
    await control.post("/emulator/chats/-42/bot_status", {"user_id": 5, "status": "member"})
    again = await control.post("/emulator/chats/-42/bot_status", {"user_id": 5, "status": "member"})
    assert again["update_id"] is None
    await control.post("/emulator/chats/-42/bot_status", {"user_id": 5, "status": "owner"}, 400)
    await control.post("/emulator/chats/42/bot_status", {"user_id": 5, "status": "member"}, 400)
    await control.post("/emulator/chats/-42/bot_status", {"status": "member"}, 400)
    await control.post(
        "/emulator/chats/-42/bot_status",
        {"user_id": 5, "status": "administrator", "rights": {"can_fly": True}},
        400,
    )
