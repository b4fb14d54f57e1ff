"""`arbcast run` runs the learner: a press the running process emits reaches the event stream,
the process's own learner reads it with the ``personalisation`` group and the user's weights
change in Redis; the group exists beside the sink's. Real Redis, no Ray (pushes and engine off)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from arbcast.consumers.personalisation import GROUP
from arbcast.runtime import Runtime
from core.event_names import EventName
from core.settings import Settings
from core.store import keys
from tests.core.personalisation.factories import opp
from tests.helpers import eventually

TOKEN = "123456:" + "P" * 35


async def test_the_runtime_learns_from_its_own_event_stream(
    redis: Any, redis_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        telegram_bot_token=TOKEN,
        analytics={"block_seconds": 0.05, "fsync": False},
    )
    async with Runtime(settings, start_engine=False, start_pushes=False) as rt:
        await rt.services.profiles.ensure(7, "u7")
        await rt.services.opportunities.put(opp("o7"))
        rt.services.emit(EventName.FEEDBACK, user_id=7, opportunity_id="o7", vote="up")
        await rt.services.events.flush()

        async def learned() -> bool:
            return bool(await redis.hget(keys.relevance_weights(7), "_n") == "1")

        await eventually(learned, timeout=20, what="the learner learned the vote")
        groups = {g["name"] for g in await redis.xinfo_groups(keys.EVENTS_STREAM)}
        assert GROUP in groups and len(groups) >= 2  # beside the sink's
