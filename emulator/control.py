"""The control API under /emulator/: simulate users, inspect what the bot did, reset, configure.

Every long wait is a real asyncio wait (update delivery events, a Condition on state changes).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from emulator import payer, simulate
from emulator.botapi import STATE_KEY
from emulator.errors import ControlError, EmulatorError
from emulator.limits import parse_mode
from emulator.state import BotState, EmulatorState
from emulator.updates import PendingUpdate

DEFAULT_TIMEOUT = 10.0
routes = web.RouteTableDef()


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE_KEY]


def _int(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ControlError(400, f"{what} must be an integer") from None


def _timeout(value: Any) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        raise ControlError(400, "timeout must be a number of seconds") from None


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = json.loads(await request.text())
    except ValueError:
        raise ControlError(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _bot(request: web.Request, body: dict[str, Any]) -> BotState:
    token = body.get("bot_token") or request.query.get("bot_token")
    return _state(request).default_bot(token if isinstance(token, str) else None)


async def _answer(
    update: PendingUpdate | None, body: dict[str, Any], extra: dict[str, Any]
) -> web.Response:
    """Answer at once, or with "wait": true once the bot has had the update."""
    result: dict[str, Any] = {"update_id": update.update_id if update else None, **extra}
    if update is not None and body.get("wait"):
        try:
            await asyncio.wait_for(update.done.wait(), _timeout(body.get("timeout")))
        except TimeoutError:
            result["description"] = "the update was not delivered in time"
            return web.json_response({"ok": False, **result}, status=504)
        result["delivered"] = update.delivered
    return web.json_response(result)


@routes.post("/emulator/users/{user_id}/messages")
async def user_message(request: web.Request) -> web.Response:
    body = await _body(request)
    user_id = _int(request.match_info["user_id"], "user_id")
    if not isinstance(body.get("chat_id", 0), int):
        raise ControlError(400, "chat_id must be an integer")
    update, message = simulate.user_message(_state(request), _bot(request, body), user_id, body)
    return await _answer(update, body, {"message_id": message.message_id})


@routes.post("/emulator/users/{user_id}/callbacks")
async def user_callback(request: web.Request) -> web.Response:
    body = await _body(request)
    user_id = _int(request.match_info["user_id"], "user_id")
    update, query = simulate.user_callback(_state(request), _bot(request, body), user_id, body)
    return await _answer(update, body, {"callback_query_id": query.id})


@routes.post("/emulator/users/{user_id}/pay")
async def user_pay(request: web.Request) -> web.Response:
    """The user pays an invoice link: pre-checkout, then (if the bot said ok) the payment."""
    body = await _body(request)
    user_id = _int(request.match_info["user_id"], "user_id")
    outcome, update, details = await payer.pay(_state(request), _bot(request, body), user_id, body)
    return await _answer(update, body, {"status": outcome, **details})


@routes.post("/emulator/users/{user_id}/subscription/renew")
async def subscription_renew(request: web.Request) -> web.Response:
    """The next period of the subscription of charge_id is paid (a recurring payment)."""
    body = await _body(request)
    user_id = _int(request.match_info["user_id"], "user_id")
    update, details = payer.renew(_state(request), _bot(request, body), user_id, body)
    return await _answer(update, body, {"status": "paid", **details})


@routes.post("/emulator/users/{user_id}/subscription/cancel")
async def subscription_cancel(request: web.Request) -> web.Response:
    """The user cancels in Telegram's UI: the bot is told nothing; no more renewals."""
    body = await _body(request)
    user_id = _int(request.match_info["user_id"], "user_id")
    return web.json_response(payer.cancel(_bot(request, body), user_id, body))


@routes.get("/emulator/payments")
async def list_payments(request: web.Request) -> web.Response:
    """The bot's invoices and charges, as the emulator sees them."""
    payments = _bot(request, {}).payments
    charges = [payer.charge_json(c) for c in payments.charges.values()]
    invoices = [
        {"link": i.link, "payload": i.payload, "amount": i.amount,
         "subscription_period": i.subscription_period}
        for i in payments.invoices.values()
    ]  # fmt: skip
    return web.json_response({"invoices": invoices, "charges": charges})


async def _block(request: web.Request, blocked: bool) -> web.Response:
    body = await _body(request)
    user_id = _int(request.match_info["user_id"], "user_id")
    update = simulate.set_blocked(_bot(request, body), user_id, blocked)
    return await _answer(update, body, {"blocked": blocked})


@routes.post("/emulator/users/{user_id}/block")
async def block(request: web.Request) -> web.Response:
    return await _block(request, True)


@routes.post("/emulator/users/{user_id}/unblock")
async def unblock(request: web.Request) -> web.Response:
    return await _block(request, False)


@routes.post("/emulator/chats/{chat_id}/bot_status")
async def bot_status(request: web.Request) -> web.Response:
    """A group admin (user_id in the body) adds, promotes, restricts or removes the bot."""
    body = await _body(request)
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    user_id = body.get("user_id")
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise ControlError(400, "user_id (the admin who made the change) must be an integer")
    update = simulate.set_bot_status(_bot(request, body), chat_id, user_id, body)
    return await _answer(update, body, {"status": body["status"]})


@routes.get("/emulator/clock")
async def get_clock(request: web.Request) -> web.Response:
    state = _state(request)
    return web.json_response({"now": state.now(), "offset": state.clock_offset})


