"""The dashboard's time range (``?range=1h|24h|7d`` or ``?since=&until=``) and the time-series
section of its page: the range control and the charts `static/dashboard.js` draws into."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

# The preset ranges: the window is the last <range> before now (its start on a whole minute,
# so that viewers of the same range share the cache within a minute).
RANGES: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
WINDOW_PARAMS = ("range", "since", "until")

# The time-series charts (data-chart=…), with their titles.
TIMESERIES_CHARTS: tuple[tuple[str, str], ...] = (
    ("sends", "Sends per second against Telegram's limit"),
    ("flood", "429s: sends put off by Telegram's flood control"),
    ("backlog", "Outbox backlog (accepted minus left)"),
    ("latency_series", "Alert latency from detection, percentiles (ms)"),
)


def resolve_range(raw: str, now: datetime) -> datetime:
    """The start of a preset range ending now."""
    if raw not in RANGES:
        raise web.HTTPBadRequest(
            text=f"range: one of {', '.join(RANGES)} (or since=&until=), not {raw!r}"
        )
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    return minute - RANGES[raw]


def window_query(query: Mapping[str, str]) -> dict[str, str]:
    """The window parameters of a request's query, to pass on to the page's API URL."""
    return {k: v for k, v in query.items() if k in WINDOW_PARAMS and v}


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _local_input(v: str | None) -> str:
    """An ISO time as a datetime-local input's value (UTC, to the minute)."""
    if not v:
        return ""
    try:
        t = datetime.fromisoformat(v)
    except ValueError:
        return ""
    t = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def render_range_control(query: Mapping[str, str]) -> str:
    """Buttons for all time and the presets, and a custom since/until (UTC); the current one is
    pressed. The script wires them (no form: the page's CSP allows no form action)."""
    current = query.get("range") or ("custom" if query.get("since") or query.get("until") else "")
    buttons = []
    for key, label in (("", "All time"), *((k, f"Last {k}") for k in RANGES)):
        pressed = "true" if key == current else "false"
        buttons.append(
            f'<button type="button" data-range="{_e(key)}" aria-pressed="{pressed}">'
            f"{_e(label)}</button>"
        )
    custom_pressed = "true" if current == "custom" else "false"
    return (
        '<nav class="range" id="range" aria-label="Time range">'
        f"{''.join(buttons)}"
        '<span class="custom"><label>From (UTC) <input type="datetime-local" id="range-since" '
        f'value="{_e(_local_input(query.get("since")))}"></label> '
        '<label>to <input type="datetime-local" id="range-until" '
        f'value="{_e(_local_input(query.get("until")))}"></label> '
        f'<button type="button" data-range="custom" aria-pressed="{custom_pressed}">Apply'
        "</button></span></nav>"
    )


def render_timeseries_section() -> str:
    charts = "".join(
        f'<figure class="chart wide"><figcaption>{_e(title)}</figcaption>'
        f'<div class="chart-body" data-chart="{_e(k)}"></div></figure>'
        for k, title in TIMESERIES_CHARTS
    )
    return (
        '<section class="timeseries" id="timeseries">'
        '<p class="meta" id="timeseries-meta" data-grain=""></p>'
        f'<div class="charts">{charts}</div></section>'
    )
