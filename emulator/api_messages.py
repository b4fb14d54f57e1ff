"""Bot API methods on messages: send, edit, delete, chat actions and callback answers."""

from __future__ import annotations

from typing import Any

from emulator import errors as e
from emulator.chats import check_can_post, check_thread
from emulator.context import ApiContext
from emulator.errors import bad_request
from emulator.html import ParsedText, parse_html
from emulator.keyboard import validate_markup
from emulator.markdown import parse_markdown_v2, trim
from emulator.params import Params
from emulator.state import Message, now_date

MAX_TEXT = 4096
MAX_CALLBACK_ANSWER = 200
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_PARSE_MODES = {"html": "HTML", "markdown": "Markdown", "markdownv2": "MarkdownV2"}


def _parse_text(params: Params) -> tuple[str, str | None, ParsedText]:
    text = params.text("text", missing=e.TEXT_EMPTY) or ""
    raw_mode = params.text("parse_mode")
    mode = None
    if raw_mode:
        mode = _PARSE_MODES.get(raw_mode.lower())
        if mode is None:
            raise bad_request(e.UNSUPPORTED_PARSE_MODE)
    if mode == "HTML":
        parsed = parse_html(text)
    elif mode == "MarkdownV2":
        parsed = parse_markdown_v2(text)
    else:  # legacy Markdown is accepted unparsed
        parsed = ParsedText(text)
    parsed = trim(parsed)
    if not parsed.text.strip():
        raise bad_request(e.TEXT_EMPTY)
    if len(parsed.text) > MAX_TEXT:
        raise bad_request(e.TEXT_TOO_LONG)
    return text, mode, parsed


def _markup(params: Params) -> dict[str, Any] | None:
    return validate_markup(params.json("reply_markup", e.REPLY_MARKUP_INVALID))


def _reply_to(ctx: ApiContext, params: Params, chat_id: int) -> int | None:
    """The message this one replies to (reply_parameters or the older reply_to_message_id).

    A missing one is 400 unless allow_sending_without_reply: then it is sent as no reply.
    """
    reply = params.json("reply_parameters", e.REPLY_PARAMETERS_INVALID)
    if reply is not None and not isinstance(reply, dict):
        raise bad_request(e.REPLY_PARAMETERS_INVALID)
    if reply:
        message_id = Params(reply).integer("message_id")
        in_chat = Params(reply).chat_id() if "chat_id" in reply else chat_id
        without_reply = Params(reply).flag("allow_sending_without_reply")
    else:
        message_id = params.integer("reply_to_message_id")
        in_chat = chat_id
        without_reply = params.flag("allow_sending_without_reply")
    if message_id is None:
        return None
    if in_chat != chat_id:  # quoting another chat: Telegram shows it, the emulator does not
        ctx.chat(in_chat)
    target = ctx.bot.messages.get(in_chat, {}).get(message_id)
    if target is None or target.deleted:
        if without_reply:
            return None
        raise bad_request(e.REPLY_NOT_FOUND)
    return message_id if in_chat == chat_id else None


async def send_message(ctx: ApiContext, params: Params) -> dict[str, Any]:
    chat_id = params.chat_id()
    text, mode, parsed = _parse_text(params)
    markup = _markup(params)
    chat = ctx.chat(chat_id)
    reply_to = _reply_to(ctx, params, chat_id)
    thread_id = check_thread(ctx.bot, chat, params.integer("message_thread_id"))
    ctx.outgoing(chat_id, paid=params.flag("allow_paid_broadcast"))
    message = Message(
        message_id=ctx.bot.new_message_id(chat_id),
        chat_id=chat_id,
        sender_id=ctx.bot.id,
        text=text,
        plain=parsed.text,
        parse_mode=mode,
        reply_markup=markup,
        date=now_date(),
        entities=parsed.entities,
        reply_to=reply_to,
        thread_id=thread_id,
    )
    ctx.bot.messages.setdefault(chat_id, {})[message.message_id] = message
    await ctx.state.notify()
    return ctx.message_json(message)


