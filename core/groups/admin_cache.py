"""A short memory of getChatMember answers: whether a user is an admin of a group.

The group settings menu asks Telegram on a miss and stores the answer for
`groups.admin_cache_seconds`, so repeated presses of the menu's buttons cost no API call.
"""

from __future__ import annotations

from redis.asyncio import Redis

from core.store import keys
from core.store.client import answer, store_errors


class AdminCache:
    def __init__(self, redis: Redis, ttl_seconds: float) -> None:
        self._redis = redis
        self._ttl_ms = max(1, int(ttl_seconds * 1000))

    async def get(self, chat_id: int, user_id: int) -> bool | None:
        """The cached answer, None when Telegram must be asked."""
        async with store_errors("reading the admin cache"):
            raw: str | None = await answer(self._redis.get(keys.group_admin(chat_id, user_id)))
        return None if raw is None else raw == "1"

    async def put(self, chat_id: int, user_id: int, is_admin: bool) -> None:
        async with store_errors("writing the admin cache"):
            await self._redis.set(
                keys.group_admin(chat_id, user_id), "1" if is_admin else "0", px=self._ttl_ms
            )

    async def forget(self, chat_id: int, user_id: int) -> None:
        """Drop an answer (a chat_member update said the user's status changed)."""
        async with store_errors("writing the admin cache"):
            await self._redis.delete(keys.group_admin(chat_id, user_id))
