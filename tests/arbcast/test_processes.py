"""`arbcast run` as a process: SIGTERM stops all it started and writes what it buffered, a
kill -9 leaves nothing that blocks the next start, and no process kills actors others share."""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
import ray
import redis

from actors.factory import create_rate_limiter, kill_created
from actors.ownership import created_here
from actors.rate_limiter import GlobalRateLimiter
from core.events import read_events
from core.settings import Settings
from core.store.client import connect
from core.store.embedded import EmbeddedRedis
from tests.helpers import eventually

TOKEN = "123456:" + "C" * 35
BOUND = 60  # seconds any one wait of these tests may take on a loaded 2-core machine


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ARBCAST_", "TELEGRAM_", "REDIS_", "RAY_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        ARBCAST_DATA_DIR=str(data_dir),  # no REDIS_URL: the embedded Redis
        ARBCAST_ENGINE_RUNTIME__ENABLED="false",
        ARBCAST_ANALYTICS__RUN_SINK="false",  # events stay in the stream, for the test to read
        **extra,
    )
    return env


def _arbcast(*args: str) -> list[str]:
    return [sys.executable, "-m", "arbcast.cli", *args]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Short: the embedded Redis's unix socket lives under it."""
    d = Path(tempfile.mkdtemp(prefix="arbc-run-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def emulator_url() -> Iterator[str]:
    port = _port()
    proc = subprocess.Popen(
        _arbcast("emulator", "--port", str(port), "--limits", "off", "--allow-insecure-webhooks")
    )
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _calls(http: aiohttp.ClientSession, emulator_url: str, method: str) -> int:
    try:
        async with http.get(f"{emulator_url}/emulator/stats") as r:
            stats = await r.json()
    except aiohttp.ClientError:
        return 0
    return int({k.lower(): v for k, v in stats["calls"].items()}.get(method, 0))


async def _start_bot(
    http: aiohttp.ClientSession, emulator_url: str, env: dict[str, str], *extra: str
) -> subprocess.Popen[bytes]:
    """`arbcast run` (polling, or `--webhook` in `extra`), once it polls or set its webhook."""
    method = "setwebhook" if "--webhook" in extra else "getupdates"
    before = await _calls(http, emulator_url, method)
    args = _arbcast("run", "--api-base", emulator_url, *extra)
    proc = subprocess.Popen(args, env=env)  # noqa: ASYNC220

    async def ready() -> bool:
        assert proc.poll() is None, f"arbcast run exited with {proc.returncode}"
        return await _calls(http, emulator_url, method) > before

    await eventually(ready, timeout=BOUND, what=f"arbcast run called {method}")
    return proc


async def _start_command(http: aiohttp.ClientSession, emulator_url: str, user: int) -> None:
    body = {"text": "/start", "first_name": "Ann", "wait": True, "timeout": BOUND}
    async with http.post(f"{emulator_url}/emulator/users/{user}/messages", json=body) as r:
        assert r.status == 200, await r.text()


def _redis_pid(data_dir: Path) -> int:
    client = redis.Redis(unix_socket_path=str(data_dir / "redis" / "redis.sock"))
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


async def _stream_events(data_dir: Path) -> list[Any]:
    with EmbeddedRedis(data_dir / "redis") as server:  # the AOF the process left behind
        client = connect(server.url)
        try:
            return await read_events(client)
        finally:
            await client.aclose()


def _listening_beyond_loopback(pid: int) -> list[int]:
    """The ports that `pid` and its descendants (Ray's servers and workers) listen on at an
    address other than loopback."""
    tree = {pid} | {p.pid for p in psutil.Process(pid).children(recursive=True)}
    return sorted(
        c.laddr.port
        for c in psutil.net_connections("inet")
        if c.status == psutil.CONN_LISTEN
        and c.pid in tree
        and not ipaddress.ip_address(c.laddr.ip.removeprefix("::ffff:")).is_loopback
    )


async def test_sigterm_with_ray_stops_the_embedded_redis_and_flushes_buffered_events(
    data_dir: Path, emulator_url: str, http: aiohttp.ClientSession
) -> None:
    """With the push pipeline on (so ray.init ran and installed its own SIGTERM handler), a
    SIGTERM still runs arbcast's shutdown: exit 0, the embedded redis-server gone, and the
    events buffered since the last flush (the interval is an hour here) written to the AOF.
    On the way, /healthz of the webhook reports Redis and Ray up, and nothing of the process
    tree listens beyond loopback (the webhook's default host, and Ray's servers and workers)."""
    env = _env(data_dir, ARBCAST_EVENTS__FLUSH_INTERVAL_SECONDS="3600")
    port = _port()
    proc = await _start_bot(http, emulator_url, env, "--webhook", "--port", str(port))
    try:
        await _start_command(http, emulator_url, 42)
        async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
            health = await r.json()
            assert r.status == 200, health
        assert health["redis"]["ok"] and health["ray"]["ok"]
        assert _listening_beyond_loopback(proc.pid) == []  # Ray (and the webhook) bind loopback
        redis_pid = _redis_pid(data_dir)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=BOUND) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert not _alive(redis_pid)
    assert not (data_dir / "redis" / "redis.sock").exists()
    events = await _stream_events(data_dir)
    assert [e.user_id for e in events if e.name == "session.started"] == [42]


async def test_after_kill_9_the_next_start_runs_on_the_same_data(
    data_dir: Path, emulator_url: str, http: aiohttp.ClientSession
) -> None:
    """kill -9 of `arbcast run`: its redis-server dies with it (PR_SET_PDEATHSIG), and the next
    `arbcast run` on the same directory starts (no "another redis-server already serves") and
    still knows the user of the first run."""
    env = _env(data_dir, ARBCAST_DISTRIBUTION__ENABLED="false")
    first = await _start_bot(http, emulator_url, env)
    try:
        await _start_command(http, emulator_url, 43)
        redis_pid = _redis_pid(data_dir)
        first.kill()
        first.wait(timeout=BOUND)
        await eventually(lambda: not _alive(redis_pid), timeout=BOUND, what="its redis died")
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)
    second = await _start_bot(http, emulator_url, env)
    try:
        await _start_command(http, emulator_url, 43)
        async with http.get(
            f"{emulator_url}/emulator/chats/43/messages?min_count=3&timeout={BOUND}"
        ) as r:
            texts = [m["plain_text"] for m in await r.json()]
        assert any("Welcome back" in t for t in texts[2:]), texts  # the session survived
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=BOUND) == 0
    finally:
        if second.poll() is None:
            second.kill()
            second.wait(timeout=10)


