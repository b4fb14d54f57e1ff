"""`arbcast run` keeps the dashboard's rollups: its rollup job, beside the sink, rolls up the
hours of the lake and the ledger, and stops with the process."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.rollups import read_ledger, rollup_storage
from analytics.sink import write_events
from analytics.storage import Storage
from arbcast.runtime import Runtime
from core.settings import Settings
from core.store.embedded import EmbeddedRedis
from tests.analytics.delivery_events import delivery_events
from tests.helpers import eventually

TOKEN = "123456:" + "R" * 35


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    data = Path(tempfile.mkdtemp(prefix="arbc-rollups-", dir="/tmp"))
    server = EmbeddedRedis(data)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(data, ignore_errors=True)


async def test_the_runtime_rolls_up_the_lake_beside_the_sink(
    own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        redis_url=own_redis.url,
        telegram_bot_token=TOKEN,
        analytics={"block_seconds": 0.05, "fsync": False},
    )
    lake = Storage.from_settings(settings.analytics)
    events = delivery_events(hours=2)
    write_events(lake, events)
    sent = sum(1 for e in events if e.name == "distribution.sent" and e.attrs["kind"] != "edit")
    async with Runtime(settings, start_engine=False, start_pushes=False):

        async def rolled_up() -> bool:
            ledger = read_ledger(lake).to_pylist()
            return len(ledger) == 3 and sum(r["sends"] for r in ledger) == sent

        await eventually(rolled_up, timeout=20, what="the rollup job wrote the ledger")
    assert rollup_storage(lake).exists("dt=2026-01-01/hour=00/minute.parquet")
