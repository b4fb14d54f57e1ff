"""The admin dashboard: the analysts' reports as a live web page, served by the bot process.

`add_dashboard` mounts three things on an aiohttp application (``/admin`` by default):

- ``GET /admin``: an HTML page with every report as a table (rendered on the server, every
  value escaped) and charts (inline SVG drawn by ``static/dashboard.js``, no CDN), refreshed
  live: the script polls the JSON endpoint every few seconds and redraws;
- ``GET /admin/api/reports``: every report as JSON (``{"reports": {name: {"columns",
  "rows"}}, "timeseries", "generated_at", "took_ms", "window", "errors"}``), optionally over
  a window (``?since=…&until=…``, ISO dates or times, UTC when naive; or ``?range=1h|24h|7d``,
  the last hour, day or week);
- ``GET /admin/static/{dashboard.js,dashboard.css}``: the page's script and style.

The reports are computed with DuckDB over the Parquet lake, from a worker thread
(`asyncio.to_thread`), in a child process at a lower priority when the settings ask for it
(``dashboard_process``, `analytics.background`), and cached for ``cache_seconds``; concurrent
requests for the same window wait for one computation instead of each running their own. The
time series (sends against the limit, 429s, backlog, latency percentiles:
`analytics.timeseries`) read the hourly rollups that `analytics.rollups` writes beside the
lake, not the raw events.

Every route needs the admin token: ``Authorization: Bearer <token>``, or ``?token=<token>``
once (the answer sets an HttpOnly cookie derived from the token, so the page's own requests
carry it, and the page redirects to its URL without the token). A missing or wrong token is
answered 401 with a message that says how to pass it. An empty token disables the dashboard:
nothing is mounted, so its paths answer 404.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from analytics.background import ChildProcess
from analytics.dashboard_range import (
    render_range_control,
    render_timeseries_section,
    resolve_range,
    window_query,
)
from analytics.duck import connect
from analytics.reports import REPORTS, run_report
from analytics.settings import AnalyticsSettings
from analytics.storage import Storage
from analytics.timeseries import compute_timeseries
from core.clock import Clock, SystemClock

log = logging.getLogger(__name__)

COOKIE_NAME = "arbcast_admin"
STATIC_DIR = Path(__file__).with_name("static")
STATIC_FILES = {
    "dashboard.js": "application/javascript",
    "dashboard.css": "text/css",
}
REPORT_NAMES: tuple[str, ...] = tuple(REPORTS)
_MAX_CACHED_WINDOWS = 32

_TITLES = {
    "sessions": "Sessions and active users (per UTC day)",
    "onboarding": "Onboarding funnel (distinct users)",
    "distribution": "Distribution and delivery",
    "engagement": "Engagement: click-through by type, tier and priority",
    "validation": "Validation: pass rate per level",
    "retention": "Retention: weekly cohorts (share of each cohort active, by week since)",
    "push_outcomes": "Push outcomes per opportunity (distinct users)",
    "tiers": "Tiers: users, sessions, alerts, click-through and refusals per tier",
    "experiments": "Experiments: exposures, CTR (95% CI), mutes, 7-day retention per variant; "
    "difference from control, test, sample size needed, sample-ratio check",
    "groups": "Groups and channels: alerts delivered, button presses and /start from links",
}

# The headline figures the script fills in (data-kpi=…), with their labels.
KPIS: tuple[tuple[str, str], ...] = (
    ("dau", "DAU (latest day)"),
    ("wau", "WAU (latest day)"),
    ("new_users", "New users"),
    ("sessions_started", "Sessions started"),
    ("sent", "Alerts sent (new messages)"),
    ("latency_p50", "Alert latency from detection p50 (ms)"),
    ("latency_p95", "Alert latency from detection p95 (ms)"),
    ("latency_p99", "Alert latency from detection p99 (ms)"),
    ("onboarding_completed_pct", "Onboarding completed (%)"),
    ("validation_pass_pct", "Candidates published (%)"),
)

# The charts the script draws (data-chart=…), with their titles.
CHARTS: tuple[tuple[str, str], ...] = (
    ("dau", "Daily active users"),
    ("onboarding", "Onboarding funnel"),
    ("validation", "Validation pass rate per level (%)"),
    ("distribution", "Distribution outcomes"),
    ("rejected", "Users refused by eligibility layer"),
    ("latency", "Alert latency from detection (ms)"),
    ("engagement", "Click-through rate (%)"),
    ("tiers", "Alerts sent per tier"),
)


# --- values ----------------------------------------------------------------------------------


def json_cell(v: Any) -> Any:
    """A report value as JSON can carry it: dates as ISO strings, no NaN or infinity."""
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, Decimal):
        return json_cell(float(v))
    if isinstance(v, datetime | date):
        return v.isoformat()
    return str(v)


def format_cell(v: Any) -> str:
    """How a JSON value is shown; ``static/dashboard.js`` formats the same way."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.2f}"
    return str(v)


