"""The `arbcast` command as a user runs it: separate processes, real HTTP, real Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.helpers import eventually

TOKEN = "123456:" + "B" * 35


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ARBCAST_", "TELEGRAM_", "REDIS_"))
    }
    env.update(extra)
    return env


def _arbcast(*args: str) -> list[str]:
    return [sys.executable, "-m", "arbcast.cli", *args]


@pytest.mark.parametrize(("token", "says"), [(None, "is not set"), ("nope", "is malformed")])
def test_run_without_a_good_token_exits_with_a_clear_error(
    tmp_path: Path, token: str | None, says: str
) -> None:
    env = _env(ARBCAST_DATA_DIR=str(tmp_path))
    if token is not None:
        env["TELEGRAM_BOT_TOKEN"] = token
    done = subprocess.run(_arbcast("run"), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in done.stderr
    assert says in done.stderr


@pytest.fixture
def emulator_process() -> Iterator[str]:
    port = _port()
    proc = subprocess.Popen(
        _arbcast("emulator", "--port", str(port), "--limits", "off", "--allow-insecure-webhooks"),
        env=_env(),
    )
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_run_serves_users_through_the_emulator(
    emulator_process: str, redis_url: str, redis: object, tmp_path: Path, mode: str
) -> None:
    args = ["run", "--api-base", emulator_process]
    if mode == "webhook":
        args += ["--webhook", "--port", str(_port())]
    env = _env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        REDIS_URL=redis_url,
        ARBCAST_DATA_DIR=str(tmp_path),
        ARBCAST_ENGINE_RUNTIME__ENABLED="false",  # the engine on Ray is tested in tests/actors
    )
    bot = subprocess.Popen(_arbcast(*args), env=env)  # noqa: ASYNC220 (Popen returns at once)
    try:
        async with aiohttp.ClientSession() as http:

            async def emulator_up() -> bool:
                try:
                    async with http.get(f"{emulator_process}/emulator/stats") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            await eventually(emulator_up, timeout=30, what="the emulator answers")

            async def bot_connected() -> bool:
                async with http.get(f"{emulator_process}/emulator/stats") as r:
                    stats = await r.json()
                calls = {k.lower(): v for k, v in stats["calls"].items()}
                wanted = "setwebhook" if mode == "webhook" else "getupdates"
                return calls.get(wanted, 0) > 0

            await eventually(bot_connected, timeout=60, what=f"the bot is {mode}")
            body = {"text": "/start", "first_name": "Ann", "wait": True, "timeout": 20}
            async with http.post(f"{emulator_process}/emulator/users/42/messages", json=body) as r:
                assert r.status == 200, await r.text()
            async with http.get(
                f"{emulator_process}/emulator/chats/42/messages?min_count=2&timeout=20"
            ) as r:
                messages = await r.json()
            assert "Welcome to arbcast" in messages[0]["plain_text"]
    finally:
        bot.terminate()
        assert bot.wait(timeout=30) is not None
