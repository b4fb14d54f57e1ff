"""The admin dashboard over HTTP: the token, the JSON against `run_report`, the cache, the page."""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from analytics.dashboard import (
    COOKIE_NAME,
    DASHBOARD,
    REPORT_NAMES,
    add_dashboard,
    format_cell,
)
from analytics.duck import connect
from analytics.reports import run_report
from analytics.sink import write_events
from analytics.storage import Storage
from core.events import Event
from tests.analytics.helpers import T0
from tests.analytics.test_groups_report import generate as group_events
from tests.analytics.test_reports import SINCE, UNTIL, generate
from tests.analytics.test_revenue_report import generate as payments

TOKEN = "s3cret-admin-token"
# Payments come from their own generator (plans bought, renewed, refunded), so that every
# report, revenue included, has rows to show.
EVENTS = (
    generate(seed=23, users=40, days=9) + payments(seed=23, users=40) + group_events(seed=23, n=300)
)


def _lake(root: Path, events: list[Event]) -> Storage:
    storage = Storage.local(root, fsync=False)
    for i in range(0, len(events), 1500):
        write_events(storage, events[i : i + 1500])
    return storage


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Storage:
    return _lake(tmp_path_factory.mktemp("dash-lake"), EVENTS)


ClientFactory = Callable[..., Any]


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    clients: list[TestClient[web.Request, web.Application]] = []

    async def make(storage: Storage, **kw: Any) -> TestClient[web.Request, web.Application]:
        app = web.Application()
        kw.setdefault("admin_token", TOKEN)
        add_dashboard(app, storage, **kw)
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for c in clients:
        await c.close()


def _bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _expected(
    storage: Storage, since: datetime | None = None, until: datetime | None = None
) -> Any:
    """run_report over the same lake, with dates as ISO strings (as JSON carries them)."""

    def cell(v: Any) -> Any:
        return v.isoformat() if isinstance(v, date) else v

    con = connect(storage)
    try:
        out = {}
        for name in REPORT_NAMES:
            r = run_report(con, name, since, until)
            out[name] = {"columns": r.columns, "rows": [[cell(v) for v in row] for row in r.rows]}
        return out
    finally:
        con.close()


# --- the token -------------------------------------------------------------------------------

PATHS = ["/admin", "/admin/api/reports", "/admin/static/dashboard.js"]


@pytest.mark.parametrize("path", PATHS)
async def test_without_a_token_every_path_is_401(
    make_client: ClientFactory, lake: Storage, path: str
) -> None:
    client = await make_client(lake)
    r = await client.get(path)
    assert r.status == 401
    text = await r.text()
    assert "admin token required" in text
    assert "Authorization: Bearer" in text
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.app[DASHBOARD].cache.computations == 0  # nothing computed for strangers


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "how",
    [
        {"headers": {"Authorization": "Bearer not-the-token"}},
        {"headers": {"Authorization": f"Bearer {TOKEN}x"}},
        {"params": {"token": "nope"}},
        {"params": {"token": ""}},
        {"cookies": {COOKIE_NAME: TOKEN}},  # the raw token is not what the cookie holds
    ],
)
async def test_a_wrong_token_is_401(
    make_client: ClientFactory, lake: Storage, path: str, how: dict[str, Any]
) -> None:
    client = await make_client(lake)
    client.session.cookie_jar.update_cookies(how.get("cookies", {}))
    r = await client.get(path, headers=how.get("headers"), params=how.get("params"))
    assert r.status == 401
    assert "wrong admin token" in (text := await r.text()) or "stale" in text
    assert "Set-Cookie" not in r.headers


async def test_a_malformed_authorization_header_is_401(
    make_client: ClientFactory, lake: Storage
) -> None:
    client = await make_client(lake)
    for value in (f"Basic {TOKEN}", "Bearer", "Bearer   ", TOKEN):
        r = await client.get("/admin/api/reports", headers={"Authorization": value})
        assert r.status == 401, value
        assert "Bearer <token>" in await r.text()
    # another scheme (say a proxy's Basic auth) does not hide the cookie or the query token
    r = await client.get(
        "/admin/api/reports", headers={"Authorization": "Basic eDp5"}, params={"token": TOKEN}
    )
    assert r.status == 200
    r = await client.get("/admin/api/reports", headers={"Authorization": "Basic eDp5"})
    assert r.status == 200  # with the cookie the previous answer set


