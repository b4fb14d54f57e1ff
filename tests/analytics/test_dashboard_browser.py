"""The dashboard in a real headless Chromium: it renders the live figures, which equal the
reports, and follows new data; a screenshot is saved in the test's tmp dir.

Chromium is driven over the DevTools protocol (a websocket, with aiohttp's client), so the
test can wait for the page's script to have fetched and drawn the figures. Debian's
``chromium`` must be installed (``make test`` does it); without it the test fails.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import signal
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from analytics.dashboard import REPORT_NAMES, add_dashboard, format_cell
from analytics.duck import connect
from analytics.reports import run_report
from analytics.sink import write_events
from analytics.storage import Storage
from core.events import Event
from tests.analytics.helpers import T0
from tests.analytics.test_reports import generate

CHROMIUM = os.environ.get("ARBCAST_CHROMIUM", "/usr/bin/chromium")
TOKEN = "browser-test-token"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,900",
]


class CDP:
    """A minimal DevTools protocol client for one page target."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            fut = self._pending.pop(data.get("id", -1), None)
            if fut is not None and not fut.done():
                fut.set_result(data)
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("DevTools connection closed"))

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        i = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[i] = fut
        await self._ws.send_json({"id": i, "method": method, "params": params})
        data = await asyncio.wait_for(fut, 30)
        if "error" in data:
            raise RuntimeError(f"{method}: {data['error']}")
        result: dict[str, Any] = data.get("result", {})
        return result

    async def eval(self, expression: str) -> Any:
        r = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._ws.close()


