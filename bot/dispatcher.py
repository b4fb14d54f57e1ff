"""The one place the bot is wired: storage, injected services, middlewares, routers."""

from __future__ import annotations

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage

from bot.handlers import (
    admin,
    dnd,
    fallback,
    feedback,
    membership,
    onboarding,
    opportunities,
    preferences,
    session,
    start,
    subscription,
)
from bot.handlers import help as help_
from bot.handlers.errors import on_error
from bot.middlewares.dedup import DropRepeatedUpdates
from bot.middlewares.session_gate import SessionGate
from core.services import Services
from core.settings import Settings
from core.store import keys
from messaging.pacing import Pacer, PacerLimits
from messaging.sender import PacedSender


class SharedRedisStorage(RedisStorage):
    """FSM storage on the process's shared Redis client.

    aiogram closes its storage (and so the client) when the dispatcher shuts down; the client
    belongs to the process's services, which still flush activity and events after that.
    """

    async def close(self) -> None:
        return None


def create_bot(settings: Settings) -> Bot:
    """A Bot for the configured token, pointed at Telegram or at `telegram.api_base`."""
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram.api_base))
        if settings.telegram.api_base
        else AiohttpSession()
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
    session.middleware(PacedSender(pacer, max_retries=tg.retries_after_429))
    return Bot(
        settings.bot_token(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_dispatcher(settings: Settings, services: Services) -> Dispatcher:
    storage = SharedRedisStorage(
        services.redis,
        key_builder=DefaultKeyBuilder(prefix=keys.FSM_PREFIX),
        state_ttl=keys.FSM_TTL_S,
        data_ttl=keys.FSM_TTL_S,
    )
    dp = Dispatcher(storage=storage, services=services, settings=settings)
    dp.update.outer_middleware(DropRepeatedUpdates())
    gate = SessionGate()
    dp.message.outer_middleware(gate)
    dp.callback_query.outer_middleware(gate)
    dp.errors.register(on_error)
    routers = [
        start.router,
        help_.router,
        onboarding.router,
        preferences.router,
        session.router,
        subscription.router,
        dnd.router,
        opportunities.router,
        feedback.router,
        admin.router,
        membership.router,
        fallback.router,  # last: takes what nothing else did
    ]
    for router in routers:
        _detach(router)
    dp.include_routers(*routers)
    return dp


def _detach(router: Router) -> None:
    """Free a module-level router from a previous dispatcher of this process.

    aiogram lets a router have one parent and offers no way to remove it; tests and the demo build
    more than one dispatcher per process.
    """
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None
