"""The channel broadcaster on real Redis with a manual clock: a linked channel gets each public
opportunity once, only after its delay (relative to detection, when paying plans get it), only
while it is open, within its own per-minute limit, in the outbox with its deep link; other
types, private-only ones, unlinked channels and channels the bot left get nothing."""

from __future__ import annotations

import json
from typing import Any

from core.clock import ManualClock
from core.distribution.settings import DeliverySettings
from core.events import MemoryEventLog
from core.group_settings import GroupSettings
from core.groups.channel_posts import ChannelPostStore, channel_outgoing_id
from core.groups.models import ChatKind
from core.groups.store import GroupStore
from core.models import OpportunityType
from core.opportunity_store import OpportunityStore
from core.store import keys
from messaging.outbox.channel_broadcast import ChannelBroadcaster
from messaging.outbox.message import OutboxMessage
from messaging.outbox.store import Outbox
from tests.actors.test_user_queue_shard import opp

C = -100777
SETTINGS = GroupSettings(channel_delay_seconds=600, channel_per_minute=2, channel_per_hour=5)


async def _outbox(redis: Any) -> list[OutboxMessage]:
    rows = [
        *await redis.xrange(keys.outbox_stream(0)),
        *await redis.xrange(keys.outbox_stream(0, high=True)),
    ]
    return [OutboxMessage.from_json(f["m"]) for _, f in rows]


def _broadcaster(redis: Any, clock: ManualClock, settings: GroupSettings = SETTINGS) -> Any:
    async def username() -> str:
        return "arbcast_bot"

    return ChannelBroadcaster(
        GroupStore(redis),
        ChannelPostStore(redis, settings, seen_ttl_seconds=3600),
        OpportunityStore(redis, ttl=7200),
        Outbox(redis, DeliverySettings(), events=MemoryEventLog(), clock=clock),
        settings,
        clock,
        username,
    )


async def test_public_opportunities_are_posted_once_after_the_delay(
    redis: Any, clock: ManualClock
) -> None:
    """Before the delay nothing; after it, the funding one (not the spread, not the technical
    signal), once however often the broadcaster runs, with the channel's deep link."""
    now = clock.now()
    await GroupStore(redis).link_channel(C, "News", 1, now)
    store = OpportunityStore(redis, ttl=7200)
    fresh = dict(detected_at=now, expires_at=now + 3600)
    await store.apply(
        opened=[
            opp(now, "f1", **fresh),
            opp(now, "a1", type=OpportunityType.ARBITRAGE, **fresh),
            opp(now, "t1", type=OpportunityType.TECHNICAL, **fresh),
        ]
    )
    b = _broadcaster(redis, clock)
    assert await b.step() == 0
    clock.advance(seconds=599)
    assert await b.step() == 0
    clock.advance(seconds=1)
    assert await b.step() == 1
    assert await b.step() == 0
    [m] = await _outbox(redis)
    assert (m.chat_id, m.opportunity_ids, m.chat_kind) == (C, ("f1",), "channel")
    assert m.outgoing_id == channel_outgoing_id(C, "f1")
    markup = json.loads(m.reply_markup or "{}")
    assert markup["inline_keyboard"][1][0]["url"] == "https://t.me/arbcast_bot?start=ch_m100777"


async def test_the_channels_own_delay_and_limit_apply_and_the_rest_waits(
    redis: Any, clock: ManualClock
) -> None:
    """A channel linked with a 60 s delay gets five due ones two per minute (oldest first); the
    rest go in the next minutes; an opportunity that closed meanwhile never goes."""
    now = clock.now()
    await GroupStore(redis).link_channel(C, "News", 1, now, delay_seconds=60)
    store = OpportunityStore(redis, ttl=7200)
    opened = [opp(now, f"f{i}", detected_at=now + i, expires_at=now + 3600) for i in range(5)]
    await store.apply(opened=opened)
    b = _broadcaster(redis, clock)
    clock.advance(seconds=70)
    assert await b.step() == 2
    closed = opened[4].model_copy(update={"closed": True, "updated_at": clock.now()})
    await store.apply(closed=[closed])
    clock.advance(seconds=60)
    assert await b.step() == 2
    clock.advance(seconds=60)
    assert await b.step() == 0
    assert [m.opportunity_ids[0] for m in await _outbox(redis)] == ["f0", "f1", "f2", "f3"]


async def test_unlinked_and_left_channels_get_nothing(redis: Any, clock: ManualClock) -> None:
    """Unlinked, or the bot removed from it (left): no posts; a group is never posted to."""
    now = clock.now()
    groups = GroupStore(redis)
    await groups.link_channel(C, "News", 1, now, delay_seconds=0)
    await groups.link_channel(-100888, "Other", 1, now, delay_seconds=0)
    await groups.joined(-100999, ChatKind.SUPERGROUP, "G", now)
    await groups.enable(-100999, 5, now)
    await groups.unlink_channel(C, now)
    await groups.left(-100888, now)
    await OpportunityStore(redis, ttl=7200).apply(
        opened=[opp(now, "f1", detected_at=now, expires_at=now + 3600)]
    )
    assert await _broadcaster(redis, clock).step() == 0
    assert await _outbox(redis) == []


async def test_a_post_whose_opportunity_closed_is_edited_once(
    redis: Any, clock: ManualClock
) -> None:
    """Once the post was delivered (its message id recorded by the outbox) and its opportunity
    closed, the broadcaster enqueues one edit of that message: struck through, no buttons."""
    now = clock.now()
    await GroupStore(redis).link_channel(C, "News", 1, now, delay_seconds=0)
    store = OpportunityStore(redis, ttl=7200)
    f1 = opp(now, "f1", detected_at=now, expires_at=now + 3600)
    await store.apply(opened=[f1])
    b = _broadcaster(redis, clock)
    assert await b.step() == 1
    await redis.set(keys.outbox_sent(channel_outgoing_id(C, "f1")), 42)  # delivered as 42
    clock.advance(seconds=30)
    await store.apply(closed=[f1.model_copy(update={"closed": True, "updated_at": clock.now()})])
    await b.step()
    await b.step()
    [post] = [m for m in await _outbox(redis) if m.kind == "send"]
    [edit] = [m for m in await _outbox(redis) if m.kind == "edit"]
    assert (edit.kind, edit.message_id, edit.chat_id, edit.reply_markup) == ("edit", 42, C, None)
    assert "Closed" in edit.text and "<s>" in edit.text
    assert post.opportunity_ids == edit.opportunity_ids == ("f1",)