def _target(ctx: ApiContext, params: Params, not_found: str) -> Message:
    if params.has("inline_message_id"):
        raise bad_request(not_found)  # inline messages are not emulated
    chat_id = params.chat_id()
    message_id = params.integer("message_id", missing=e.MESSAGE_ID_INVALID)
    ctx.chat(chat_id)
    message = ctx.bot.messages.get(chat_id, {}).get(message_id or 0)
    if message is None or message.deleted:
        raise bad_request(not_found)
    return message


def _apply_edit(
    ctx: ApiContext, message: Message, text: str, parsed: ParsedText, mode: str | None, markup: Any
) -> None:
    if not message.outgoing:
        raise bad_request(e.MESSAGE_CANT_BE_EDITED)
    if (message.plain, message.entities, message.reply_markup) == (
        parsed.text,
        parsed.entities,
        markup,
    ):
        raise bad_request(e.MESSAGE_NOT_MODIFIED)
    ctx.outgoing(message.chat_id, counts_as_sent=False)
    message.edits.append(message.version())
    message.text, message.plain, message.parse_mode = text, parsed.text, mode
    message.entities, message.reply_markup = parsed.entities, markup
    message.edit_date = now_date()


async def edit_message_text(ctx: ApiContext, params: Params) -> dict[str, Any]:
    message = _target(ctx, params, e.MESSAGE_TO_EDIT_NOT_FOUND)
    text, mode, parsed = _parse_text(params)
    # As in Telegram, an edit without reply_markup removes the inline keyboard.
    _apply_edit(ctx, message, text, parsed, mode, _markup(params))
    await ctx.state.notify()
    return ctx.message_json(message)


async def edit_message_reply_markup(ctx: ApiContext, params: Params) -> dict[str, Any]:
    message = _target(ctx, params, e.MESSAGE_TO_EDIT_NOT_FOUND)
    parsed = ParsedText(message.plain, message.entities)
    _apply_edit(ctx, message, message.text, parsed, message.parse_mode, _markup(params))
    await ctx.state.notify()
    return ctx.message_json(message)


async def delete_message(ctx: ApiContext, params: Params) -> bool:
    message = _target(ctx, params, e.MESSAGE_TO_DELETE_NOT_FOUND)
    message.deleted = True
    await ctx.state.notify()
    return True


async def send_chat_action(ctx: ApiContext, params: Params) -> bool:
    chat_id = params.chat_id()
    action = params.text("action", missing=e.WRONG_ACTION)
    if action not in CHAT_ACTIONS:
        raise bad_request(e.WRONG_ACTION)
    chat = ctx.chat(chat_id)
    if chat.type == "private" and chat_id in ctx.bot.blocked:
        ctx.state.stats.forbidden += 1
        raise e.ApiError(403, e.BOT_BLOCKED)
    check_can_post(ctx.bot, chat)
    return True


async def answer_callback_query(ctx: ApiContext, params: Params) -> bool:
    query_id = params.text("callback_query_id", missing=e.QUERY_ID_EMPTY)
    query = ctx.bot.callbacks.get(query_id or "")
    if query is None or query.answered:
        raise bad_request(e.QUERY_TOO_OLD)
    if ctx.state.now() - query.created_at > ctx.state.config.callback_query_timeout:
        raise bad_request(e.QUERY_TOO_OLD)  # the user's client stopped waiting for an answer
    text = params.text("text")
    if text is not None and len(text) > MAX_CALLBACK_ANSWER:
        raise bad_request("Bad Request: MESSAGE_TOO_LONG")
    query.answered = True
    ctx.bot.answers.setdefault(query.chat_id, []).append(
        {
            "callback_query_id": query.id,
            "user_id": query.user_id,
            "message_id": query.message_id,
            "data": query.data,
            "text": text,
            "show_alert": params.flag("show_alert"),
            "url": params.text("url"),
            "cache_time": params.integer("cache_time") or 0,
        }
    )
    await ctx.state.notify()
    return True
