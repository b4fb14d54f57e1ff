"""The one way a process gets an aiogram `Bot`: the configured token and API server, HTML by
default, each call sent as a JSON body (`messaging.transport.json_session`), and every send
going through the `FloodControl` (see `messaging.transport.flood_control`)."""

from __future__ import annotations

from functools import cache

import aiogram.methods
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from core.settings import Settings
from messaging.transport.flood_control import FloodControl
from messaging.transport.json_session import JsonSession
from messaging.transport.late_answers import LateAnswersAreNoOps
from messaging.transport.leases import LeasedTokens
from messaging.transport.pacing import Pacer, PacerLimits


def create_bot(
    settings: Settings,
    *,
    tokens: LeasedTokens | None = None,
    retries_after_429: int | None = None,
) -> Bot:
    """A Bot for the configured token, pointed at Telegram or at `telegram.api_base`.

    `tokens`: take the bot-wide budget from the GlobalRateLimiter instead of pacing this
    process alone. `retries_after_429`: how often a 429 is waited out here before the caller
    sees it (default: the `telegram.retries_after_429` setting; the push sender uses 0 and
    reschedules the message itself).
    """
    before_write = tokens.before_write if tokens is not None else None
    session = (
        JsonSession(
            api=TelegramAPIServer.from_base(settings.telegram.api_base), before_write=before_write
        )
        if settings.telegram.api_base
        else JsonSession(before_write=before_write)
    )
    tg = settings.telegram
    pacer = Pacer(
        PacerLimits(
            global_per_second=tg.pace_global_per_second,
            private_per_second=tg.pace_private_per_second,
            private_burst=tg.pace_private_burst,
            group_per_minute=tg.pace_group_per_minute,
        )
    )
    _pin_response_models()
    retries = tg.retries_after_429 if retries_after_429 is None else retries_after_429
    session.middleware(FloodControl(pacer, max_retries=retries, tokens=tokens))
    session.middleware(LateAnswersAreNoOps())
    return Bot(
        settings.bot_token(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


@cache
def _pin_response_models() -> tuple[type, ...]:
    """Build aiogram's `Response[T]` for every method once and keep them alive.

    aiogram parses each API answer with ``Response[method.__returning__]``. pydantic caches
    parametrized generics only weakly, and a generic class lives in reference cycles, so the
    garbage collector keeps dropping it and the next call builds it again (a few ms each): about
    a fifth of the webhook's CPU under load. Held here, every lookup hits the cache.
    """
    methods = aiogram.methods
    types = (getattr(methods, name) for name in methods.__all__)
    return tuple(
        methods.Response[t.__returning__]  # type: ignore[name-defined]
        for t in types
        if isinstance(t, type)
        and issubclass(t, methods.TelegramMethod)
        and t is not methods.TelegramMethod
    )
