"""Groups and channels in Redis (`keys.group` hashes and the `keys.GROUP*` index sets).

Every change is one optimistic transaction (WATCH the hash, MULTI): the hash, the index sets it
belongs to and an announcement of the chat id on the users-changed channel (`keys.SESSION_CHANNEL`,
which the push shards follow, so a pause or a new setting applies at once) are written together,
and a concurrent change of the same chat makes the later one start again from what the first
wrote. Nothing a group chose is deleted: a removed bot leaves the group inactive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypedDict, Unpack

from redis.asyncio import Redis
from redis.exceptions import WatchError

from core.groups import codec
from core.groups.models import ChatKind, GroupConfig
from core.models import OpportunityType, Tier
from core.store import keys
from core.store.client import answer, hgetall_many, store_errors

Change = Callable[[GroupConfig | None], GroupConfig | None]


class GroupError(ValueError):
    """A change that does not apply (an unknown chat, a group where a channel is needed)."""


class GroupChanges(TypedDict, total=False):
    """What an admin's menu sets; fields left out are kept."""

    opportunity_types: frozenset[OpportunityType]
    pairs: frozenset[str]
    min_profit_pct: float
    digest_window_seconds: float | None
    quiet_hours: tuple[int, int] | None
    timezone: str
    language: str
    thread_id: int | None
    title: str
    is_forum: bool


class GroupStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, chat_id: int) -> GroupConfig | None:
        async with store_errors("reading a group"):
            raw: dict[str, str] = await answer(self._redis.hgetall(keys.group(chat_id)))
        return codec.decode(chat_id, raw)

    async def get_many(self, chat_ids: Iterable[int]) -> list[GroupConfig | None]:
        ids = list(chat_ids)
        raws = await hgetall_many(self._redis, [keys.group(c) for c in ids], "reading groups")
        return [codec.decode(c, raw) for c, raw in zip(ids, raws, strict=True)]

    async def recipient_ids(self) -> list[int]:
        """Groups that receive pushes (bot present, alerts enabled)."""
        return await self._members(keys.GROUP_RECIPIENTS)

    async def channel_ids(self) -> list[int]:
        """Linked channels the bot is still an admin of."""
        return await self._members(keys.GROUP_CHANNELS)

    async def all_ids(self) -> list[int]:
        return await self._members(keys.GROUPS_ALL)

    async def _members(self, key: str) -> list[int]:
        async with store_errors("reading the group index"):
            raw: set[str] = await answer(self._redis.smembers(key))
        return sorted(int(m) for m in raw)

    # -- membership ----------------------------------------------------------------------------

    async def joined(
        self, chat_id: int, kind: ChatKind, title: str, now: float, *, is_forum: bool = False
    ) -> GroupConfig:
        """The bot was added (or promoted): the chat is active again with what it chose before."""

        def change(old: GroupConfig | None) -> GroupConfig:
            base = old or GroupConfig(chat_id=chat_id, added_at=now)
            return base.model_copy(
                update={"kind": kind, "title": title, "active": True, "is_forum": is_forum}
            )

        return await self._required(chat_id, now, change)

    async def left(self, chat_id: int, now: float) -> GroupConfig | None:
        """The bot was removed (or lost its admin rights in a channel): kept, inactive."""
        return await self._change(
            chat_id, now, lambda old: None if old is None else _with(old, active=False)
        )

    # -- an admin's choices --------------------------------------------------------------------

    async def enable(self, chat_id: int, admin_id: int, now: float) -> GroupConfig:
        """Alerts on; the group has `admin_id`'s plan from now on (unless a SuperAdmin set one)."""
        return await self._required(
            chat_id, now, lambda old: _with(_known(old, chat_id), enabled=True, enabled_by=admin_id)
        )

    async def pause(self, chat_id: int, now: float) -> GroupConfig:
        return await self._required(
            chat_id, now, lambda old: _with(_known(old, chat_id), enabled=False)
        )

    async def update(
        self, chat_id: int, now: float, **changes: Unpack[GroupChanges]
    ) -> GroupConfig:
        """Set what the admin menu changed (validated as `GroupConfig` fields)."""
        values = dict(changes)

        def change(old: GroupConfig | None) -> GroupConfig:
            known = _known(old, chat_id)
            return GroupConfig.model_validate({**known.model_dump(), **values})

        return await self._required(chat_id, now, change)

    async def set_tier(self, chat_id: int, tier: Tier | None, now: float) -> GroupConfig:
        """A SuperAdmin's plan for the group (None: the enabling admin's again)."""
        return await self._required(
            chat_id, now, lambda old: _with(_known(old, chat_id), tier_override=tier)
        )

    # -- channels ------------------------------------------------------------------------------

    async def link_channel(
        self,
        chat_id: int,
        title: str,
        linked_by: int,
        now: float,
        *,
        delay_seconds: float | None = None,
    ) -> GroupConfig:
        """A SuperAdmin linked a channel the bot is an admin of (the caller checked that)."""

        def change(old: GroupConfig | None) -> GroupConfig:
            base = old or GroupConfig(chat_id=chat_id, kind=ChatKind.CHANNEL, added_at=now)
            if not base.kind.is_channel:
                raise GroupError(f"chat {chat_id} is a {base.kind.value}, not a channel")
            return base.model_copy(
                update={
                    "title": title or base.title,
                    "active": True,
                    "linked_by": linked_by,
                    "delay_seconds": delay_seconds,
                }
            )

        return await self._required(chat_id, now, change)

    async def unlink_channel(self, chat_id: int, now: float) -> GroupConfig:
        return await self._required(
            chat_id, now, lambda old: _with(_known(old, chat_id), linked_by=None)
        )

    # -- the one write path --------------------------------------------------------------------

    async def _required(self, chat_id: int, now: float, change: Change) -> GroupConfig:
        config = await self._change(chat_id, now, change)
        if config is None:  # the change functions above never answer None
            raise GroupError(f"chat {chat_id} is unknown")
        return config

    async def _change(self, chat_id: int, now: float, change: Change) -> GroupConfig | None:
        """Apply `change` to the stored config atomically (retried on a concurrent change)."""
        key = keys.group(chat_id)
        async with store_errors("changing a group"):
            async with self._redis.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(key)
                        old = codec.decode(chat_id, await answer(pipe.hgetall(key)))
                        new = change(old)
                        if new is None:
                            await pipe.reset()  # type: ignore[no-untyped-call]
                            return None
                        new = new.model_copy(update={"updated_at": now})
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.hset(key, mapping=codec.encode(new))
                        pipe.sadd(keys.GROUPS_ALL, chat_id)
                        _index(pipe, keys.GROUP_RECIPIENTS, chat_id, new.receives_pushes)
                        _index(pipe, keys.GROUP_CHANNELS, chat_id, new.linked_channel)
                        pipe.publish(keys.SESSION_CHANNEL, chat_id)
                        await pipe.execute()
                        return new.model_copy(update={"alerts_sent": old.alerts_sent if old else 0})
                    except WatchError:
                        continue


def _index(pipe: object, key: str, chat_id: int, member: bool) -> None:
    if member:
        pipe.sadd(key, chat_id)  # type: ignore[attr-defined]
    else:
        pipe.srem(key, chat_id)  # type: ignore[attr-defined]


def _known(old: GroupConfig | None, chat_id: int) -> GroupConfig:
    if old is None:
        raise GroupError(
            f"chat {chat_id} is unknown: the bot must be added to it first (my_chat_member)"
        )
    return old


def _with(config: GroupConfig, **update: object) -> GroupConfig:
    return config.model_copy(update=update)