@contextlib.asynccontextmanager
async def launch_chromium(tmp_path: Path) -> AsyncIterator[CDP]:
    """Headless Chromium with one blank page, driven over DevTools; ended on exit.

    Called inside each test (not as a fixture) so that a missing browser FAILS the test."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the dashboard's browser test needs Debian's chromium. "
            "Run scripts/install-debian.sh /usr/bin/chromium chromium (as root) to install it.",
            pytrace=False,
        )
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    log = (tmp_path / "chromium.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={profile}",
        "about:blank",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,  # its own process group: ended as a whole below
    )
    session = aiohttp.ClientSession()
    cdp: CDP | None = None
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().count("\n") >= 1:
                break
            if proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"chromium did not open DevTools; see {tmp_path / 'chromium.log'}")
        if proc.returncode is not None:
            pytest.fail(f"chromium exited with {proc.returncode}; see {tmp_path / 'chromium.log'}")
        port = int(port_file.read_text().split()[0])
        targets: list[dict[str, Any]] = []
        for _ in range(100):
            async with session.get(f"http://127.0.0.1:{port}/json/list") as r:
                targets = [t for t in await r.json() if t.get("type") == "page"]
            if targets:
                break
            await asyncio.sleep(0.05)
        assert targets, "chromium has no page target"
        ws = await session.ws_connect(targets[0]["webSocketDebuggerUrl"], max_msg_size=0)
        cdp = CDP(ws)
        await cdp.call("Page.enable")
        await cdp.call("Runtime.enable")
        yield cdp
    finally:
        if cdp is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(cdp.call("Browser.close"), 5)
            await cdp.close()
        await session.close()
        if proc.returncode is None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(proc.wait(), 5)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        log.close()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, Storage]]:
    storage = Storage.local(tmp_path / "lake", fsync=False)
    events = generate(seed=5, users=30, days=8)
    for i in range(0, len(events), 1000):
        write_events(storage, events[i : i + 1000])
    app = web.Application()
    add_dashboard(app, storage, admin_token=TOKEN, cache_seconds=0.2, refresh_seconds=0.5)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", storage
    finally:
        await runner.cleanup()


# What the page shows, read from the DOM.
READ_DOM = """
(() => {
  const s = document.getElementById('status');
  if (!s) return {state: null, updates: 0, url: location.href};  // still loading
  const kpis = {};
  for (const e of document.querySelectorAll('[data-kpi]')) {
    kpis[e.dataset.kpi] = {text: e.textContent, value: JSON.parse(e.dataset.value ?? 'null')};
  }
  const tables = {};
  for (const t of document.querySelectorAll('table[data-report]')) {
    tables[t.dataset.report] = {
      columns: [...t.tHead.querySelectorAll('th')].map((th) => th.textContent),
      text: [...t.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent)),
      values: [...t.tBodies[0].rows].map(
        (r) => [...r.cells].map((c) => JSON.parse(c.dataset.value))),
    };
  }
  const charts = {};
  for (const c of document.querySelectorAll('[data-chart]')) {
    charts[c.dataset.chart] = [...c.querySelectorAll('g[data-label]')].map((g) => ({
      label: g.dataset.label,
      value: JSON.parse(g.dataset.value),
      width: parseFloat((g.querySelector('rect') || {getAttribute: () => '0'}).getAttribute(
        g.closest('svg').classList.contains('vbars') ? 'height' : 'width')),
    }));
  }
  return {kpis, tables, charts, state: s.dataset.state, updates: Number(s.dataset.updates || 0),
          status: s.textContent, url: location.href, cookie: document.cookie};
})()
"""


def _reports(storage: Storage) -> dict[str, Any]:
    con = connect(storage)
    try:
        return {name: run_report(con, name) for name in REPORT_NAMES}
    finally:
        con.close()


def _expected_kpis(storage: Storage) -> dict[str, Any]:
    """The headline figures, computed here from run_report as the page defines them."""
    r = _reports(storage)
    sessions = r["sessions"].as_dicts()
    dist = {(d["metric"], d["key"]): d["value"] for d in r["distribution"].as_dicts()}
    funnel = {d["stage"]: d for d in r["onboarding"].as_dicts()}
    val = r["validation"].as_dicts()
    return {
        "dau": sessions[-1]["dau"],
        "wau": sessions[-1]["wau"],
        "new_users": sum(d["new_users"] for d in sessions),
        "sessions_started": sum(d["sessions_started"] for d in sessions),
        "sent": dist[("count", "sent")],
        "latency_p50": dist[("latency_ms", "p50")],
        "latency_p95": dist[("latency_ms", "p95")],
        "latency_p99": dist[("latency_ms", "p99")],
        "onboarding_completed_pct": funnel["completed"]["pct_of_started"],
        # The share of candidates the last level passed (what was published).
        "validation_pass_pct": val[-1]["passed_pct_of_candidates"],
    }


async def _wait_for(
    what: str, probe: Callable[[], Awaitable[dict[str, Any]]], ok: Callable[[Any], bool]
) -> dict[str, Any]:
    dom: dict[str, Any] = {}
    for _ in range(150):
        dom = await probe()
        if ok(dom):
            return dom
        await asyncio.sleep(0.1)
    pytest.fail(f"the page never showed {what}; last DOM read: {json.dumps(dom)[:2000]}")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _png_colours(data: bytes, rows: int = 320) -> int:
    """How many distinct pixel values the PNG's top ``rows`` rows hold (8-bit RGB/RGBA only:
    what Chromium writes). Rows are unfiltered in order, so decoding a prefix is exact."""
    width, _ = _png_size(data)
    depth, ctype = data[24], data[25]
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    bpp = 3 if ctype == 2 else 4
    idat = b""
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(min(rows, len(raw) // (stride + 1))):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        if y % 8 == 0:
            colours.update(bytes(line[i : i + bpp]) for i in range(0, stride, bpp))
        prev = line
    return len(colours)


def _save(png: bytes, tmp_path: Path, also: str | None) -> Path:
    """Save the screenshot in the test's tmp dir (and in ``also``, e.g. for CI artefacts)."""
    path = tmp_path / "dashboard.png"
    path.write_bytes(png)
    if also:
        Path(also).mkdir(parents=True, exist_ok=True)
        (Path(also) / "dashboard.png").write_bytes(png)
    return path


async def test_the_dashboard_in_headless_chromium(
    server: tuple[str, Storage], tmp_path: Path
) -> None:
    async with launch_chromium(tmp_path) as chromium:
        await _check_dashboard(chromium, server, tmp_path)


