"""The push pipeline end to end: opportunity changes in Redis → the distributor → UserQueueActor
shards on Ray → the durable outbox → the push sender leasing from the GlobalRateLimiter → aiogram
over HTTP → the emulator with Telegram's limits on.

The main test puts 1,000 users of mixed tiers and preferences behind one burst of opportunities
and checks every chat against an independent oracle (`tests/arbcast/population.py`), with zero
429s and the delivered rate within 5% of Telegram's 30 messages/s while there is a backlog.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from arbcast.pushes import Pushes
from core.models import SessionState
from core.opportunity_store import OpportunityStore
from core.services import Services, build_services
from core.settings import Settings
from core.store import keys
from tests.arbcast.population import (
    BLOCKED_REGION,
    burst,
    eligible,
    expected,
    ids_in,
    population,
)

TOKEN = "123456:" + "A" * 35
WINDOW = 3.0
N_USERS = int(os.environ.get("ARBCAST_TEST_PUSH_USERS", "1000"))


def push_settings(tmp_path: Path, api_base: str, **distribution: Any) -> Settings:
    return Settings(
        data_dir=tmp_path,
        telegram_bot_token=TOKEN,  # type: ignore[arg-type]
        telegram={"api_base": api_base},  # type: ignore[arg-type]
        ray={"namespace": "arbcast-tests"},  # type: ignore[arg-type]
        shards=2,
        distribution={  # type: ignore[arg-type]
            "medium_window_seconds": WINDOW,
            "low_window_seconds": WINDOW,
            "tick_seconds": 0.2,
            "blocked_regions": [BLOCKED_REGION],
            "delivery": {"block_ms": 200, "reclaim_idle_ms": 3_000},
            **distribution,
        },
    )


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    """The emulator in a process of its own, as Telegram is: the pauses of this process (the
    Ray driver, the test's own work, its garbage collector) must not bunch what it receives."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--limits", "telegram"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # printed once it listens
    found = re.search(r"(http://\S+)", line)
    assert found, f"the emulator did not start: {line!r}"
    try:
        yield found.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class World:
    """The emulator seen from a test: open chats, read what each received, wait for sends."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self.http = http

    async def reset(self) -> None:
        async with self.http.post(f"{self.url}/emulator/reset") as resp:
            assert resp.status == 200, await resp.text()

    async def open_chats(self, user_ids: list[int]) -> None:
        sem = asyncio.Semaphore(32)

        async def one(uid: int) -> None:
            async with (
                sem,
                self.http.post(
                    f"{self.url}/emulator/users/{uid}/messages",
                    json={"text": "hi", "first_name": f"T{uid}", "bot_token": TOKEN},
                ) as resp,
            ):
                assert resp.status == 200, await resp.text()

        await asyncio.gather(*(one(u) for u in user_ids))

    async def messages(self, chat_id: int) -> list[dict[str, Any]]:
        url = f"{self.url}/emulator/chats/{chat_id}/messages?bot_token={TOKEN}"
        async with self.http.get(url) as resp:
            data: list[dict[str, Any]] = await resp.json()
            return data

    async def stats(self, *, min_sent: int = 0, timeout: float = 0) -> dict[str, Any]:
        q = f"?min_sent={min_sent}&timeout={timeout}" if min_sent else ""
        async with self.http.get(f"{self.url}/emulator/stats{q}") as resp:
            data: dict[str, Any] = await resp.json()
            assert resp.status == 200, data
            return data


async def seed(services: Services, people: list[Any], now: float) -> None:
    for p in people:
        await services.redis.hset(keys.user(p.user_id), mapping=p.profile_fields(now))
        if p.session != "none":
            await services.sessions.start(p.user_id)
        if p.session == "ended":
            await services.sessions.end(p.user_id, SessionState.TERMINATED, "logout")


@pytest.fixture
async def live_services(redis: Any, tmp_path: Path) -> AsyncIterator[Services]:
    """Services on the wall clock, as the shards (in other processes) read it."""
    svc = build_services(redis, Settings(data_dir=tmp_path))
    await svc.start(sweep=False)
    yield svc
    await svc.close()


async def test_a_burst_reaches_1000_users_exactly_as_the_rules_say_at_telegrams_rate(
    ray_instance: None,
    redis: Any,
    redis_url: str,
    emulator_url: str,
    http: aiohttp.ClientSession,
    live_services: Services,
    tmp_path: Path,
) -> None:
    """Each user gets exactly the digest the oracle computes (or nothing), held users get
    nothing yet, Telegram answers no 429, and the backlog drains within 5% of 30 messages/s."""
    settings = push_settings(tmp_path, emulator_url)
    world = World(emulator_url, http)
    await world.reset()
    now = live_services.clock.now()
    people = population(N_USERS)
    opps = burst(now)
    want, held = expected(people, opps, settings)
    await world.open_chats([p.user_id for p in people])
    await seed(live_services, people, now)
    baseline = (await world.stats())["messages_sent"]
    pushes = Pushes(settings, redis_url, redis)
    try:
        await pushes.start()
        await OpportunityStore(redis, ttl=1800).apply(opened=opps)
        timeout = len(want) / 25 + 60
        stats = await world.stats(min_sent=baseline + len(want), timeout=timeout)
        counters = await pushes.counters()
    finally:
        await pushes.stop()
        pushes.kill()

    assert stats["too_many_requests"]["total"] == 0, stats
    assert stats["peak_send_rate"] <= 30, stats
    rate = (stats["messages_sent"] - 1) / (stats["last_sent_at"] - stats["first_sent_at"])
    assert 28.5 <= rate <= 30.0, f"{rate:.2f} messages/s"
    wrong: list[tuple[int, Any, Any]] = []
    for p in people:
        got = [ids_in(m) for m in await world.messages(p.user_id)]
        should = [want[p.user_id]] if p.user_id in want else []
        if got != should:
            wrong.append((p.user_id, got, should))
    assert not wrong, f"{len(wrong)} users differ from the oracle, e.g. {wrong[:5]}"
    assert counters["sent"] == len(want)
    assert counters["duplicates"] == 0 and counters["dead"] == 0
    held_items = sum(
        len([o for o in opps if eligible(p, o, settings)]) for p in people if p.user_id in held
    )
    assert counters["held"] == held_items > 0
