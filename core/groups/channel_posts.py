"""What was posted to each linked channel, and the posting step itself (``channel_post.lua``).

A channel is sent each public opportunity once, after its delay, within its own limits per
minute and per hour (`GroupSettings`). Posting is one atomic step: the posted mark, the
counters and the outbox entry go together, so nothing is posted twice and nothing decided is
lost. Its outgoing ids start with ``ch:``: the outbox acknowledges them like any push, and
the push shards, which track message ids for their queues, skip them (a channel has no queue).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from redis.asyncio import Redis

from core.group_settings import GroupSettings
from core.store import keys
from core.store.client import answer, store_errors
from core.store.scripts import lua_source

CHANNEL_OUTGOING_PREFIX: Final = "ch:"
PostStatus = Literal["ok", "dup", "minute", "hour"]


def channel_outgoing_id(chat_id: int, opportunity_id: str) -> str:
    return f"{CHANNEL_OUTGOING_PREFIX}{chat_id}:{opportunity_id}"


def channel_edit_id(chat_id: int, opportunity_id: str) -> str:
    """The outgoing id of the edit that marks a post closed (the outbox sends it once)."""
    return f"{channel_outgoing_id(chat_id, opportunity_id)}:closed"


def is_channel_outgoing(outgoing_id: str) -> bool:
    return outgoing_id.startswith(CHANNEL_OUTGOING_PREFIX)


@dataclass(frozen=True, slots=True)
class PostResult:
    status: PostStatus
    entry_id: str = ""

    @property
    def posted(self) -> bool:
        return self.status == "ok"


class ChannelPostStore:
    def __init__(self, redis: Redis, settings: GroupSettings, *, seen_ttl_seconds: int) -> None:
        self._redis = redis
        self._settings = settings
        self._seen_ttl = seen_ttl_seconds
        self._script = redis.register_script(lua_source("channel_post"))

    async def posted(self, chat_id: int) -> set[str]:
        """The opportunity ids posted to the channel (within the retention)."""
        async with store_errors("reading a channel's posts"):
            ids: list[str] = await answer(self._redis.zrange(keys.channel_posted(chat_id), 0, -1))
        return set(ids)

    async def posted_many(self, chat_ids: Iterable[int]) -> dict[int, set[str]]:
        ids = list(chat_ids)
        async with store_errors("reading channels' posts"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for c in ids:
                    pipe.zrange(keys.channel_posted(c), 0, -1)
                raw: list[list[str]] = await pipe.execute()
        return {c: set(r) for c, r in zip(ids, raw, strict=True)}

    async def posted_since(self, chat_id: int, since: float) -> list[str]:
        """The opportunity ids posted to the channel at or after `since`, oldest first."""
        async with store_errors("reading a channel's posts"):
            ids: list[str] = await answer(
                self._redis.zrangebyscore(keys.channel_posted(chat_id), repr(since), "+inf")
            )
        return ids

    async def post(
        self,
        chat_id: int,
        opportunity_id: str,
        outgoing_id: str,
        message_json: str,
        stream: str,
        now: float,
    ) -> PostResult:
        d = datetime.fromtimestamp(now, tz=UTC)
        s = self._settings
        async with store_errors("posting to a channel"):
            status, detail = await self._script(
                keys=[
                    keys.channel_posted(chat_id),
                    keys.channel_minute(chat_id, d.strftime("%Y%m%d%H%M")),
                    keys.channel_hour(chat_id, d.strftime("%Y%m%d%H")),
                    keys.outbox_seen(outgoing_id),
                    stream,
                ],
                args=[
                    opportunity_id,
                    repr(now),
                    s.channel_per_minute,
                    s.channel_per_hour,
                    keys.CHANNEL_MINUTE_TTL_S,
                    keys.CHANNEL_HOUR_TTL_S,
                    self._seen_ttl,
                    message_json,
                    s.channel_posted_retention_seconds,
                ],
            )
        return PostResult(str(status), str(detail))  # type: ignore[arg-type]
