"""The dashboard's time range and time series over HTTP: ``?range=`` and ``?since=&until=``
reach the reports and the series, the series come from the rollups (no raw rows for closed
hours), and a bad range is a 400 that says what to pass."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from analytics.dashboard import DASHBOARD, add_dashboard
from analytics.rollups import update_rollups
from analytics.settings import AnalyticsSettings
from analytics.sink import write_events
from analytics.storage import Storage
from analytics.timeseries import compute_timeseries
from core.clock import ManualClock
from tests.analytics.delivery_events import delivery_events
from tests.analytics.helpers import T0

TOKEN = "range-token"
SETTINGS = AnalyticsSettings(fsync=False)
LIMIT = 25.0  # not the default: the dashboard shows what it was given
START = datetime.fromtimestamp(T0, UTC)
NOW = START + timedelta(hours=5, minutes=7, seconds=30)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Storage:
    storage = Storage.local(tmp_path_factory.mktemp("range-lake"), fsync=False)
    write_events(storage, delivery_events(hours=3))
    update_rollups(storage, SETTINGS)
    return storage


@pytest.fixture
async def client(lake: Storage) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    add_dashboard(
        app,
        lake,
        admin_token=TOKEN,
        settings=SETTINGS,
        clock=ManualClock(NOW.timestamp()),
        send_limit_per_second=LIMIT,
    )
    c: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await c.start_server()
    yield c
    await c.close()


async def _api(client: TestClient[web.Request, web.Application], **params: str) -> Any:
    r = await client.get("/admin/api/reports", headers=AUTH, params=params)
    assert r.status == 200, await r.text()
    return await r.json()


async def test_a_preset_range_is_the_last_hours_before_now(
    client: TestClient[web.Request, web.Application], lake: Storage
) -> None:
    body = await _api(client, range="24h")
    since = NOW.replace(second=0) - timedelta(hours=24)  # on a whole minute
    assert body["window"] == {"since": since.isoformat(), "until": None}
    ts = body["timeseries"]
    assert ts["grain"] == "hour"
    expected = compute_timeseries(lake, SETTINGS, since, None, NOW, LIMIT)
    assert ts["rows"] == expected["rows"]
    assert sum(r[1] for r in ts["rows"]) > 0
    assert ts["send_limit_per_second"] == LIMIT

    body = await _api(client, range="1h")
    assert body["timeseries"]["grain"] == "minute"
    rows = body["timeseries"]["rows"]
    assert len(rows) == 61  # sixty whole minutes, and the current one so far
    assert rows[-1][0] == NOW.replace(second=0).isoformat()


async def test_a_closed_range_is_read_from_the_rollups_alone(
    client: TestClient[web.Request, web.Application], lake: Storage
) -> None:
    until = START + timedelta(hours=3)
    body = await _api(client, since=START.isoformat(), until=until.isoformat())
    ts = body["timeseries"]
    assert ts["read"]["raw_hours"] == [] and ts["read"]["raw_rows"] == 0
    assert ts["read"]["rollup_files"] == 3 and 0 < ts["read"]["rollup_rows"] < 5000
    assert len(ts["rows"]) == 180
    assert ts["rows"] == compute_timeseries(lake, SETTINGS, START, until, NOW, LIMIT)["rows"]
    assert body["errors"] == {}


async def test_a_refresh_within_the_cache_life_recomputes_nothing(
    client: TestClient[web.Request, web.Application],
) -> None:
    cache = client.app[DASHBOARD].cache
    cache.clock = lambda: 100.0
    await _api(client, range="7d")
    n = cache.computations
    await _api(client, range="7d")
    assert cache.computations == n


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"range": "3w"}, "range: one of 1h, 24h, 7d"),
        ({"range": "1h", "since": "2026-01-01"}, "either range= or since=/until="),
    ],
)
async def test_a_bad_range_is_400(
    client: TestClient[web.Request, web.Application], params: dict[str, str], says: str
) -> None:
    r = await client.get("/admin/api/reports", headers=AUTH, params=params)
    assert r.status == 400
    assert says in await r.text()


async def test_the_page_has_the_range_control_and_the_series_charts(
    client: TestClient[web.Request, web.Application],
) -> None:
    page = await (await client.get("/admin", headers=AUTH, params={"range": "7d"})).text()
    assert '<nav class="range" id="range"' in page
    assert '<button type="button" data-range="7d" aria-pressed="true">Last 7d</button>' in page
    assert '<button type="button" data-range="" aria-pressed="false">All time</button>' in page
    assert 'data-api="/admin/api/reports?range=7d"' in page
    for chart in ("sends", "flood", "backlog", "latency_series"):
        assert f'data-chart="{chart}"' in page
    custom = await client.get("/admin", headers=AUTH, params={"since": "2026-01-01T01:00:00+00:00"})
    text = await custom.text()
    assert 'id="range-since" value="2026-01-01T01:00"' in text
    assert 'data-range="custom" aria-pressed="true"' in text


async def test_without_rollups_the_series_still_show_from_raw_rows(tmp_path: Path) -> None:
    """A lake the job has not rolled up yet (a fresh start): each hour from its own rows."""
    storage = Storage.local(tmp_path / "lake", fsync=False)
    write_events(storage, delivery_events(hours=2))
    until = START + timedelta(hours=2)
    ts = compute_timeseries(storage, SETTINGS, START, until, NOW, LIMIT)
    update_rollups(storage, SETTINGS)
    rolled = compute_timeseries(storage, SETTINGS, START, until, NOW, LIMIT)
    assert len(ts["read"]["raw_hours"]) == 2 and rolled["read"]["raw_hours"] == []
    assert ts["rows"] == rolled["rows"]


async def test_with_settings_the_reports_are_computed_in_a_niced_child_process(
    lake: Storage,
) -> None:
    """`dashboard_process` (on by default): a refresh runs in a spawned child at a lower
    priority, not in the process that handles updates, and gives the same figures."""
    figures: list[Any] = []
    for process in (True, False):
        app = web.Application()
        add_dashboard(
            app,
            lake,
            admin_token=TOKEN,
            settings=AnalyticsSettings(fsync=False, dashboard_process=process, background_nice=7),
            clock=ManualClock(NOW.timestamp()),
        )
        async with TestClient(TestServer(app)) as c:
            body = await _api(c, range="24h")
        own_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        if process:
            assert body["computed_in"]["pid"] != os.getpid()
            assert body["computed_in"]["nice"] == min(19, own_nice + 7)
        else:
            assert body["computed_in"]["pid"] == os.getpid()
        figures.append((body["reports"], body["timeseries"]["rows"]))
    assert figures[0] == figures[1]