async def _check_dashboard(chromium: CDP, server: tuple[str, Storage], tmp_path: Path) -> None:
    base, storage = server

    async def dom() -> dict[str, Any]:
        value: dict[str, Any] = await chromium.eval(READ_DOM)
        return value

    await chromium.call(
        "Emulation.setDeviceMetricsOverride",
        width=1280,
        height=900,
        deviceScaleFactor=1,
        mobile=False,
    )
    await chromium.call("Page.navigate", url=f"{base}/admin?token={TOKEN}")
    seen = await _wait_for(
        "the live figures", dom, lambda d: d.get("state") == "live" and d["updates"] >= 1
    )
    # the token left the address bar; the cookie that replaced it is HttpOnly (not in JS)
    assert seen["url"] == f"{base}/admin"
    assert "arbcast_admin" not in seen["cookie"]
    assert seen["status"].startswith("live")

    # the headline figures equal the reports
    expected = _expected_kpis(storage)
    for name, value in expected.items():
        shown = seen["kpis"][name]
        assert shown["value"] == pytest.approx(value, abs=1e-9), name
        assert shown["text"] == format_cell(value), name
        assert shown["text"] not in ("…", "—"), name

    # every table shows the report, cell by cell
    reports = _reports(storage)
    for name in REPORT_NAMES:
        table = seen["tables"][name]
        r = reports[name]
        assert table["columns"] == r.columns, name
        assert len(table["values"]) == len(r.rows), name
        for values, texts, row in zip(table["values"], table["text"], r.rows, strict=True):
            for v, text, want in zip(values, texts, row, strict=True):
                want = want.isoformat() if hasattr(want, "isoformat") else want
                if isinstance(want, float):
                    assert v == pytest.approx(want, rel=1e-12, abs=1e-12), name
                else:
                    assert v == want, name
                assert text == format_cell(want), name

    # the charts are drawn from the same figures
    sessions = reports["sessions"].as_dicts()
    assert [(c["label"], c["value"]) for c in seen["charts"]["dau"]] == [
        (s["day"].isoformat(), s["dau"]) for s in sessions
    ]
    top = max(s["dau"] for s in sessions)
    tallest = max(seen["charts"]["dau"], key=lambda c: c["width"])
    assert tallest["value"] == top
    validation = {
        f"level {v['level']}": v["pass_rate_pct"] for v in reports["validation"].as_dicts()
    }
    assert {c["label"]: c["value"] for c in seen["charts"]["validation"]} == validation
    funnel = {d["stage"]: d["users"] for d in reports["onboarding"].as_dicts()}
    assert {c["label"]: c["value"] for c in seen["charts"]["onboarding"]} == funnel
    latency = [c["label"] for c in seen["charts"]["latency"]]
    assert latency == ["p50", "p95", "p99"]

    # the screenshot: the whole page, a real picture
    metrics = await chromium.call("Page.getLayoutMetrics")
    height = int(metrics["cssContentSize"]["height"])
    shot = await chromium.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    png = base64.b64decode(shot["data"])
    path = _save(png, tmp_path, os.environ.get("ARBCAST_SCREENSHOT_DIR"))
    width, h = _png_size(png)
    assert width == 1280
    assert h >= min(height, 900) and h > 900  # the page is longer than one screen
    assert len(png) > 50_000
    assert _png_colours(png) > 20  # text, bars and cards, not a blank page
    print(f"screenshot: {path} ({width}x{h}, {len(png)} bytes)")

    # live: new events land in the lake, and the page shows them without a reload
    before = seen["kpis"]["sent"]["value"]
    write_events(
        storage,
        [
            Event(
                name="distribution.sent",
                ts=T0 + 3 * 86_400 + i,
                user_id=7,
                attrs={"opportunity_id": f"live{i}", "type": "arbitrage", "latency_ms": 1.0},
            )
            for i in range(9)
        ],
    )
    after = await _wait_for(
        "the new events", dom, lambda d: d["kpis"]["sent"]["value"] == before + 9
    )
    assert after["updates"] > seen["updates"]
    assert after["kpis"]["sent"]["text"] == format_cell(before + 9)
    assert after["kpis"]["latency_p50"]["value"] == pytest.approx(
        _expected_kpis(storage)["latency_p50"]
    )
    # it was not a reload: the same document kept polling
    assert await chromium.eval("performance.getEntriesByType('navigation').length") == 1


async def test_without_the_token_the_browser_gets_401(
    server: tuple[str, Storage], tmp_path: Path
) -> None:
    base, _ = server
    async with launch_chromium(tmp_path) as chromium:
        await chromium.call("Page.navigate", url=f"{base}/admin")
        text = ""
        for _ in range(100):
            text = await chromium.eval("document.body ? document.body.innerText : ''") or ""
            if "401" in text:
                break
            await asyncio.sleep(0.05)
        assert "401 Unauthorized: admin token required" in text
        assert await chromium.eval("document.querySelector('[data-kpi]')") is None