def _parse_time(raw: str | None, name: str) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        raise web.HTTPBadRequest(
            text=f"{name}: not an ISO date or time: {raw!r} (e.g. 2026-01-31 or "
            "2026-01-31T12:00:00+00:00)"
        ) from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


# --- computing the reports -------------------------------------------------------------------

Window = tuple[datetime | None, datetime | None]


def compute_reports(
    storage: Storage,
    settings: AnalyticsSettings | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    threads: int | None = None,
) -> dict[str, Any]:
    """Every report over the lake as it stands now, as a JSON-ready dict (blocking)."""
    settings = settings or AnalyticsSettings()
    started = time.perf_counter()
    reports: dict[str, Any] = {}
    errors: dict[str, str] = {}
    con = connect(storage, settings, threads=threads)
    try:
        for name in REPORT_NAMES:
            try:
                r = run_report(
                    con,
                    name,
                    since,
                    until,
                    onboarding_window=timedelta(seconds=settings.onboarding_window_seconds),
                )
            except Exception as exc:  # one broken report must not hide the others
                log.exception("dashboard: report %s failed", name)
                errors[name] = f"{type(exc).__name__}: {exc}"[:500]
                reports[name] = {"columns": [], "rows": []}
                continue
            reports[name] = {
                "columns": list(r.columns),
                "rows": [[json_cell(v) for v in row] for row in r.rows],
            }
    finally:
        con.close()
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
        "window": {
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        },
        "reports": reports,
        "errors": errors,
    }


def compute_payload(
    storage: Storage,
    settings: AnalyticsSettings,
    since: datetime | None,
    until: datetime | None,
    threads: int | None,
    now: datetime,
    send_limit_per_second: float,
) -> dict[str, Any]:
    """What one refresh shows: every report, and the time series (read from the rollups);
    ``computed_in`` says which process and at which niceness (blocking; runs in the child)."""
    payload = compute_reports(storage, settings, since, until, threads=threads)
    try:
        payload["timeseries"] = compute_timeseries(
            storage, settings, since, until, now, send_limit_per_second
        )
    except Exception as exc:  # the reports still show
        log.exception("dashboard: the time series failed")
        payload["errors"]["timeseries"] = f"{type(exc).__name__}: {exc}"[:500]
        payload["timeseries"] = None
    tid = threading.get_native_id()
    payload["computed_in"] = {"pid": os.getpid(), "nice": os.getpriority(os.PRIO_PROCESS, tid)}
    return payload


@dataclass
class _Entry:
    payload: dict[str, Any]
    body: bytes
    at: float  # monotonic time the computation finished


