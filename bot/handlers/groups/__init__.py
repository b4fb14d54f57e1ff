"""Groups and supergroups: the bot joining and leaving, members' commands there, and the
admins' /group_settings menu. One router (`router`) holds the feature's routers, each with the
groups store and admin cache injected (`deps.InjectGroups`); the dispatcher includes it before
the private-chat routers, whose handlers it never shadows (every handler here filters on a
group chat)."""

from __future__ import annotations

from typing import Final

from aiogram import Router

from bot.handlers.groups import commands, joining, menu_buttons, migration, settings, tier
from bot.handlers.groups.deps import InjectGroups

router: Final = Router(name=__name__)
_inject = InjectGroups()
for observer in (router.message, router.callback_query, router.my_chat_member):
    observer.middleware(_inject)
router.include_routers(
    commands.router,
    settings.router,
    menu_buttons.router,
    joining.router,
    migration.router,
    tier.router,
)
