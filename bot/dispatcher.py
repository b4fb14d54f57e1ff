"""The one place the bot is wired: storage, injected services, middlewares, routers."""

from __future__ import annotations

from aiogram import Dispatcher, Router
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage

from bot.handlers import (
    admin,
    channel_admin,
    dnd,
    fallback,
    feedback,
    group_buttons,
    groups,
    membership,
    onboarding,
    opportunities,
    ops_alerts,
    payments,
    preferences,
    session,
    start,
    subscription,
)
from bot.handlers import help as help_
from bot.handlers.errors import on_error
from bot.middlewares.dedup import DropRepeatedUpdates
from bot.middlewares.language import LanguageMiddleware
from bot.middlewares.session_gate import SessionGate
from core.services import Services
from core.settings import Settings
from core.store import keys
from messaging.i18n import i18n


class SharedRedisStorage(RedisStorage):
    """FSM storage on the process's shared Redis client.

    aiogram closes its storage (and so the client) when the dispatcher shuts down; the client
    belongs to the process's services, which still flush activity and events after that.
    """

    async def close(self) -> None:
        return None


def create_dispatcher(settings: Settings, services: Services) -> Dispatcher:
    storage = SharedRedisStorage(
        services.redis,
        key_builder=DefaultKeyBuilder(prefix=keys.FSM_PREFIX),
        state_ttl=keys.FSM_TTL_S,
        data_ttl=keys.FSM_TTL_S,
    )
    dp = Dispatcher(storage=storage, services=services, settings=settings)
    dp.update.outer_middleware(DropRepeatedUpdates())
    # Before the gate: its refusals are in the user's language too.
    LanguageMiddleware(i18n()).setup(dp)
    gate = SessionGate()
    dp.message.outer_middleware(gate)
    dp.callback_query.outer_middleware(gate)
    dp.errors.register(on_error)
    routers = [
        groups.router,  # group chats only: their /start, /group_settings, the bot joining
        start.router,
        help_.router,
        onboarding.router,
        preferences.router,
        session.router,
        subscription.router,
        payments.router,
        dnd.router,
        opportunities.router,
        feedback.router,
        group_buttons.router,  # buttons on group and channel alert cards
        admin.router,
        channel_admin.router,
        ops_alerts.router,
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