@dataclass
class ReportCache:
    """Reports per window, recomputed in a worker thread at most every ``ttl`` seconds."""

    compute: Callable[[datetime | None, datetime | None], dict[str, Any]]
    ttl: float = 2.0
    clock: Callable[[], float] = time.monotonic
    computations: int = 0
    _entries: dict[Window, _Entry] = field(default_factory=dict)
    _locks: dict[Window, asyncio.Lock] = field(default_factory=dict)

    def _fresh(self, key: Window) -> _Entry | None:
        e = self._entries.get(key)
        return e if e is not None and self.clock() - e.at < self.ttl else None

    async def get(self, since: datetime | None = None, until: datetime | None = None) -> _Entry:
        key = (since, until)
        entry = self._fresh(key)
        if entry is not None:
            return entry
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one computation per window; the others wait for it
            entry = self._fresh(key)
            if entry is not None:
                return entry
            payload = await asyncio.to_thread(self.compute, since, until)
            self.computations += 1
            body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
            entry = _Entry(payload, body, self.clock())
            self._entries.pop(key, None)
            self._entries[key] = entry
            while len(self._entries) > _MAX_CACHED_WINDOWS:
                old = next(iter(self._entries))
                del self._entries[old]
                self._locks.pop(old, None)
            return entry


# --- the page --------------------------------------------------------------------------------


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _table(name: str, report: Mapping[str, Any]) -> str:
    cols: Sequence[str] = report.get("columns", [])
    rows: Sequence[Sequence[Any]] = report.get("rows", [])
    head = "".join(f'<th scope="col">{_e(c)}</th>' for c in cols)
    body = []
    for row in rows:
        cells = []
        for c, v in zip(cols, row, strict=True):
            num = ' class="num"' if isinstance(v, int | float) and not isinstance(v, bool) else ""
            cells.append(
                f'<td data-col="{_e(c)}" data-value="{_e(json.dumps(v))}"{num}>'
                f"{_e(format_cell(v))}</td>"
            )
        body.append(f"<tr>{''.join(cells)}</tr>")
    empty = (
        "" if rows else f'<p class="empty" data-empty="{_e(name)}">No data in this window yet.</p>'
    )
    return (
        f'<table data-report="{_e(name)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{empty}"
    )


def render_page(
    payload: Mapping[str, Any],
    *,
    base: str,
    api_url: str,
    refresh_seconds: float,
    query: Mapping[str, str] | None = None,
) -> str:
    """The dashboard's HTML with the tables of ``payload``; every value is escaped."""
    reports: Mapping[str, Any] = payload.get("reports", {})
    errors: Mapping[str, str] = payload.get("errors", {})
    win = payload.get("window", {})
    window_text = (
        f"{win.get('since') or 'the beginning'} → {win.get('until') or 'now'}"
        if win.get("since") or win.get("until")
        else "all time"
    )
    if payload.get("error"):
        status = (
            '<span id="status" data-state="error">could not compute the reports: '
            f"{_e(payload['error'])}</span>"
        )
    else:
        status = (
            f'<span id="status" data-state="static">computed {_e(payload.get("generated_at"))} '
            f"in {_e(payload.get('took_ms'))} ms; live updates need JavaScript</span>"
        )
    kpis = "".join(
        f'<div class="kpi"><div class="kpi-value" data-kpi="{_e(k)}">…</div>'
        f'<div class="kpi-label">{_e(label)}</div></div>'
        for k, label in KPIS
    )
    charts = "".join(
        f'<figure class="chart"><figcaption>{_e(title)}</figcaption>'
        f'<div class="chart-body" data-chart="{_e(k)}"></div></figure>'
        for k, title in CHARTS
    )
    sections = []
    for name in REPORT_NAMES:
        err = errors.get(name)
        err_html = (
            f'<p class="error" data-error="{_e(name)}">{_e(err)}</p>'
            if err
            else f'<p class="error" data-error="{_e(name)}" hidden></p>'
        )
        sections.append(
            f'<section class="report" id="report-{_e(name)}" data-section="{_e(name)}">'
            f"<h2>{_e(_TITLES.get(name, name))}</h2>{err_html}"
            f'<div class="table-wrap">{_table(name, reports.get(name, {}))}</div></section>'
        )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>arbcast · analytics dashboard</title>
