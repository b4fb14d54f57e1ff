"""The learner follows the real event stream: two users with opposite tastes are pushed the same
digests for two weeks of simulated time (ManualClock), press Details, vote and mute as their
tastes say, and leave the rest unopened; afterwards the same digest is ranked in opposite
orders for them. Events go through `RedisEventLog` into ``arbcast:events`` and are read by
`PersonalisationReader` with its own consumer group, as `arbcast run` does. Real Redis."""

from __future__ import annotations

from typing import Any

from arbcast.consumers.personalisation import PersonalisationReader
from core.clock import ManualClock
from core.distribution.user_queue import Outgoing
from core.event_names import EventName
from core.events import Emitter, MemoryEventLog, RedisEventLog
from core.models import OpportunityType, Priority
from core.opportunity_store import OpportunityStore
from core.personalisation.learner import Learner
from core.personalisation.ranker import Ranker
from core.personalisation.settings import PersonalisationSettings
from core.personalisation.store import RelevanceStore
from core.profiles import ProfileStore
from core.store import keys
from core.store.scripts import Scripts
from tests.core.personalisation.factories import T0, opp

FUNDING, ARBITRAGE = OpportunityType.FUNDING, OpportunityType.ARBITRAGE
LIKES = {1: FUNDING, 2: ARBITRAGE}  # user -> the type they want


def digest(user_id: int, ids: tuple[str, ...], n: int) -> Outgoing:
    return Outgoing(f"{user_id}:0:{n}", user_id, "digest", ids, Priority.MEDIUM, T0, f"d{n}")


async def _drain(reader: PersonalisationReader) -> None:
    while await reader.step() > 0:
        pass


async def test_opposite_tastes_learned_from_the_stream_give_opposite_orders(redis: Any) -> None:
    clock = ManualClock(T0)
    settings = PersonalisationSettings()
    log = RedisEventLog(redis)
    emit = Emitter(log, clock)
    profiles = ProfileStore(redis, Scripts(redis), frozenset())
    opps = OpportunityStore(redis, ttl=60 * 86_400)
    for uid in LIKES:
        await profiles.ensure(uid, f"u{uid}")
    store = RelevanceStore(redis, settings)
    reader = PersonalisationReader(redis, Learner(store, profiles, opps), clock, consumer="t")
    await reader.ensure_group()
    n = 0
    for day in range(14):
        for slot in range(3):
            clock.set(T0 + day * 86_400 + slot * 8 * 3600)
            pair = (
                opp(f"f{day}-{slot}", FUNDING, updated_at=clock.now()),
                opp(f"a{day}-{slot}", ARBITRAGE, updated_at=clock.now()),
            )
            for o in pair:
                await opps.put(o)
            ids = ",".join(o.opportunity_id for o in pair)
            for uid, liked in LIKES.items():
                emit(EventName.SENT, user_id=uid, kind="send", opportunity_ids=ids, tier="free")
                for o in pair:
                    if o.type is liked and (day + slot) % 2 == 0:
                        emit(EventName.DETAILS, user_id=uid, opportunity_id=o.opportunity_id)
                    if o.type is liked and slot == 1:
                        emit(
                            EventName.FEEDBACK,
                            user_id=uid,
                            opportunity_id=o.opportunity_id,
                            vote="up",
                        )
                    if o.type is not liked and day % 5 == 4 and slot == 2:
                        emit(
                            EventName.FEEDBACK,
                            user_id=uid,
                            opportunity_id=o.opportunity_id,
                            vote="down",
                        )
            n += 1
            await log.flush()
            await _drain(reader)
    clock.advance(days=1)  # everything not pressed is now past its unopened deadline
    await _drain(reader)
    assert await redis.zcard(keys.RELEVANCE_DUE) == 0
    assert reader.learner.learned > 100

    ranker = Ranker(redis, settings)
    fresh = (opp("new-a", ARBITRAGE), opp("new-f", FUNDING))
    by_id = {o.opportunity_id: o for o in fresh}
    users = {uid: await profiles.get(uid) for uid in LIKES}
    ranked = await ranker.rank(
        [digest(1, ("new-a", "new-f"), n), digest(2, ("new-a", "new-f"), n + 1)],
        by_id,
        users,
        clock.now(),
    )
    orders = {o.user_id: o.opportunity_ids for o in ranked}
    assert orders == {1: ("new-f", "new-a"), 2: ("new-a", "new-f")}
    # And the scores say so independently of the order: each prefers their own type.
    await ranker.load(list(users.values()), clock.now())
    for uid, liked in LIKES.items():
        s = {o.type: ranker.score(users[uid], o, clock.now()) for o in fresh}
        assert s[liked] > 0.5 > s[FUNDING if liked is ARBITRAGE else ARBITRAGE]


async def test_a_malformed_entry_is_dead_lettered_and_the_next_one_learned(redis: Any) -> None:
    """Poison (an entry no event log wrote, with binary junk) goes to the dead-letter stream at
    once; the learner goes on with the entries behind it."""
    clock = ManualClock(T0)
    profiles = ProfileStore(redis, Scripts(redis), frozenset())
    opps = OpportunityStore(redis, ttl=86_400)
    await profiles.ensure(1, "u1")
    await opps.put(opp("x", FUNDING))
    store = RelevanceStore(redis, PersonalisationSettings())
    reader = PersonalisationReader(redis, Learner(store, profiles, opps), clock, consumer="t")
    await reader.ensure_group()
    await redis.xadd(keys.EVENTS_STREAM, {"v": "m4", "n": "1", "d": b"\x80\xff junk"})
    log = RedisEventLog(redis)
    Emitter(log, clock)(EventName.DETAILS, user_id=1, opportunity_id="x")
    await log.flush()
    await _drain(reader)
    assert reader.dead_lettered == 1
    assert await redis.xlen(keys.stream_dead(keys.EVENTS_STREAM)) == 1
    assert await redis.hget(keys.relevance_weights(1), "_n") == "1"


async def test_alerts_before_a_lapsed_session_are_learned_as_unwanted_once(redis: Any) -> None:
    """A session that expires after alerts teaches 'not wanted' for the unpressed alerts of the
    last `lapse_seconds` only; a pressed one and an older one are not counted as lapsed."""
    clock = ManualClock(T0)
    settings = PersonalisationSettings(lapse_seconds=3600)
    profiles = ProfileStore(redis, Scripts(redis), frozenset())
    opps = OpportunityStore(redis, ttl=86_400)
    await profiles.ensure(1, "u1")
    for o in (opp("old"), opp("new"), opp("pressed")):
        await opps.put(o)
    learner = Learner(RelevanceStore(redis, settings), profiles, opps)
    log = MemoryEventLog()
    emit = Emitter(log, clock)
    emit(EventName.SENT, user_id=1, kind="send", opportunity_ids="old", tier="free")
    clock.advance(hours=2)
    emit(EventName.SENT, user_id=1, kind="send", opportunity_ids="new,pressed", tier="free")
    emit(EventName.DETAILS, user_id=1, opportunity_id="pressed")
    emit(EventName.SESSION_EXPIRED, user_id=1)
    events = [e.__dict__ for e in log.events]
    assert await learner.apply(events) == 2  # the press, and "new" as lapsed
    assert await learner.apply(events) == 0  # read again: nothing learned twice
    seen = await redis.hgetall(keys.relevance_seen(1))
    assert {k for k in seen if "#" in k} == {"pressed#details", "pressed#i", "new#lapse"}
