"""Filters that run on the event loop.

aiogram calls a filter that is not a coroutine (a bare ``F...`` magic filter, a ``State`` used as
a filter) through ``asyncio.to_thread``, on every check of every update. A stray text message
went through five such hops before reaching its handler: each a thread-pool handoff and a GIL
switch, which made the webhook CPU-bound at ~250 updates/s (see docs/performance.md). Wrapping
the same magic in an async `Filter` keeps its meaning and runs it inline.
``tests/bot/test_filters.py`` fails when a handler or filter would be run in a thread again.
"""

from __future__ import annotations

from typing import Final

from aiogram import F
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import TelegramObject
from magic_filter import MagicFilter


class Magic(Filter):
    """A magic filter (``F...``) evaluated inline; truthy results pass."""

    __slots__ = ("_magic",)

    def __init__(self, magic: MagicFilter) -> None:
        self._magic = magic

    async def __call__(self, event: TelegramObject) -> bool:
        return bool(self._magic.resolve(event))

    def __str__(self) -> str:
        return f"Magic({self._magic!r})"


IS_COMMAND: Final = Magic(F.text.startswith("/"))
NOT_COMMAND: Final = Magic(~F.text.startswith("/"))
HAS_TEXT: Final = Magic(F.text)
PRIVATE_CHAT: Final = Magic(F.chat.type == ChatType.PRIVATE)
GROUP_CHAT: Final = Magic(F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP}))
# A button on a message in a group or supergroup (callback queries carry the message's chat).
GROUP_BUTTON: Final = Magic(F.message.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP}))
NOT_PRIVATE_CHAT: Final = Magic(F.chat.type != ChatType.PRIVATE)