async def test_the_bearer_token_opens_the_api_and_the_page(
    make_client: ClientFactory, lake: Storage
) -> None:
    client = await make_client(lake)
    r = await client.get("/admin/api/reports", headers=_bearer())
    assert r.status == 200
    assert r.content_type == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in r.headers  # API clients with a header get no cookie
    r = await client.get("/admin", headers=_bearer())
    assert r.status == 200
    assert r.content_type == "text/html"
    r = await client.get("/admin/static/dashboard.js", headers=_bearer())
    assert r.status == 200
    assert "fetch(" in await r.text()
    r = await client.get("/admin/static/nope.js", headers=_bearer())
    assert r.status == 404


async def test_the_query_token_sets_an_httponly_cookie_and_leaves_the_url(
    make_client: ClientFactory, lake: Storage
) -> None:
    client = await make_client(lake)
    r = await client.get(
        "/admin", params={"token": TOKEN, "since": "2026-01-02"}, allow_redirects=False
    )
    assert r.status == 303
    assert r.headers["Location"] == "/admin?since=2026-01-02"  # the token is gone
    cookie = r.cookies[COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/admin"
    assert TOKEN not in cookie.value
    # the browser follows the redirect and then fetches the API with the cookie alone
    r = await client.get("/admin")
    assert r.status == 200
    r = await client.get("/admin/api/reports")
    assert r.status == 200
    # the token in the API's query string works too, and also sets the cookie
    client.session.cookie_jar.clear()
    r = await client.get("/admin/api/reports", params={"token": TOKEN})
    assert r.status == 200
    assert r.cookies[COOKIE_NAME]["httponly"]


async def test_a_cookie_of_an_old_token_is_refused(
    make_client: ClientFactory, lake: Storage
) -> None:
    old = await make_client(lake, admin_token="old-token")
    r = await old.get("/admin/api/reports", params={"token": "old-token"})
    value = r.cookies[COOKIE_NAME].value
    client = await make_client(lake)
    client.session.cookie_jar.update_cookies({COOKIE_NAME: value})
    r = await client.get("/admin/api/reports")
    assert r.status == 401
    assert "stale" in await r.text()


async def test_an_empty_token_disables_the_dashboard(
    make_client: ClientFactory, lake: Storage
) -> None:
    client = await make_client(lake, admin_token="")
    for path in PATHS:
        assert (await client.get(path, headers=_bearer(""))).status == 404
        assert (await client.get(path, params={"token": ""})).status == 404
    assert DASHBOARD not in client.app


async def test_another_path(make_client: ClientFactory, lake: Storage) -> None:
    client = await make_client(lake, path="/ops/stats/")
    assert (await client.get("/admin", headers=_bearer())).status == 404
    r = await client.get("/ops/stats", headers=_bearer())
    assert r.status == 200
    page = await r.text()
    assert 'data-api="/ops/stats/api/reports"' in page
    assert 'src="/ops/stats/static/dashboard.js"' in page
    r = await client.get("/ops/stats", params={"token": TOKEN}, allow_redirects=False)
    assert r.cookies[COOKIE_NAME]["path"] == "/ops/stats"


# --- the figures -----------------------------------------------------------------------------


async def test_the_json_equals_run_report_over_the_same_parquet(
    make_client: ClientFactory, lake: Storage
) -> None:
    client = await make_client(lake)
    body = await (await client.get("/admin/api/reports", headers=_bearer())).json()
    assert body["errors"] == {}
    assert body["window"] == {"since": None, "until": None}
    assert body["reports"] == _expected(lake)
    assert set(body["reports"]) == set(REPORT_NAMES)
    # not vacuous: the generated data fill every report
    for name in REPORT_NAMES:
        assert body["reports"][name]["rows"], name
    assert isinstance(body["took_ms"], float)
    datetime.fromisoformat(body["generated_at"])


async def test_the_json_over_a_window_equals_run_report(
    make_client: ClientFactory, lake: Storage
) -> None:
    client = await make_client(lake)
    r = await client.get(
        "/admin/api/reports",
        headers=_bearer(),
        params={"since": SINCE.isoformat(), "until": UNTIL.isoformat()},
    )
    body = await r.json()
    assert body["reports"] == _expected(lake, SINCE, UNTIL)
    assert body["reports"] != _expected(lake)
    # naive times are UTC
    naive = SINCE.replace(tzinfo=None).isoformat()
    r = await client.get("/admin/api/reports", headers=_bearer(), params={"since": naive})
    assert (await r.json())["reports"] == _expected(lake, SINCE)


async def test_a_bad_window_is_400(make_client: ClientFactory, lake: Storage) -> None:
    client = await make_client(lake)
    r = await client.get("/admin/api/reports", headers=_bearer(), params={"since": "yesterday"})
    assert r.status == 400
    assert "since" in await r.text()


async def test_a_failing_lake_is_503_and_the_page_still_loads(
    make_client: ClientFactory, lake: Storage
) -> None:
    client = await make_client(lake)
    cache = client.app[DASHBOARD].cache

    def broken(since: datetime | None, until: datetime | None) -> dict[str, Any]:
        raise OSError("bucket <unreachable>")

    cache.compute = broken
    r = await client.get("/admin/api/reports", headers=_bearer())
    assert r.status == 503
    assert "bucket <unreachable>" in (await r.json())["error"]
    r = await client.get("/admin", headers=_bearer())
    assert r.status == 200
    page = await r.text()
    assert 'data-state="error"' in page
    assert "bucket &lt;unreachable&gt;" in page


async def test_an_empty_lake_gives_empty_reports(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    storage = Storage.local(tmp_path / "empty", fsync=False)
    client = await make_client(storage)
    body = await (await client.get("/admin/api/reports", headers=_bearer())).json()
    assert body["errors"] == {}
    assert body["reports"] == _expected(storage)
    for name in ("sessions", "engagement", "validation", "experiments"):
        assert body["reports"][name]["rows"] == []
    page = await (await client.get("/admin", headers=_bearer())).text()
    assert 'data-empty="sessions"' in page
    assert page.count("No data in this window yet.") >= 4


# --- the cache -------------------------------------------------------------------------------


async def test_the_cache_serves_many_viewers_from_one_computation(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    storage = _lake(tmp_path / "lake", EVENTS[:2000])
    client = await make_client(storage, cache_seconds=2.0)
    cache = client.app[DASHBOARD].cache
    now = [1000.0]
    cache.clock = lambda: now[0]

    async def sent() -> float:
        body = await (await client.get("/admin/api/reports", headers=_bearer())).json()
        dist = body["reports"]["distribution"]["rows"]
        return float(next(v for m, k, v in dist if m == "count" and k == "sent"))

    first = await asyncio.gather(*(sent() for _ in range(12)))  # all at once
    assert cache.computations == 1
    assert len(set(first)) == 1
    # new events land; within the cache's life the viewers still see the cached figures
    extra = [
        Event(
            name="distribution.sent",
            ts=T0 + 60 + i,
            user_id=1,
            attrs={"opportunity_id": f"x{i}", "latency_ms": 5.0},
        )
        for i in range(7)
    ]
    write_events(storage, extra)
    now[0] += 1.9
    assert await sent() == first[0]
    assert (await client.get("/admin", headers=_bearer())).status == 200
    assert cache.computations == 1
    # once it is 2 s old it is computed again, and shows the new events
    now[0] += 0.2
    assert await sent() == first[0] + 7
    assert cache.computations == 2
    # another window is its own entry
    r = await client.get("/admin/api/reports", headers=_bearer(), params={"since": "2026-01-03"})
    assert r.status == 200
    assert cache.computations == 3


async def test_the_reports_run_in_a_worker_thread(
    make_client: ClientFactory, lake: Storage
) -> None:
    client = await make_client(lake)
    cache = client.app[DASHBOARD].cache
    inner = cache.compute
    loop_thread = threading.get_ident()
    seen: list[bool] = []
    ticks = 0

    def slow(since: datetime | None, until: datetime | None) -> dict[str, Any]:
        seen.append(threading.get_ident() == loop_thread)
        time.sleep(0.3)
        result: dict[str, Any] = inner(since, until)
        return result

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    cache.compute = slow
    t = asyncio.create_task(ticker())
    try:
        r = await client.get("/admin/api/reports", headers=_bearer())
        assert r.status == 200
    finally:
        t.cancel()
    assert seen == [False]  # not on the event loop's thread
    assert ticks >= 5  # and the loop kept running meanwhile


# --- the page --------------------------------------------------------------------------------


async def test_the_page_has_every_report_section_with_its_figures(
    make_client: ClientFactory, lake: Storage
) -> None:
    client = await make_client(lake, refresh_seconds=3)
    page = await (await client.get("/admin", headers=_bearer())).text()
    expected = _expected(lake)
    for name in REPORT_NAMES:
        assert f'<section class="report" id="report-{name}"' in page
        assert f'<table data-report="{name}">' in page
    for chart in ("dau", "onboarding", "validation", "distribution", "latency"):
        assert f'data-chart="{chart}"' in page
    for kpi in ("dau", "sent", "latency_p95", "validation_pass_pct"):
        assert f'data-kpi="{kpi}"' in page
    assert 'data-api="/admin/api/reports"' in page
    assert 'data-refresh="3"' in page
    assert '<script src="/admin/static/dashboard.js" defer>' in page
    assert "<script>" not in page  # no inline script (the CSP forbids it)
    # each table's cells, in order, are the report's values as formatted for people
    for name in REPORT_NAMES:
        table = re.search(rf'<table data-report="{name}">(.*?)</table>', page, re.S)
        assert table is not None
        heads = re.findall(r"<th scope=\"col\">(.*?)</th>", table.group(1))
        assert heads == expected[name]["columns"]
        rows = re.findall(r"<tr>(.*?)</tr>", table.group(1).split("<tbody>", 1)[1])
        assert len(rows) == len(expected[name]["rows"])
        for row_html, row in zip(rows, expected[name]["rows"], strict=True):
            shown = re.findall(r"<td[^>]*>(.*?)</td>", row_html)
            assert shown == [html.escape(format_cell(v)) for v in row]


async def test_every_value_is_escaped(make_client: ClientFactory, tmp_path: Path) -> None:
    evil = "<img src=x onerror=alert(1)>&\"'"
    events = [
        Event(
            name="distribution.failed",
            ts=T0 + 10,
            user_id=1,
            attrs={"opportunity_id": "o1", "reason": evil},
        ),
        Event(
            name="experiment.assigned",
            ts=T0 + 20,
            user_id=1,
            attrs={"experiment": "<script>alert('x')</script>", "variant": evil},
        ),
    ]
    client = await make_client(_lake(tmp_path / "lake", events))
    page = await (await client.get("/admin", headers=_bearer())).text()
    assert "<img" not in page
    assert "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#x27;" in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    body = await (await client.get("/admin/api/reports", headers=_bearer())).json()
    reasons = [r[1] for r in body["reports"]["distribution"]["rows"] if r[0] == "failed_by_reason"]
    assert reasons == [evil]  # the JSON keeps the value as it is; the script uses textContent


def test_format_cell() -> None:
    assert format_cell(None) == "—"
    assert format_cell(True) == "yes"
    assert format_cell(12) == "12"
    assert format_cell(12.0) == "12"
    assert format_cell(12.345) == "12.35"
    assert format_cell("2026-01-01") == "2026-01-01"


def test_json_cell_has_no_nan() -> None:
    from analytics.dashboard import json_cell

    assert json_cell(float("nan")) is None
    assert json_cell(float("inf")) is None
    assert json_cell(date(2026, 1, 2)) == "2026-01-02"
    assert json_cell(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00+00:00"
    assert json.dumps(json_cell(1.5)) == "1.5"
