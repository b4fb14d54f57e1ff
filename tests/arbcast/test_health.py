"""/healthz of a running Runtime: Redis and the sink, with figures; 503 while one is down."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from arbcast.runtime import Runtime
from core.settings import Settings
from core.store.embedded import EmbeddedRedis
from tests.helpers import eventually

TOKEN = "123456:" + "D" * 35


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    data = Path(tempfile.mkdtemp(prefix="arbc-health-", dir="/tmp"))
    server = EmbeddedRedis(data)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(data, ignore_errors=True)


async def test_healthz_reports_redis_and_the_sink_and_is_503_while_redis_is_down(
    own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        redis_url=own_redis.url,
        telegram_bot_token=TOKEN,  # type: ignore[arg-type]
        redis_socket_timeout_seconds=0.5,
        redis_connect_timeout_seconds=0.5,
        task_restart_first_seconds=0.05,
        task_restart_max_seconds=0.2,
        analytics={"block_seconds": 0.05},  # type: ignore[arg-type]
    )
    async with (
        Runtime(settings, start_engine=False, start_pushes=False) as rt,
        TestServer(await rt.webhook_app()) as server,
        aiohttp.ClientSession() as http,
    ):
        url = str(server.make_url("/healthz"))

        async def health() -> tuple[int, dict[str, Any]]:
            async with http.get(url) as r:
                return r.status, await r.json()

        status, body = await health()
        assert status == 200 and body["ok"] is True
        assert body["redis"]["ok"] and body["sink"]["ok"]
        assert body["sink"]["state"] == "running" and body["sink"]["lag_entries"] >= 0

        own_redis.stop()

        async def sink_down() -> bool:
            status, body = await health()
            return status == 503 and not body["redis"]["ok"] and not body["sink"]["ok"]

        await eventually(sink_down, timeout=20, what="/healthz reports Redis and the sink down")

        own_redis.start()

        async def back() -> bool:
            status, body = await health()
            return status == 200 and body["sink"]["failures"] >= 1

        await eventually(back, timeout=20, what="/healthz is 200 again, the sink restarted")
