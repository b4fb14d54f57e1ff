"""What the group handlers are given: the groups store and the admin cache, from the
process's Redis (a middleware on the groups routers injects them as `groups`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from core.groups.admin_cache import AdminCache
from core.groups.store import GroupStore
from core.services import Services

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class GroupDeps:
    store: GroupStore
    admins: AdminCache


class InjectGroups(BaseMiddleware):
    """Puts a `GroupDeps` in the handler data; built once per Services (one per process)."""

    def __init__(self) -> None:
        self._made: dict[int, GroupDeps] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        services: Services = data["services"]
        deps = self._made.get(id(services))
        if deps is None:
            ttl = services.settings.groups.admin_cache_seconds
            deps = GroupDeps(GroupStore(services.redis), AdminCache(services.redis, ttl))
            self._made = {id(services): deps}  # tests build one Services after another
        data["groups"] = deps
        return await handler(event, data)
