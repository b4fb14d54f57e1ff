"""Lua scripts, read once from the `lua/` folder beside this module and registered with Redis.

Each script is one atomic step; callers never read and write across round trips.
redis-py's registered scripts call EVALSHA and reload the script if Redis lost it (a restart).
"""

from __future__ import annotations

from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript


def lua_source(name: str) -> str:
    return resources.files("core.store").joinpath("lua", f"{name}.lua").read_text("utf-8")


class Scripts:
    """The registered scripts of one Redis client, as attributes."""

    def __init__(self, redis: Redis) -> None:
        self.session_start: AsyncScript = redis.register_script(lua_source("session_start"))
        self.session_touch: AsyncScript = redis.register_script(lua_source("session_touch"))
        self.session_end: AsyncScript = redis.register_script(lua_source("session_end"))
        self.quota_take: AsyncScript = redis.register_script(lua_source("quota_take"))
        self.toggle_member: AsyncScript = redis.register_script(lua_source("toggle_member"))
        self.profile_ensure: AsyncScript = redis.register_script(lua_source("profile_ensure"))
        self.hset_if_exists: AsyncScript = redis.register_script(lua_source("hset_if_exists"))
        self.push_release: AsyncScript = redis.register_script(lua_source("push_release"))
