"""Drops an update seen moments ago: Telegram redelivers a webhook update it got no 2xx for."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update


class DropRepeatedUpdates(BaseMiddleware):
    def __init__(self, remember: int = 10_000) -> None:
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._remember = remember
        self.dropped = 0

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        if event.update_id in self._seen:
            self.dropped += 1
            return None
        try:
            result = await handler(event, data)
        except Exception:
            raise  # not remembered: a redelivery must be processed again
        self._seen[event.update_id] = None
        if len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        return result
