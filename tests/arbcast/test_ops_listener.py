"""`arbcast run` in polling mode serves /healthz, /metrics and the dashboard on its own listener
(`ops.listen_host:ops.listen_port`), and stops serving when the runtime stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from arbcast.ops import Ops
from arbcast.runtime import Runtime
from core.services import build_services
from core.settings import Settings
from core.store.keys import OUTBOX_DEAD
from emulator.server import EmulatorServer
from tests.helpers import eventually

TOKEN = "123456:" + "E" * 35
DASHBOARD_TOKEN = "ops-listener-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    server = EmulatorServer(limits="off")
    await server.start()
    yield server
    await server.stop()


async def test_polling_mode_serves_health_metrics_and_the_dashboard(
    redis: Any, redis_url: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    port = free_port()
    settings = Settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        telegram_bot_token=TOKEN,
        telegram={"api_base": emulator.url, "polling_timeout_seconds": 1},
        ops={"listen_port": port},
        analytics={"run_sink": False, "dashboard_token": DASHBOARD_TOKEN},
    )
    await redis.xadd(OUTBOX_DEAD, {"m": "{}", "reason": "test"})
    base = f"http://127.0.0.1:{port}"
    async with (
        Runtime(settings, start_engine=False, start_pushes=False) as rt,
        aiohttp.ClientSession() as http,
    ):
        polling = asyncio.create_task(rt.run_polling())

        async def healthy() -> bool:
            try:
                async with http.get(f"{base}/healthz") as r:
                    return r.status == 200 and (await r.json())["redis"]["ok"] is True
            except aiohttp.ClientConnectionError:
                return False

        try:
            await eventually(healthy, timeout=10, what="the ops listener answers /healthz")
            async with http.get(f"{base}{settings.ops.metrics_path}") as r:
                assert r.status == 200
                text = await r.text()
            assert f'arbcast_dead_letters{{stream="{OUTBOX_DEAD}"}} 1.0' in text
            assert "arbcast_webhook_request_duration_seconds_count 0.0" in text
            dashboard = f"{base}{settings.analytics.dashboard_path}"
            async with http.get(dashboard) as r:
                assert r.status == 401  # mounted, and guarded
            headers = {"Authorization": f"Bearer {DASHBOARD_TOKEN}"}
            async with http.get(dashboard, headers=headers) as r:
                assert r.status == 200
        finally:
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz"):
            pass


async def test_a_busy_ops_port_is_reported_and_costs_only_the_ops_routes(
    redis: Any, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = settings.model_copy(
            update={"ops": settings.ops.model_copy(update={"listen_port": port})}
        )
        ops = Ops(build_services(redis, busy), redis, None)
        with caplog.at_level(logging.ERROR, logger="arbcast.ops"):
            await ops.start_listener({})  # no exception: polling goes on
        assert ops.listener is None
        assert f"cannot listen on 127.0.0.1:{port}" in caplog.text
        assert "ARBCAST_OPS__LISTEN_PORT" in caplog.text
        await ops.stop()