def test_an_orphaned_server_on_our_socket_is_replaced(tmp_path: Path) -> None:
    """A redis-server whose owner process is gone (its pid in redis.owner is dead) is shut
    down and replaced on the same data, instead of blocking the start."""
    data = Path(tempfile.mkdtemp(prefix="arbc-orphan-", dir="/tmp"))
    try:
        orphan = EmbeddedRedis(data)
        orphan.start()
        client = redis.Redis(unix_socket_path=str(orphan.socket_path))
        client.set("kept", "1")
        client.close()
        gone = subprocess.Popen(["true"])
        gone.wait()
        orphan.owner_path.write_text(str(gone.pid))  # as after a kill -9 of its arbcast
        old_pid = orphan.pid
        assert old_pid is not None
        replacement = EmbeddedRedis(data)
        replacement.start()
        try:
            assert replacement.pid != old_pid
            client = redis.Redis(unix_socket_path=str(replacement.socket_path))
            assert client.get("kept") == b"1"
            client.close()
            assert orphan._proc is not None and orphan._proc.wait(timeout=BOUND) == 0
        finally:
            replacement.stop()
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def test_only_the_process_that_created_an_actor_kills_it(
    ray_instance: None, redis_url: str
) -> None:
    """An actor found running (created by another process) is not killed by this one's
    shutdown; one this process created is."""
    settings = Settings(ray={"namespace": "arbcast-tests"})  # type: ignore[arg-type]
    theirs = (
        ray.remote(num_cpus=0)(GlobalRateLimiter)
        .options(name="global-rate-limiter", namespace="arbcast-tests", get_if_exists=True)
        .remote(settings, redis_url)
    )
    try:
        create_rate_limiter(settings, redis_url)
        assert not created_here("global-rate-limiter", "arbcast-tests")
        assert kill_created(settings) == []
        assert ray.get_actor("global-rate-limiter", namespace="arbcast-tests") is not None
    finally:
        ray.kill(theirs, no_restart=True)

    def released() -> bool:
        try:
            ray.get_actor("global-rate-limiter", namespace="arbcast-tests")
        except ValueError:
            return True
        return False

    await eventually(released, timeout=BOUND, what="the name is free again")
    create_rate_limiter(settings, redis_url)
    assert created_here("global-rate-limiter", "arbcast-tests")
    assert kill_created(settings) == ["global-rate-limiter"]
