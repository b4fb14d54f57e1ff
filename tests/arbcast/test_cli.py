"""The `arbcast` command as a user runs it: separate processes, real HTTP, real Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
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
    base = f"http://127.0.0.1:{port}"
    # Every test here may start the bot at once, and the bot exits if Telegram (the emulator)
    # does not answer at startup: so the fixture hands over only a listening emulator.
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/emulator/stats", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the emulator did not start listening on {base}") from None
            time.sleep(0.05)  # poll interval while the port is not yet open
    yield base
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


# --- bad settings and an unreachable Redis: one line, never a traceback -----------------------


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


BAD_SETTINGS = [
    ({"ARBCAST_SUPERADMIN_IDS": "[1,"}, "ARBCAST_SUPERADMIN_IDS (environment) is not valid JSON"),
    (
        {"ARBCAST_TELEGRAM__WEBHOOK_SECRETS": "s3cret"},
        "did you mean ARBCAST_TELEGRAM__WEBHOOK_SECRET?",
    ),
    ({"ARBCAST_SESSION__TTL_SECONDS": "-1"}, "ARBCAST_SESSION__TTL_SECONDS: Input should be"),
    ({"ARBCAST_TELEGRAM__WEBHOOK_SECRET": "arbcast-dev-secret"}, "the published old default"),
    ({"REDIS_URL": "localhost:6379"}, "REDIS_URL: must start with redis://"),
]


@pytest.mark.parametrize(("bad", "says"), BAD_SETTINGS)
def test_run_with_bad_settings_exits_2_with_one_line(
    tmp_path: Path, bad: dict[str, str], says: str
) -> None:
    env = _env(TELEGRAM_BOT_TOKEN=TOKEN, ARBCAST_DATA_DIR=str(tmp_path), **bad)
    done = subprocess.run(
        _arbcast("run", "--webhook"), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert says in _one_line_error(done)


@pytest.mark.parametrize(
    "command",
    [["demo"], ["market", "record", "--out", "ticks.parquet", "--batches", "1", "--fast"]],
)
@pytest.mark.parametrize(("bad", "says"), BAD_SETTINGS[:2])
def test_other_commands_with_bad_settings_exit_2_with_one_line(
    tmp_path: Path, command: list[str], bad: dict[str, str], says: str
) -> None:
    env = _env(ARBCAST_DATA_DIR=str(tmp_path), **bad)
    done = subprocess.run(
        _arbcast(*command), env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 2
    assert says in _one_line_error(done)
    assert not (tmp_path / "ticks.parquet").exists()


@pytest.mark.parametrize("where", ["tcp", "unix"])
def test_run_with_an_unreachable_redis_exits_1_with_one_line(tmp_path: Path, where: str) -> None:
    """Exit 1, not 2: the settings may be right and the server merely down, so a supervisor
    may try again."""
    url = f"redis://127.0.0.1:{_port()}/0" if where == "tcp" else f"unix://{tmp_path}/none.sock"
    env = _env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        REDIS_URL=url,
        ARBCAST_DATA_DIR=str(tmp_path),
        ARBCAST_ENGINE_RUNTIME__ENABLED="false",
        ARBCAST_DISTRIBUTION__ENABLED="false",
    )
    done = subprocess.run(_arbcast("run"), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    line = _one_line_error(done)
    assert "Redis did not answer" in line
    assert "REDIS_URL" in line


# --- the webhook secret ------------------------------------------------------------------------


async def test_webhook_mode_without_a_secret_refuses_the_published_default(
    emulator_process: str, redis_url: str, redis: object, tmp_path: Path
) -> None:
    """No ARBCAST_TELEGRAM__WEBHOOK_SECRET: the bot makes up a secret and registers it, so
    Telegram's (the emulator's) updates are handled and a forged update carrying the old
    default 'arbcast-dev-secret' is refused with 401."""
    port = _port()
    env = _env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        REDIS_URL=redis_url,
        ARBCAST_DATA_DIR=str(tmp_path),
        ARBCAST_ENGINE_RUNTIME__ENABLED="false",
        ARBCAST_DISTRIBUTION__ENABLED="false",
    )
    args = _arbcast("run", "--api-base", emulator_process, "--webhook", "--port", str(port))
    bot = subprocess.Popen(args, env=env)  # noqa: ASYNC220 (Popen returns at once)
    try:
        async with aiohttp.ClientSession() as http:

            async def webhook_set() -> bool:
                try:
                    async with http.get(f"{emulator_process}/emulator/stats") as r:
                        stats = await r.json()
                except aiohttp.ClientError:
                    return False
                calls = {k.lower(): v for k, v in stats["calls"].items()}
                return calls.get("setwebhook", 0) > 0

            await eventually(webhook_set, timeout=60, what="the bot registered its webhook")
            forged = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "text": "/settier 7 enterprise",
                    "chat": {"id": 999, "type": "private"},
                    "from": {"id": 999, "is_bot": False, "first_name": "Mallory"},
                },
            }
            for headers in ({"X-Telegram-Bot-Api-Secret-Token": "arbcast-dev-secret"}, {}):
                async with http.post(
                    f"http://127.0.0.1:{port}/webhook", json=forged, headers=headers
                ) as r:
                    assert r.status == 401
            body = {"text": "/start", "first_name": "Ann", "wait": True, "timeout": 20}
            async with http.post(f"{emulator_process}/emulator/users/42/messages", json=body) as r:
                assert r.status == 200, await r.text()
            async with http.get(
                f"{emulator_process}/emulator/chats/42/messages?min_count=1&timeout=20"
            ) as r:
                messages = await r.json()
            assert "Welcome to arbcast" in messages[0]["plain_text"]
    finally:
        bot.terminate()
        assert bot.wait(timeout=30) is not None
