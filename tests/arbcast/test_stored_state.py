"""State written by an earlier build is read by this one.

`tests/fixtures/redis_before_layout_move.json` is every key of an `arbcast demo --users 5` run,
dumped (type, TTL, value) before the layout move of issue #13 (messaging/ cut in three, the
stream consumers moved out of actors/). Moving code must not change what is stored: the Redis
keys, the JSON of queues and outbox messages, event fields, FSM state names and the engine's
snapshots. Each test below loads the dump into a fresh Redis and reads one kind of state with
today's code; the expected values come from the dump itself, not from the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from aiogram.fsm.storage.base import StorageKey

from actors.user_queue_shard import UserQueueShard
from arbcast.consumers.ack_router import AckRouter
from bot.dispatcher import create_dispatcher
from bot.handlers.onboarding import Onboarding
from bot.handlers.preferences import SettingsInput
from core.distribution.user_queue import UserQueue
from core.models import Opportunity, Tier
from core.opportunity_store import OpportunityStore
from core.profiles import ProfileStore
from core.services import Services
from core.settings import Settings
from core.store.scripts import Scripts

SNAPSHOT = Path(__file__).parent.parent / "fixtures" / "redis_before_layout_move.json"


def _dump() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads(SNAPSHOT.read_text())
    return data


def _of_type(dump: dict[str, dict[str, Any]], prefix: str) -> dict[str, Any]:
    return {k: v["value"] for k, v in dump.items() if k.startswith(prefix)}


def _id_in(key: str) -> int:
    """The user id of a hash-tagged per-user key (`arbcast:session:{101}` -> 101)."""
    return int(key[key.index("{") + 1 : key.index("}")])


async def _restore(redis: Any, dump: dict[str, dict[str, Any]]) -> None:
    pipe = redis.pipeline(transaction=False)
    for key, item in dump.items():
        kind, value = item["type"], item["value"]
        if kind == "string":
            pipe.set(key, value)
        elif kind == "hash":
            pipe.hset(key, mapping=value)
        elif kind == "set":
            pipe.sadd(key, *value)
        elif kind == "zset":
            pipe.zadd(key, {member: score for member, score in value})
        elif kind == "list":
            pipe.rpush(key, *value)
        elif kind == "stream":
            for entry_id, fields in value["entries"]:
                pipe.xadd(key, fields, id=entry_id)
        else:  # pragma: no cover - the dump holds only the kinds above
            raise AssertionError(f"unexpected Redis type {kind} for {key}")
    await pipe.execute()


@pytest.fixture
async def restored(redis: Any) -> dict[str, dict[str, Any]]:
    dump = _dump()
    await _restore(redis, dump)
    return dump


async def test_profiles_keep_their_tiers(
    redis: Any, restored: dict[str, dict[str, Any]], settings: Settings
) -> None:
    """Every stored profile decodes, with the tier its tier index set says."""
    expected: dict[int, Tier] = {}
    for key, members in _of_type(restored, "arbcast:users:tier:").items():
        for member in members:
            expected[int(member)] = Tier(key.rsplit(":", 1)[1])
    profiles = ProfileStore(redis, Scripts(redis), settings.superadmin_ids)
    ids = sorted(_id_in(k) for k in _of_type(restored, "arbcast:user:{"))
    got = await profiles.get_many(ids)
    assert len(ids) == 10
    assert {p.user_id: p.tier for p in got} == {i: expected[i] for i in ids}


async def test_sessions_decode_and_a_shard_loads_their_users(
    restored: dict[str, dict[str, Any]], services: Services, settings: Settings, redis_url: str
) -> None:
    """Every session hash decodes to its user, and a shard started on the dump loads exactly the
    users whose expiry in the index lies ahead."""
    for key in _of_type(restored, "arbcast:session:{"):
        session = await services.sessions.store.get(_id_in(key))
        assert session is not None and session.user_id == _id_in(key)
    expiry = dict(restored["arbcast:sessions:expiry"]["value"])
    now = min(expiry.values()) - 1.0  # every indexed session is active at this instant
    shard = UserQueueShard(0, 1, settings, redis_url)
    assert await shard.load(now) == len(expiry)
    assert {int(c) for c in shard.columns.chat_ids} == {int(u) for u in expiry}


async def test_user_queues_decode(restored: dict[str, dict[str, Any]]) -> None:
    """Every stored per-user queue is read back by today's `UserQueue`, for its own user."""
    queues = _of_type(restored, "arbcast:uq:{")
    assert queues
    for key, raw in queues.items():
        queue = UserQueue.from_dict(json.loads(raw))
        assert queue.user_id == _id_in(key)


async def test_delivery_records_decode(restored: dict[str, dict[str, Any]]) -> None:
    """Every delivery ack (user, outgoing id, Telegram message id) decodes as the ack router
    reads it, with an outgoing id of its own user."""
    acks = restored["arbcast:{outbox}:acks"]["value"]["entries"]
    assert acks
    for _, fields in acks:
        user, outgoing, message = AckRouter.decode(cast(AckRouter, None), fields)
        assert outgoing.startswith(f"{user}:") and message > 0


async def test_opportunities_and_changes_decode(
    redis: Any, restored: dict[str, dict[str, Any]], settings: Settings
) -> None:
    """Opportunities in the live index are read by the store, and every change on the changes
    stream decodes to an opportunity."""
    store = OpportunityStore(redis, ttl=settings.opportunities.ttl_seconds)
    live = [member for member, _ in restored["arbcast:opps:live"]["value"]]
    stored = {k.rsplit(":", 1)[1] for k in _of_type(restored, "arbcast:opp:")}
    present = [i for i in live if i in stored]
    assert present
    got = await store.get_many(present)
    assert set(got) == set(present)
    for _, fields in restored["arbcast:opps:changes"]["value"]["entries"]:
        assert Opportunity.model_validate_json(fields["opportunity"]).opportunity_id


async def test_fsm_states_are_states_of_today(
    restored: dict[str, dict[str, Any]], services: Services, settings: Settings
) -> None:
    """Every stored FSM state is read through the dispatcher's storage and names a state of
    today's onboarding or settings flows."""
    known = {s.state for s in (*Onboarding.__states__, *SettingsInput.__states__)}
    dp = create_dispatcher(settings, services)
    stored = {k: v for k, v in _of_type(restored, "arbcast:fsm:").items() if k.endswith(":state")}
    assert stored
    for key in stored:
        chat, user = (int(p) for p in key.split(":")[2:4])
        state = await dp.storage.get_state(StorageKey(bot_id=0, chat_id=chat, user_id=user))
        assert state in known, (key, state)
