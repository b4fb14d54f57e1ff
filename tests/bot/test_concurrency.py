"""Many users at once through the emulator's parallel webhook delivery."""

from __future__ import annotations

import asyncio

from core.events import EventName
from tests.bot.conftest import BotEnv


async def test_two_hundred_users_starting_at_once_get_exactly_two_hundred_sessions(
    botenv: BotEnv,
) -> None:
    await asyncio.gather(*(botenv.send(uid, "/start") for uid in range(1, 201)))
    now = botenv.clock.now()
    assert await botenv.services.sessions.store.count_active(now) == 200
    started = botenv.services.events.named(EventName.SESSION_STARTED)
    assert sorted(e.user_id for e in started if e.user_id) == list(range(1, 201))
    assert len({e.session_id for e in started}) == 200


async def test_concurrent_activity_of_one_user_loses_no_extension(botenv: BotEnv) -> None:
    await botenv.send(1, "/start")
    start = botenv.clock.now()
    botenv.clock.advance(days=1)
    await asyncio.gather(*(botenv.send(1, "/status") for _ in range(20)))
    await botenv.services.sessions.activity.flush()
    s = await botenv.services.sessions.store.get(1)
    assert s is not None
    assert s.expires_at == start + 86_400 + 7 * 86_400
    assert s.commands_used == 21
