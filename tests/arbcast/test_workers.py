"""Several `arbcast run --webhook` processes behind one port (SO_REUSEPORT), sharing one Redis:
one of them, the holder of the lease, runs the engine; SIGKILL it mid-traffic and every update
the emulator delivered is still answered exactly once, and the survivor takes the engine over."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

from core.market.simulator import DEFAULT_EXCHANGES
from core.store import keys
from tests.arbcast.test_processes import (  # noqa: F401 (fixtures)
    BOUND,
    TOKEN,
    _arbcast,
    _calls,
    _env,
    _port,
    data_dir,
    emulator_url,
    http,
)
from tests.helpers import eventually

pytestmark = pytest.mark.ray
USERS = 40  # per wave; two waves, the kill between them


def _workers_env(directory: Path, redis_url: str) -> dict[str, str]:
    env = _env(
        directory,
        REDIS_URL=redis_url,
        ARBCAST_LEADERSHIP__ENABLED="true",
        ARBCAST_TELEGRAM__WEBHOOK_SECRET="shared-by-both-processes",
        # A dead process's claims lapse soon, but not before the test has read them.
        ARBCAST_TELEGRAM__UPDATE_CLAIM_SECONDS="15",
        ARBCAST_DISTRIBUTION__ENABLED="false",
        ARBCAST_RAY__NAMESPACE="arbcast-workers-test",
        ARBCAST_RAY__NUM_CPUS="1",
        # Three exchanges and frequent spreads: an engine that publishes soon after it starts.
        ARBCAST_MARKET__EXCHANGES=json.dumps([x.model_dump() for x in DEFAULT_EXCHANGES[:3]]),
        ARBCAST_MARKET__SPREAD_OPEN_PROBABILITY="0.05",
    )
    env["ARBCAST_ENGINE_RUNTIME__ENABLED"] = "true"
    return env


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)


async def _holder_pid(redis: Any) -> int | None:
    value = await redis.get(keys.lease(keys.SINGLETONS_LEASE))
    if value is None:
        return None
    return int(str(value).split(":")[1])


async def _send(session: aiohttp.ClientSession, url: str, user: int) -> int:
    """One /start, answered once the bot acknowledged the update (the emulator redelivers it
    until one does); returns its update id."""
    body = {"text": "/start", "first_name": f"U{user}", "wait": True, "timeout": 3 * BOUND}
    async with session.post(f"{url}/emulator/users/{user}/messages", json=body) as r:
        assert r.status == 200, await r.text()
        answer = await r.json()
        assert answer["delivered"], answer
        return int(answer["update_id"])


async def _in_flight(redis: Any) -> set[int]:
    """Update ids some process had claimed and not finished (keys.update_claim)."""
    found = set()
    async for key in redis.scan_iter(match=keys.update_claim(0, 0).rsplit(":", 2)[0] + ":*"):
        if await redis.get(key) == "pending":
            found.add(int(key.rsplit(":", 1)[1]))
    return found


async def _replies(session: aiohttp.ClientSession, url: str, chat: int) -> int:
    async with session.get(f"{url}/emulator/chats/{chat}/messages") as r:
        return len(await r.json())  # the bot's messages in the chat


async def test_a_sigkilled_leader_loses_nothing_repeats_nothing_and_is_replaced(
    data_dir: Path,  # noqa: F811
    emulator_url: str,  # noqa: F811
    http: aiohttp.ClientSession,  # noqa: F811
    redis: Any,
    redis_url: str,
    procs: list[subprocess.Popen[bytes]],
) -> None:
    """Two `arbcast run --webhook` processes on one port and one Redis, each its own local Ray:
    the first takes the lease and runs the engine; SIGKILL the lease holder mid-traffic and
    every update is answered (a chat gets more than one handling's messages only if its
    update was in the killed process's hands), the survivor takes the lease within seconds,
    its engine publishes, and on SIGTERM it exits 0 and releases the lease."""
    env = _workers_env(data_dir, redis_url)
    await _fast_redelivery(http, emulator_url)
    port = _port()

    async def start() -> subprocess.Popen[bytes]:
        before = await _calls(http, emulator_url, "setwebhook")
        args = _arbcast("run", "--webhook", "--port", str(port), "--api-base", emulator_url)
        proc = subprocess.Popen(args, env=env)  # noqa: ASYNC220
        procs.append(proc)

        async def ready() -> bool:
            assert proc.poll() is None, f"arbcast run exited with {proc.returncode}"
            return await _calls(http, emulator_url, "setwebhook") > before

        await eventually(ready, timeout=BOUND, what="arbcast run set its webhook")
        return proc

    first = await start()
    await eventually(
        lambda: _holder_pid_is(redis, first.pid),
        timeout=BOUND,
        what="the first process takes the lease",
    )
    second = await start()

    await eventually(
        lambda: _published_beyond(redis, 0),
        timeout=3 * BOUND,
        what="the leader's engine publishes",
    )

    # The oracle: how many messages one /start gets, from a user before the traffic.
    await _send(http, emulator_url, 1)
    per_start = await _replies(http, emulator_url, 1)
    assert per_start >= 1
    # The holder of the lease (the first, unless a stall of its start cost it the lease).
    leader_pid = await _holder_pid(redis)
    leader, survivor = (first, second) if leader_pid == first.pid else (second, first)
    assert leader.pid == leader_pid

    killed_at_published = await _kill_mid_traffic(
        http, emulator_url, redis, per_start, lambda: _sigkill(leader.pid)
    )

    # The survivor took the lease over and its engine publishes.
    await eventually(
        lambda: _holder_pid_is(redis, survivor.pid),
        timeout=BOUND,
        what="the survivor takes the lease",
    )
    await eventually(
        lambda: _published_beyond(redis, killed_at_published),
        timeout=3 * BOUND,
        what="the survivor's engine publishes",
    )
    assert survivor.poll() is None
    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(timeout=BOUND) == 0
    assert await _holder_pid(redis) is None  # released on a full stop


async def _holder_pid_is(redis: Any, pid: int) -> bool:
    return await _holder_pid(redis) == pid


def _sigkill(pid: int) -> None:
    process = psutil.Process(pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=BOUND)


async def _kill_mid_traffic(
    http: aiohttp.ClientSession,  # noqa: F811
    emulator_url: str,  # noqa: F811
    redis: Any,
    per_start: int,
    kill: Callable[[], None],
) -> int:
    """Two waves of /start from new users, `kill` between them; checks nothing is lost and
    nothing finished twice; returns the opportunity changes published at the kill."""
    wave1 = [asyncio.create_task(_send(http, emulator_url, u)) for u in range(100, 100 + USERS)]
    await eventually(
        lambda: sum(t.done() for t in wave1) >= USERS // 4,
        timeout=BOUND,
        what="a quarter of the first wave answered",
    )
    kill()  # mid-traffic: part of the wave is in the leader's hands
    cut_short = await _in_flight(redis)  # the leader's unfinished updates among them
    killed_at_published = int(await redis.xlen(keys.OPPORTUNITY_CHANGES))
    wave2 = [asyncio.create_task(_send(http, emulator_url, u)) for u in range(200, 200 + USERS)]
    update_ids = await asyncio.gather(*wave1, *wave2)

    # Nothing lost: every chat got at least what one /start gets. Nothing finished twice: a
    # chat has more only if its update was cut short by the SIGKILL (claimed, unfinished),
    # and then what the killed handler had sent is less than a whole handling.
    users = [*range(100, 100 + USERS), *range(200, 200 + USERS)]
    counts = {u: await _replies(http, emulator_url, u) for u in users}
    assert min(counts.values()) >= per_start, counts
    repeated = {u: c for u, c in counts.items() if c > per_start}
    assert all(c < 2 * per_start for c in repeated.values()), repeated
    updates = dict(zip(users, update_ids, strict=True))
    assert {updates[u] for u in repeated} <= cut_short, (repeated, cut_short)
    print(
        f"workers kill test: {len(users)} updates, {len(cut_short)} in flight at the kill, "
        f"{len(repeated)} re-run after it"
    )
    return killed_at_published


async def test_under_the_supervisor_a_sigkilled_leader_is_replaced_and_the_actors_live_on(
    data_dir: Path,  # noqa: F811
    emulator_url: str,  # noqa: F811
    http: aiohttp.ClientSession,  # noqa: F811
    redis: Any,
    redis_url: str,
    procs: list[subprocess.Popen[bytes]],
) -> None:
    """`arbcast run --webhook --workers 2`: the workers share the supervisor's Ray, whose engine
    actors are detached; SIGKILL of the worker holding the lease loses and repeats nothing as
    above, another worker takes the lease (the supervisor also starts a new one), the engine
    publishes on, and SIGTERM to the supervisor stops everything with status 0."""
    env = _workers_env(data_dir, redis_url)
    del env["ARBCAST_LEADERSHIP__ENABLED"]  # the supervisor sets what its workers need
    await _fast_redelivery(http, emulator_url)
    port = _port()
    args = ["run", "--webhook", "--workers", "2", "--port", str(port), "--api-base", emulator_url]
    supervisor = subprocess.Popen(_arbcast(*args), env=env)  # noqa: ASYNC220
    procs.append(supervisor)

    def workers() -> set[int]:
        children = psutil.Process(supervisor.pid).children()
        return {c.pid for c in children if "arbcast.cli" in c.cmdline()}

    async def both_set() -> bool:
        assert supervisor.poll() is None, f"the supervisor exited with {supervisor.returncode}"
        return await _calls(http, emulator_url, "setwebhook") >= 2

    await eventually(both_set, timeout=BOUND, what="both workers set the webhook")
    await eventually(
        lambda: _published_beyond(redis, 0), timeout=3 * BOUND, what="the engine publishes"
    )
    await _send(http, emulator_url, 1)
    per_start = await _replies(http, emulator_url, 1)
    leader_pid = await _holder_pid(redis)
    assert leader_pid in workers()

    killed_at_published = await _kill_mid_traffic(
        http, emulator_url, redis, per_start, lambda: _sigkill(leader_pid)
    )

    async def another_leads() -> bool:
        holder = await _holder_pid(redis)
        return holder is not None and holder != leader_pid and holder in workers()

    await eventually(another_leads, timeout=BOUND, what="another worker takes the lease")
    await eventually(
        lambda: _published_beyond(redis, killed_at_published),
        timeout=3 * BOUND,
        what="the engine publishes after the kill",
    )
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=2 * BOUND) == 0
    assert await _holder_pid(redis) is None  # released on a full stop


async def _published_beyond(redis: Any, n: int) -> bool:
    return int(await redis.xlen(keys.OPPORTUNITY_CHANGES)) > n


async def _fast_redelivery(http: aiohttp.ClientSession, emulator_url: str) -> None:  # noqa: F811
    """Once the emulator listens: redeliver after 0.2 s, doubling up to 1 s (not 1 s to 60 s)."""

    async def emulator_up() -> bool:
        try:
            async with http.get(f"{emulator_url}/emulator/config") as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False

    await eventually(emulator_up, timeout=BOUND, what="the emulator listens")
    body = {"webhook_retry_base": 0.2, "webhook_retry_cap": 1}
    async with http.post(f"{emulator_url}/emulator/config", json=body) as r:
        assert r.status == 200, await r.text()