<link rel="stylesheet" href="{_e(base)}/static/dashboard.css">
<script src="{_e(base)}/static/dashboard.js" defer></script>
</head>
<body data-api="{_e(api_url)}" data-refresh="{_e(refresh_seconds)}">
<header>
<h1>arbcast · analytics</h1>
<p class="meta">Window: <span id="window">{_e(window_text)}</span> ·
{status}</p>
</header>
<main>
{render_range_control(query or {})}
<section class="kpis" id="kpis">{kpis}</section>
{render_timeseries_section()}
<section class="charts" id="charts">{charts}</section>
{"".join(sections)}
</main>
</body>
</html>
"""


# --- auth and routes -------------------------------------------------------------------------


def _cookie_value(token: str) -> str:
    """What the cookie holds: derived from the token, so the token itself is not stored."""
    return hmac.new(token.encode(), b"arbcast-dashboard-cookie-v1", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    """Constant-time equality (of digests, so not even the length leaks).

    aiohttp hands over bytes that are not UTF-8 (a cookie or header of Latin-1 bytes, say) as
    lone surrogates, which a plain encode() refuses (a 500). surrogatepass encodes any str, so
    such a value is simply a wrong one, answered 401 as to anyone without the token."""
    a = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
    b = hashlib.sha256(expected.encode()).digest()
    return secrets.compare_digest(a, b)


def _unauthorized(message: str) -> web.Response:
    return web.Response(
        status=401,
        text=f"401 Unauthorized: {message}. Pass the admin token as 'Authorization: Bearer "
        "<token>', or open the page once as /admin?token=<token> (it then sets a cookie).\n",
        headers={
            "WWW-Authenticate": 'Bearer realm="arbcast-admin"',
            "Cache-Control": "no-store",
        },
    )


_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Dashboard:
    """The mounted dashboard (``app[DASHBOARD]``): its cache and settings, for tests."""

    storage: Storage
    token: str
    base: str
    cache: ReportCache
    refresh_seconds: float
    static: dict[str, bytes]
    clock: Clock = field(default_factory=SystemClock)

    def check(self, request: web.Request) -> tuple[str | None, bool]:
        """(error message or None, whether the token came in the query string).

        Tried in order: ``Authorization: Bearer``, ``?token=``, the cookie. Another scheme in
        the Authorization header (say a proxy's Basic auth) is not ours and is passed over."""
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            if not given.strip():
                return "empty bearer token", False
            return (None if _same(given.strip(), self.token) else "wrong admin token"), False
        if "token" in request.query:
            ok = _same(request.query["token"], self.token)
            return (None if ok else "wrong admin token"), True
        cookie = request.cookies.get(COOKIE_NAME)
        if cookie is not None:
            ok = _same(cookie, _cookie_value(self.token))
            return (None if ok else "the admin cookie is stale (was the token changed?)"), False
        return "admin token required", False

    def guarded(self, handler: Handler) -> Handler:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            error, from_query = self.check(request)
            if error is not None:
                return _unauthorized(error)
            response = await handler(request)
            for k, v in _SECURITY_HEADERS.items():
                response.headers.setdefault(k, v)
            if from_query:
                response.set_cookie(
                    COOKIE_NAME,
                    _cookie_value(self.token),
                    path=self.base,
                    httponly=True,
                    samesite="Lax",
                    secure=request.secure,
                )
            return response

        return wrapper

    def _window(self, request: web.Request) -> Window:
        preset = request.query.get("range")
        if preset:
            if request.query.get("since") or request.query.get("until"):
                raise web.HTTPBadRequest(text="pass either range= or since=/until=, not both")
            return resolve_range(preset, datetime.fromtimestamp(self.clock.now(), UTC)), None
        return (
            _parse_time(request.query.get("since"), "since"),
            _parse_time(request.query.get("until"), "until"),
        )

    async def page(self, request: web.Request) -> web.StreamResponse:
        if "token" in request.query:  # take the token out of the address bar and history
            query = {k: v for k, v in request.query.items() if k != "token"}
            location = str(request.rel_url.with_query(query))
            return web.Response(status=303, headers={"Location": location})
        since, until = self._window(request)
        try:
            payload = (await self.cache.get(since, until)).payload
        except Exception as exc:  # still serve the page: its script retries
            log.exception("dashboard: computing the reports failed")
            payload = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        query = window_query(request.query)
        api = request.app.router["arbcast_dashboard_api"].url_for().with_query(query)
        text = render_page(
            payload,
            base=self.base,
            api_url=str(api),
            refresh_seconds=self.refresh_seconds,
            query=query,
        )
        return web.Response(text=text, content_type="text/html")

    async def api(self, request: web.Request) -> web.StreamResponse:
        since, until = self._window(request)
        try:
            entry = await self.cache.get(since, until)
        except Exception as exc:
            log.exception("dashboard: computing the reports failed")
            return web.json_response(
                {"error": f"{type(exc).__name__}: {exc}"[:500]},
                status=503,
                headers={"Retry-After": "5"},
            )
        return web.Response(body=entry.body, content_type="application/json")

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self.static:
            raise web.HTTPNotFound()
        return web.Response(body=self.static[name], content_type=STATIC_FILES[name])


DASHBOARD: web.AppKey[Dashboard] = web.AppKey("arbcast_dashboard", Dashboard)


def add_dashboard(
    app: web.Application,
    storage: Storage,
    *,
    admin_token: str,
    path: str = "/admin",
    settings: AnalyticsSettings | None = None,
    cache_seconds: float = 2.0,
    refresh_seconds: float = 5.0,
    threads: int | None = None,
    clock: Clock | None = None,
    process: bool | None = None,
    send_limit_per_second: float = 30.0,
) -> None:
    """Mount the dashboard on ``app`` under ``path``; an empty token mounts nothing (404).

    ``clock``: "now" for the preset ranges and for which hours are still open (default: the
    system's). ``process``: compute in a child process (stopped with the app); None: as
    ``settings.dashboard_process`` says when settings are given, else in the worker thread.
    ``send_limit_per_second``: the line on the sends chart, the GlobalRateLimiter's rate
    (Telegram's 30/s, or the paid-broadcast rate)."""
    if not admin_token:
        log.info("admin dashboard disabled (no admin token set)")
        return
    base = "/" + path.strip("/")
    an_settings = settings or AnalyticsSettings()

    the_clock = clock or SystemClock()
    in_child = (
        an_settings.dashboard_process and settings is not None if process is None else process
    )
    child = ChildProcess(an_settings.background_nice) if in_child else None

    def compute(since: datetime | None, until: datetime | None) -> dict[str, Any]:
        now = datetime.fromtimestamp(the_clock.now(), UTC)
        args = (storage, an_settings, since, until, threads, now, send_limit_per_second)
        return child.call(compute_payload, *args) if child else compute_payload(*args)

    if child is not None:

        async def stop_child(_: web.Application) -> None:
            await asyncio.to_thread(child.close)

        app.on_cleanup.append(stop_child)

    dash = Dashboard(
        storage=storage,
        token=admin_token,
        base=base,
        cache=ReportCache(compute, ttl=cache_seconds),
        refresh_seconds=refresh_seconds,
        static={n: (STATIC_DIR / n).read_bytes() for n in STATIC_FILES},
        clock=the_clock,
    )
    app[DASHBOARD] = dash
    app.router.add_get(base, dash.guarded(dash.page), name="arbcast_dashboard")
    app.router.add_get(f"{base}/", dash.guarded(dash.page))
    app.router.add_get(f"{base}/api/reports", dash.guarded(dash.api), name="arbcast_dashboard_api")
    app.router.add_get(f"{base}/static/{{name}}", dash.guarded(dash.asset))
    log.info("admin dashboard on %s", base)


def dashboard_app(storage: Storage, *, admin_token: str, **kwargs: Any) -> web.Application:
    """A stand-alone application with only the dashboard (e.g. when the bot polls)."""
    app = web.Application()
    add_dashboard(app, storage, admin_token=admin_token, **kwargs)
    return app
