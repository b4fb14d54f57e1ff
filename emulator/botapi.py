"""The Bot API endpoint: /bot<token>/<method>, method names case-insensitive, Telegram's errors."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from emulator import api_bot, api_chats, api_messages, payments
from emulator.chats import resolve_username
from emulator.context import ApiContext
from emulator.errors import NOT_FOUND, UNAUTHORIZED, ApiError, bad_request
from emulator.params import Params
from emulator.state import TOKEN_RE, EmulatorState

Handler = Callable[[ApiContext, Params], Awaitable[Any]]
STATE_KEY: web.AppKey[EmulatorState] = web.AppKey("emulator_state", EmulatorState)

METHODS: dict[str, Handler] = {
    "getMe": api_bot.get_me,
    "getUpdates": api_bot.get_updates,
    "setWebhook": api_bot.set_webhook,
    "deleteWebhook": api_bot.delete_webhook,
    "getWebhookInfo": api_bot.get_webhook_info,
    "getChat": api_bot.get_chat,
    "getChatMember": api_chats.get_chat_member,
    "getChatAdministrators": api_chats.get_chat_administrators,
    "getChatMemberCount": api_chats.get_chat_member_count,
    "createForumTopic": api_chats.create_forum_topic,
    "setMyCommands": api_bot.set_my_commands,
    "getMyCommands": api_bot.get_my_commands,
    "deleteMyCommands": api_bot.delete_my_commands,
    "sendMessage": api_messages.send_message,
    "editMessageText": api_messages.edit_message_text,
    "editMessageReplyMarkup": api_messages.edit_message_reply_markup,
    "deleteMessage": api_messages.delete_message,
    "sendChatAction": api_messages.send_chat_action,
    "answerCallbackQuery": api_messages.answer_callback_query,
    "createInvoiceLink": payments.create_invoice_link,
    "answerPreCheckoutQuery": payments.answer_pre_checkout_query,
    "refundStarPayment": payments.refund_star_payment,
    "editUserStarSubscription": payments.edit_user_star_subscription,
}
_BY_LOWER = {name.lower(): name for name in METHODS}


async def call_method(state: EmulatorState, token: str, method: str, params: Params) -> Any:
    """Run one Bot API method for the bot `token`; raises ApiError as Telegram would answer."""
    if not TOKEN_RE.match(token):
        raise ApiError(401, UNAUTHORIZED)
    name = _BY_LOWER.get(method.lower())
    state.stats.call(name or method)
    if name is None:
        raise ApiError(404, NOT_FOUND)
    bot = state.bot(token)
    if "chat_id" in params.data:  # a public group or channel may be named by its @username
        params.data["chat_id"] = resolve_username(bot, params.data["chat_id"])
    try:
        return await METHODS[name](ApiContext(state, bot), params)
    finally:
        await state.notify()  # long polls on call counts wake on refused calls too


async def read_params(request: web.Request) -> Params:
    """Query string, then a JSON, urlencoded or multipart body (aiogram sends multipart)."""
    data: dict[str, Any] = dict(request.query)
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.text())
            except ValueError:
                raise bad_request("Bad Request: can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("Bad Request: can't parse JSON object")
            data.update(body)
        elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            data.update({k: v for k, v in form.items() if isinstance(v, str)})
    return Params(data)


async def handle(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        params = await read_params(request)
        result = await call_method(
            state, request.match_info["token"], request.match_info["method"], params
        )
    except ApiError as error:
        return web.json_response(error.to_json(), status=error.code)
    return web.json_response({"ok": True, "result": result})


async def not_found(request: web.Request) -> web.Response:
    return web.json_response(ApiError(404, NOT_FOUND).to_json(), status=404)


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", "/bot{token}/{method}", handle)
    app.router.add_route("*", "/bot{token}/", not_found)