@routes.post("/emulator/clock")
async def advance_clock(request: web.Request) -> web.Response:
    """{"advance": S}: S seconds pass at once (callback queries age, flood limits refill)."""
    body = await _body(request)
    seconds = body.get("advance")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ControlError(400, "advance must be a number of seconds")
    state = _state(request)
    state.advance(float(seconds))
    await state.notify()
    return web.json_response({"now": state.now(), "offset": state.clock_offset})


@routes.post("/emulator/updates")
async def inject_update(request: web.Request) -> web.Response:
    """A raw update (update_id assigned if missing); bot_token, wait, timeout in the query."""
    payload = await _body(request)
    query = dict(request.query)
    options: dict[str, Any] = {
        "wait": query.get("wait", "").lower() in ("1", "true", "yes"),
        "timeout": query.get("timeout"),
    }
    update = _bot(request, {}).push_update(payload)
    return await _answer(update, options, {})


async def _long_poll(request: web.Request, count: Callable[[], int]) -> tuple[bool, int]:
    """Wait for ?min_count=N items (up to ?timeout=S); (satisfied, min_count)."""
    min_count = _int(request.query.get("min_count", "0"), "min_count")
    if min_count <= 0:
        return True, 0
    timeout = _timeout(request.query.get("timeout"))
    ok = await _state(request).wait_until(lambda: count() >= min_count, timeout)
    return ok, min_count


def _listing(items: list[dict[str, Any]], ok: bool, min_count: int) -> web.Response:
    if ok:
        return web.json_response(items)
    description = f"only {len(items)} of {min_count} arrived in time"
    return web.json_response({"ok": False, "description": description, "items": items}, status=504)


@routes.get("/emulator/chats/{chat_id}/messages")
async def chat_messages(request: web.Request) -> web.Response:
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    bot = _bot(request, {})
    ok, wanted = await _long_poll(request, lambda: len(bot.bot_messages(chat_id)))
    return _listing([m.control_json() for m in bot.bot_messages(chat_id)], ok, wanted)


@routes.get("/emulator/chats/{chat_id}/callback_answers")
async def callback_answers(request: web.Request) -> web.Response:
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    bot = _bot(request, {})
    ok, wanted = await _long_poll(request, lambda: len(bot.answers.get(chat_id, [])))
    return _listing(list(bot.answers.get(chat_id, [])), ok, wanted)


@routes.get("/emulator/stats")
async def stats(request: web.Request) -> web.Response:
    """The counters; with ?min_sent=N (and ?timeout=S) once N messages were sent in all, with
    ?method=M&min_calls=N once method M was called N times (refused calls count)."""
    state = _state(request)
    min_sent = _int(request.query.get("min_sent", "0"), "min_sent")
    min_calls = _int(request.query.get("min_calls", "0"), "min_calls")
    method = request.query.get("method", "")
    if min_sent > 0 or min_calls > 0:
        timeout = _timeout(request.query.get("timeout"))
        stats = state.stats

        def done() -> bool:
            return stats.messages_sent >= min_sent and stats.calls[method] >= min_calls

        if not await state.wait_until(done, timeout):
            body = {"ok": False, "description": "the counts were not reached in time"}
            return web.json_response({**body, **stats.to_json()}, status=504)
    return web.json_response(state.stats.to_json())


@routes.post("/emulator/reset")
async def reset(request: web.Request) -> web.Response:
    await _state(request).reset()
    return web.json_response({"ok": True})


def _config_json(state: EmulatorState) -> dict[str, Any]:
    config = state.config
    return {
        "limits": config.limits.value,
        "webhook_retry_base": config.webhook_retry_base,
        "webhook_retry_cap": config.webhook_retry_cap,
        "default_bot_token": config.default_bot_token,
        "callback_query_timeout": config.callback_query_timeout,
        "pre_checkout_timeout": config.pre_checkout_timeout,
        "allow_insecure_webhooks": config.allow_insecure_webhooks,
    }


@routes.get("/emulator/config")
async def get_config(request: web.Request) -> web.Response:
    return web.json_response(_config_json(_state(request)))


@routes.post("/emulator/config")
async def set_config(request: web.Request) -> web.Response:
    body = await _body(request)
    state = _state(request)
    if "limits" in body:
        try:
            state.set_limits(parse_mode(str(body["limits"])))
        except EmulatorError as error:
            raise ControlError(400, str(error)) from None
    timeouts = ("callback_query_timeout", "pre_checkout_timeout")
    for key in ("webhook_retry_base", "webhook_retry_cap", *timeouts):
        if key in body:
            value = body[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ControlError(400, f"{key} must be a non-negative number of seconds")
            setattr(state.config, key, float(value))
    if "allow_insecure_webhooks" in body:
        if not isinstance(body["allow_insecure_webhooks"], bool):
            raise ControlError(400, "allow_insecure_webhooks must be true or false")
        state.config.allow_insecure_webhooks = body["allow_insecure_webhooks"]
    if "default_bot_token" in body:
        token = body["default_bot_token"]
        if token is not None:
            state.bot(str(token))
        state.config.default_bot_token = token
    return web.json_response(_config_json(state))


@web.middleware
async def control_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except ControlError as error:
        return web.json_response(
            {"ok": False, "description": error.description}, status=error.status
        )
    return response
