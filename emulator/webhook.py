"""Webhook delivery as Telegram does it.

Each update is POSTed to the bot's url with the secret header. A non-2xx answer or a connection
error is retried with exponential backoff (Retry-After honoured). One chat's updates go strictly
in order, one at a time; different chats in parallel, up to max_connections. A 2xx answer whose
body is a Bot API call ({"method": ...}) is executed, as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from emulator.config import EmulatorConfig
from emulator.updates import PendingUpdate, UpdateQueue

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ReplyHandler = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None

    def info(self, pending: int, allowed: frozenset[str] | None) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
            "max_connections": self.max_connections,
        }
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        if allowed is not None:
            info["allowed_updates"] = sorted(allowed)
        return info


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class WebhookDeliverer:
    """Delivers one bot's pending updates to its webhook until stopped."""

    def __init__(
        self,
        queue: UpdateQueue,
        webhook: WebhookConfig,
        http: aiohttp.ClientSession,
        config: EmulatorConfig,
        on_reply: ReplyHandler | None = None,
    ) -> None:
        self.queue = queue
        self.webhook = webhook
        self.http = http
        self.config = config
        self.on_reply = on_reply
        self._slots = asyncio.Semaphore(webhook.max_connections)
        self._lines: dict[str, deque[PendingUpdate]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def schedule_pending(self) -> None:
        for update in list(self.queue.pending.values()):
            if not update.scheduled:
                self.schedule(update)

    def schedule(self, update: PendingUpdate) -> None:
        update.scheduled = True
        self._lines.setdefault(update.key, deque()).append(update)
        if update.key not in self._tasks:
            self._tasks[update.key] = asyncio.create_task(self._drain(update.key))

    async def stop(self) -> None:
        """Stop delivering; undelivered updates stay pending for getUpdates or the next webhook."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for update in self.queue.pending.values():
            update.scheduled = False
        self._lines.clear()
        self._tasks.clear()

    async def _drain(self, key: str) -> None:
        line = self._lines[key]
        try:
            while line:
                update = line[0]
                if update.update_id in self.queue.pending:
                    await self._deliver(update)
                line.popleft()
        finally:
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key]
                self._lines.pop(key, None)

    async def _deliver(self, update: PendingUpdate) -> None:
        delay = self.config.webhook_retry_base
        while True:
            async with self._slots:
                wait = await self._post(update)
            if wait is None:
                self.queue.confirm(update)
                return
            await asyncio.sleep(delay if wait < 0 else wait)
            if wait < 0:
                delay = min(delay * 2, self.config.webhook_retry_cap)

    async def _post(self, update: PendingUpdate) -> float | None:
        """None once the bot answered 2xx; else the wait before retrying (-1: use backoff)."""
        headers = {"Content-Type": "application/json"}
        if self.webhook.secret_token:
            headers[SECRET_HEADER] = self.webhook.secret_token
        timeout = aiohttp.ClientTimeout(total=self.config.webhook_timeout)
        try:
            async with self.http.post(
                self.webhook.url, data=json.dumps(update.payload), headers=headers, timeout=timeout
            ) as response:
                body = await response.read()
                if 200 <= response.status < 300:
                    await self._reply(body)
                    return None
                self._failed(f"Wrong response from the webhook: {response.status}")
                retry_after = _retry_after(response)
                return -1.0 if retry_after is None else retry_after
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._failed(f"Connection failed: {type(exc).__name__}")
            return -1.0

    def _failed(self, message: str) -> None:
        self.webhook.last_error_date = int(time.time())
        self.webhook.last_error_message = message

    async def _reply(self, body: bytes) -> None:
        if self.on_reply is None or not body.strip():
            return
        try:
            call = json.loads(body)
        except ValueError:
            return
        if isinstance(call, dict) and isinstance(call.get("method"), str):
            try:
                await self.on_reply(call)
            except Exception:  # a bad reply call is the bot's problem, never the delivery's
                log.exception("webhook reply %s failed", call.get("method"))
