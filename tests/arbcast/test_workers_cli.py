"""`arbcast run --webhook --workers N`: the supervisor starts N workers on one port (each has
its own listening socket, SO_REUSEPORT), they answer updates from one shared (embedded) Redis,
and SIGTERM stops them all; without --webhook it refuses in one line."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from tests.arbcast.test_processes import (  # noqa: F401 (fixtures)
    BOUND,
    _arbcast,
    _calls,
    _env,
    _port,
    data_dir,
    emulator_url,
    http,
)
from tests.arbcast.test_workers import _replies, _send
from tests.helpers import eventually


@pytest.fixture
def supervisor() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)


def test_workers_without_webhook_is_refused_in_one_line(data_dir: Path) -> None:  # noqa: F811
    """Polling cannot have two getUpdates consumers: exit 2, one line naming --webhook."""
    done = subprocess.run(
        _arbcast("run", "--workers", "2"), env=_env(data_dir), capture_output=True, timeout=BOUND
    )
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "--webhook" in lines[0], lines


def _listeners(pid: int, port: int) -> set[int]:
    """The processes of `pid`'s tree listening on `port`."""
    tree = {pid} | {p.pid for p in psutil.Process(pid).children(recursive=True)}
    return {
        c.pid
        for c in psutil.net_connections("inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid in tree
    }


async def test_two_workers_share_the_port_and_redis_and_stop_together(
    data_dir: Path,  # noqa: F811
    emulator_url: str,  # noqa: F811
    http: aiohttp.ClientSession,  # noqa: F811
    supervisor: list[subprocess.Popen[bytes]],
) -> None:
    """Both workers listen on the port; every /start gets one handling's reply; SIGTERM to the
    supervisor ends both workers and itself with status 0."""
    env = _env(data_dir, ARBCAST_DISTRIBUTION__ENABLED="false")  # no Ray: a quicker test

    async def emulator_up() -> bool:
        try:
            async with http.get(f"{emulator_url}/emulator/config") as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False

    await eventually(emulator_up, timeout=BOUND, what="the emulator listens")
    port = _port()
    args = ["run", "--webhook", "--workers", "2", "--port", str(port), "--api-base", emulator_url]
    proc = subprocess.Popen(_arbcast(*args), env=env)  # noqa: ASYNC220
    supervisor.append(proc)

    async def both_set() -> bool:
        assert proc.poll() is None, f"the supervisor exited with {proc.returncode}"
        return await _calls(http, emulator_url, "setwebhook") >= 2

    await eventually(both_set, timeout=BOUND, what="both workers set the webhook")
    workers = {c.pid for c in psutil.Process(proc.pid).children() if "arbcast.cli" in c.cmdline()}
    assert len(workers) == 2
    await eventually(
        lambda: _listeners(proc.pid, port) == workers, timeout=BOUND, what="both listen"
    )

    await _send(http, emulator_url, 1)
    per_start = await _replies(http, emulator_url, 1)
    users = list(range(10, 40))
    await asyncio.gather(*(_send(http, emulator_url, u) for u in users))
    assert {u: await _replies(http, emulator_url, u) for u in users} == dict.fromkeys(
        users, per_start
    )

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=BOUND) == 0
    assert not any(psutil.pid_exists(w) and psutil.Process(w).status() != "zombie" for w in workers)
