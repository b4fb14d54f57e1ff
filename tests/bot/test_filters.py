"""Every handler and filter of the bot runs on the event loop, never in a worker thread."""

from __future__ import annotations

from aiogram import Dispatcher, F
from aiogram.enums import ChatType
from aiogram.types import Chat, Message

from bot.dispatcher import create_dispatcher
from bot.filters import IS_COMMAND, NOT_COMMAND, PRIVATE_CHAT, Magic
from core.services import Services
from core.settings import Settings


def _callables(dp: Dispatcher) -> list[tuple[str, object, bool]]:
    found: list[tuple[str, object, bool]] = []
    for router in dp.chain_tail:
        for name, observer in router.observers.items():
            for handler in observer.handlers:
                where = f"{router.name}.{name}"
                found.append((where, handler.callback, handler.awaitable))
                for f in handler.filters or []:
                    found.append((where, f.callback, f.awaitable))
    return found


async def test_no_handler_or_filter_is_sent_to_a_thread(
    settings: Settings, services: Services
) -> None:
    """aiogram runs a non-coroutine callable through asyncio.to_thread on every update: one
    such filter costs a thread handoff and a GIL switch per check (see bot/filters.py)."""
    dp = create_dispatcher(settings, services)
    found = _callables(dp)
    assert len(found) > 40  # the walk saw the real routers
    sync = [(where, cb) for where, cb, awaitable in found if not awaitable]
    assert sync == [], f"wrap these in bot.filters.Magic or StateFilter: {sync}"


def _message(text: str | None, chat_type: str = ChatType.PRIVATE) -> Message:
    return Message.model_validate(
        {
            "message_id": 1,
            "date": 0,
            "chat": Chat(id=5, type=chat_type).model_dump(),
            "text": text,
        }
    )


async def test_magic_filters_keep_their_meaning() -> None:
    """The inline filters decide as the bare magic did, text-less messages included."""
    assert await IS_COMMAND(_message("/status"))
    assert not await IS_COMMAND(_message("hello"))
    assert not await IS_COMMAND(_message(None))
    assert await NOT_COMMAND(_message("hello"))
    assert not await NOT_COMMAND(_message("/help"))
    assert await NOT_COMMAND(_message(None)) == bool(
        (~F.text.startswith("/")).resolve(_message(None))
    )
    assert await PRIVATE_CHAT(_message("x"))
    assert not await PRIVATE_CHAT(_message("x", ChatType.GROUP))
    assert await Magic(F.text == "x")(_message("x"))
