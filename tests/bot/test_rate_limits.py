"""With Telegram's limits on, the bot's replies are paced so that Telegram never says 429."""

from __future__ import annotations

import asyncio

import aiohttp

from core.settings import Settings
from tests.bot.conftest import BotEnv


async def _stats(env: BotEnv) -> dict[str, object]:
    async with env.http.get(f"{env.url}/emulator/stats") as r:
        stats: dict[str, object] = await r.json()
        return stats


async def test_bursts_of_replies_to_one_chat_are_paced_without_429(
    botenv: BotEnv, settings: Settings
) -> None:
    pace = settings.telegram.model_copy(
        update={"pace_private_per_second": 1.0, "pace_global_per_second": 29.0}
    )
    from messaging.transport.telegram import create_bot

    paced = create_bot(settings.model_copy(update={"telegram": pace}))
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{botenv.url}/emulator/config", json={"limits": "telegram"}) as r:
            assert r.status == 200
        await botenv.send(1, "/help")  # the chat exists once the user wrote
        await asyncio.gather(*(paced.send_message(1, f"reply {i}") for i in range(6)))
    await paced.session.close()
    stats = await _stats(botenv)
    assert stats["too_many_requests"]["total"] == 0  # type: ignore[index]
    texts = [m["text"] for m in await botenv.messages(1)]
    assert sorted(t for t in texts if t.startswith("reply")) == [f"reply {i}" for i in range(6)]
