"""The dashboard's time range and time series in a real headless Chromium, over a real lake
rolled up by the rollup job: the charts draw the series the API computes (sends against the
limit line, 429s, backlog, latency percentiles), the range buttons change the window and the
URL, and a reload keeps it. The screenshot is saved in the test's tmp dir, and as
``dashboard-timeseries.png`` in ``ARBCAST_SCREENSHOT_DIR`` when set."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from analytics.dashboard import add_dashboard
from analytics.rollups import update_rollups
from analytics.settings import AnalyticsSettings
from analytics.sink import write_events
from analytics.storage import Storage
from analytics.timeseries import COLUMNS, compute_timeseries
from core.clock import ManualClock
from tests.analytics.delivery_events import delivery_events
from tests.analytics.helpers import T0
from tests.analytics.test_dashboard_browser import (
    CDP,
    _png_colours,
    _png_size,
    _wait_for,
    launch_chromium,
)
from tests.analytics.test_reports import generate

TOKEN = "range-browser-token"
SETTINGS = AnalyticsSettings(fsync=False)
LIMIT = 30.0  # the GlobalRateLimiter's rate: the sends chart's line
START = datetime.fromtimestamp(T0, UTC)
NOW = START + timedelta(hours=3, minutes=20)

READ_SERIES = """
(() => {
  const s = document.getElementById('status');
  const out = {state: s ? s.dataset.state : null, updates: Number((s && s.dataset.updates) || 0),
               url: location.pathname + location.search, charts: {}, limits: {},
               pressed: [...document.querySelectorAll('#range button[aria-pressed="true"]')]
                 .map((b) => b.dataset.range),
               meta: (document.getElementById('timeseries-meta') || {}).textContent || ''};
  for (const c of document.querySelectorAll('[data-chart]')) {
    const svg = c.querySelector('svg.lines');
    if (!svg) continue;
    out.charts[c.dataset.chart] = {points: Number(svg.dataset.points), series: {}};
    for (const g of svg.querySelectorAll('g[data-series]')) {
      out.charts[c.dataset.chart].series[g.dataset.series] = {
        values: JSON.parse(g.dataset.values),
        drawn: g.querySelector('polyline') ? g.querySelector('polyline')
          .getAttribute('points').trim().split(' ').length : 0,
      };
    }
    const limit = svg.querySelector('g[data-limit]');
    if (limit) out.limits[c.dataset.chart] = JSON.parse(limit.dataset.limit);
  }
  return out;
})()
"""


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, Storage]]:
    storage = Storage.local(tmp_path / "lake", fsync=False)
    events = generate(seed=5, users=30, days=8) + delivery_events(hours=3)
    for i in range(0, len(events), 2000):
        write_events(storage, events[i : i + 2000])
    update_rollups(storage, SETTINGS)  # what the job beside the sink does
    app = web.Application()
    add_dashboard(
        app,
        storage,
        admin_token=TOKEN,
        settings=SETTINGS,
        cache_seconds=0.2,
        refresh_seconds=0.5,
        clock=ManualClock(NOW.timestamp()),
        send_limit_per_second=LIMIT,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", storage
    finally:
        await runner.cleanup()


def _save(png: bytes, tmp_path: Path, also: str | None) -> None:
    for directory in (tmp_path, *((Path(also),) if also else ())):
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "dashboard-timeseries.png").write_bytes(png)


def _column(answer: dict[str, Any], name: str) -> list[Any]:
    i = COLUMNS.index(name)
    return [r[i] for r in answer["rows"]]


def _check_charts(seen: dict[str, Any], expected: dict[str, Any]) -> None:
    n = len(expected["rows"])
    charts = seen["charts"]
    assert set(charts) == {"sends", "flood", "backlog", "latency_series"}
    for name, chart in charts.items():
        assert chart["points"] == n, name
    for chart, series in (
        ("sends", ["sends_per_s", "peak_1s"]),
        ("flood", ["flood_429"]),
        ("backlog", ["backlog"]),
        ("latency_series", ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"]),
    ):
        for key in series:
            values = charts[chart]["series"][key]["values"]
            assert values == _column(expected, key), (chart, key)
            drawn = sum(v is not None for v in values)
            assert charts[chart]["series"][key]["drawn"] == (drawn if drawn > 1 else 0)
    assert seen["limits"] == {"sends": LIMIT}


async def test_the_time_series_and_the_range_control_in_headless_chromium(
    server: tuple[str, Storage], tmp_path: Path
) -> None:
    base, storage = server
    async with launch_chromium(tmp_path) as chromium:
        await _check(chromium, base, storage, tmp_path)


async def _check(chromium: CDP, base: str, storage: Storage, tmp_path: Path) -> None:
    async def dom() -> dict[str, Any]:
        value: dict[str, Any] = await chromium.eval(READ_SERIES)
        return value

    await chromium.call(
        "Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1,
        mobile=False,
    )  # fmt: skip
    until = START + timedelta(hours=3)
    window = f"since={START.isoformat()}&until={until.isoformat()}".replace("+", "%2B")
    await chromium.call("Page.navigate", url=f"{base}/admin?{window}&token={TOKEN}")
    seen = await _wait_for(
        "the time series", dom, lambda d: d.get("state") == "live" and "sends" in d["charts"]
    )
    assert seen["url"] == f"/admin?{window}"
    assert seen["pressed"] == ["custom"]
    expected = compute_timeseries(storage, SETTINGS, START, until, NOW, LIMIT)
    assert len(expected["rows"]) == 180 and expected["read"]["raw_hours"] == []
    _check_charts(seen, expected)
    assert max(_column(expected, "peak_1s")) > LIMIT
    assert "180 buckets of 1 min" in seen["meta"] and "rollup rows" in seen["meta"]

    metrics = await chromium.call("Page.getLayoutMetrics")
    shot = await chromium.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    png = base64.b64decode(shot["data"])
    _save(png, tmp_path, os.environ.get("ARBCAST_SCREENSHOT_DIR"))
    width, height = _png_size(png)
    assert width == 1280 and height >= int(metrics["cssContentSize"]["height"]) - 1
    assert _png_colours(png, rows=900) > 20

    # a preset: the URL and the pressed button change, the charts redraw for the new window
    await chromium.eval("document.querySelector('#range button[data-range=\"24h\"]').click()")
    seen = await _wait_for(
        "the last 24 hours",
        dom,
        lambda d: (
            d["url"] == "/admin?range=24h" and d["charts"].get("sends", {}).get("points") == 25
        ),
    )
    assert seen["pressed"] == ["24h"]
    since = NOW - timedelta(hours=24)
    _check_charts(seen, compute_timeseries(storage, SETTINGS, since, None, NOW, LIMIT))

    # a reload keeps the range: it lives in the URL
    await chromium.call("Page.reload")
    seen = await _wait_for(
        "the reloaded page", dom, lambda d: d.get("state") == "live" and "sends" in d["charts"]
    )
    assert seen["url"] == "/admin?range=24h" and seen["pressed"] == ["24h"]
    assert seen["charts"]["sends"]["points"] == 25
