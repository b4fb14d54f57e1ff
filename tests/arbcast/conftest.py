"""Shared by the push pipeline tests: settings, the emulator in its own process, a view of it
(`World`), and users seeded straight into Redis."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.models import SessionState
from core.services import Services, build_services
from core.settings import Settings
from core.store import keys
from tests.arbcast.population import BLOCKED_REGION
from tests.conftest import RAY_BOT_TOKEN

TOKEN = RAY_BOT_TOKEN  # the push sender on the session's Ray knows only this one
WINDOW = 3.0


DELIVERY: dict[str, Any] = {"block_ms": 200, "reclaim_idle_ms": 3_000}


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
            "delivery": DELIVERY,
            **distribution,
        },
    )


@pytest.fixture(scope="session")
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

    async def stats(
        self, *, min_sent: int = 0, method: str = "", min_calls: int = 0, timeout: float = 0
    ) -> dict[str, Any]:
        """The emulator's counters, once `min_sent` messages and `min_calls` calls of `method`
        were made (a long poll, no sleeping)."""
        q = f"?min_sent={min_sent}&method={method}&min_calls={min_calls}&timeout={timeout}"
        async with self.http.get(f"{self.url}/emulator/stats{q}") as resp:
            data: dict[str, Any] = await resp.json()
            assert resp.status == 200, data
            return data

    async def block(self, user_id: int) -> None:
        async with self.http.post(
            f"{self.url}/emulator/users/{user_id}/block", json={"bot_token": TOKEN}
        ) as resp:
            assert resp.status == 200, await resp.text()


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
