"""Bot API methods on the bot itself: identity, updates, webhook, chats and commands."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from emulator import errors as e
from emulator.context import ApiContext
from emulator.errors import ApiError, bad_request
from emulator.params import Params
from emulator.webhook import WebhookConfig, WebhookDeliverer

SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
MAX_COMMANDS = 100
WEBHOOK_PORTS = frozenset({443, 80, 88, 8443})
ACCEPTED_GIFT_TYPES = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}


async def get_me(ctx: ApiContext, params: Params) -> dict[str, Any]:
    me = ctx.bot.user.to_json()
    me.update(
        can_join_groups=True,
        can_read_all_group_messages=False,
        supports_inline_queries=False,
        can_connect_to_business=False,
        has_main_web_app=False,
    )
    return me


def _allowed_updates(params: Params) -> list[str] | None:
    value = params.json("allowed_updates", "Bad Request: can't parse allowed updates")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request("Bad Request: can't parse allowed updates")
    return value


async def get_updates(ctx: ApiContext, params: Params) -> list[dict[str, Any]]:
    if ctx.bot.webhook is not None:
        raise ApiError(409, e.WEBHOOK_ACTIVE)
    limit = params.integer("limit")
    limit = 100 if limit is None else limit
    if not 1 <= limit <= 100:
        raise bad_request(e.LIMIT_INVALID)
    timeout = max(0, params.integer("timeout") or 0)
    ctx.bot.queue.set_allowed(_allowed_updates(params))
    return await ctx.bot.queue.poll(params.integer("offset"), limit, timeout)


def _check_webhook_url(url: str, *, insecure: bool) -> None:
    """Telegram delivers only over HTTPS to ports 443, 80, 88 or 8443; `insecure` (a development
    flag of the emulator) also allows plain http and any port, as telegram-bot-api --local does."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad_request(e.WEBHOOK_PORT_INVALID) from None
    schemes = ("https", "http") if insecure else ("https",)
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise bad_request(e.WEBHOOK_URL_INVALID)
    if not insecure and port is not None and port not in WEBHOOK_PORTS:
        raise bad_request(e.WEBHOOK_PORT_INVALID)


async def set_webhook(ctx: ApiContext, params: Params) -> bool:
    url = params.text("url") or ""
    if not url:  # setWebhook with an empty url removes the webhook
        return await delete_webhook(ctx, params)
    _check_webhook_url(url, insecure=ctx.state.config.allow_insecure_webhooks)
    secret = params.text("secret_token")
    if secret is not None and not SECRET_RE.match(secret):
        raise bad_request(e.WEBHOOK_SECRET_INVALID)
    max_connections = params.integer("max_connections")
    max_connections = 40 if max_connections is None else max_connections
    if not 1 <= max_connections <= 100:
        raise bad_request(e.WEBHOOK_MAX_CONNECTIONS)
    allowed = _allowed_updates(params)
    await ctx.bot.stop_webhook()
    if params.flag("drop_pending_updates"):
        ctx.bot.queue.drop_all()
    ctx.bot.queue.set_allowed(allowed)
    ctx.bot.queue.close()  # a long poll still waiting ends with 409
    assert ctx.state.http is not None, "the server owns the HTTP session"
    webhook = WebhookConfig(url, secret, max_connections)
    ctx.bot.webhook = webhook

    async def on_reply(call: dict[str, Any]) -> None:
        from emulator.botapi import call_method  # the dispatcher imports this module

        method = call.pop("method")
        await call_method(ctx.state, ctx.bot.token, method, Params(call))

    ctx.bot.deliverer = WebhookDeliverer(
        ctx.bot.queue, webhook, ctx.state.http, ctx.state.config, on_reply
    )
    ctx.bot.deliverer.schedule_pending()
    return True


async def delete_webhook(ctx: ApiContext, params: Params) -> bool:
    await ctx.bot.stop_webhook()
    if params.flag("drop_pending_updates"):
        ctx.bot.queue.drop_all()
    return True


async def get_webhook_info(ctx: ApiContext, params: Params) -> dict[str, Any]:
    pending = len(ctx.bot.queue.pending)
    if ctx.bot.webhook is None:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}
    return ctx.bot.webhook.info(pending, ctx.bot.queue.allowed)


async def get_chat(ctx: ApiContext, params: Params) -> dict[str, Any]:
    chat = ctx.chat(params.chat_id()).to_json()
    chat.update(accent_color_id=0, max_reaction_count=11, accepted_gift_types=ACCEPTED_GIFT_TYPES)
    return chat


def _scope_key(params: Params) -> str:
    scope = params.json("scope", "Bad Request: can't parse BotCommandScope JSON object")
    scope = scope or {"type": "default"}
    language = params.text("language_code") or ""
    return json.dumps(scope, sort_keys=True) + "|" + language


async def set_my_commands(ctx: ApiContext, params: Params) -> bool:
    commands = params.json("commands", "Bad Request: can't parse commands JSON object")
    if not isinstance(commands, list):
        raise bad_request("Bad Request: can't parse commands JSON object")
    if len(commands) > MAX_COMMANDS:
        raise bad_request(e.COMMANDS_INVALID)
    clean: list[dict[str, Any]] = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("Bad Request: can't parse commands JSON object")
        name = str(command.get("command", "")).lower()
        description = str(command.get("description", ""))
        if not COMMAND_RE.match(name):
            raise bad_request(e.COMMAND_INVALID)
        if not 1 <= len(description) <= 256:
            raise bad_request(e.COMMAND_DESCRIPTION_INVALID)
        clean.append({"command": name, "description": description})
    ctx.bot.commands[_scope_key(params)] = clean
    return True


async def get_my_commands(ctx: ApiContext, params: Params) -> list[dict[str, Any]]:
    return ctx.bot.commands.get(_scope_key(params), [])


async def delete_my_commands(ctx: ApiContext, params: Params) -> bool:
    ctx.bot.commands.pop(_scope_key(params), None)
    return True
