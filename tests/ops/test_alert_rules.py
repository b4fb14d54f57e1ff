"""ops/prometheus/alerts.yml: valid Prometheus rules (promtool, when installed); every metric an
expression names is one a real running app serves on /metrics (names parsed out of the
expressions here, compared with a real scrape); and the rules the bot also judges use the
thresholds of `OpsSettings`' defaults."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML (constraints.txt) has no stubs here
from aiohttp.test_utils import TestServer
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from actors.rate_limiter import GlobalRateLimiter
from bot.ops_routes import create_ops_app
from core.alerts.rules import AlertKind
from core.clock import ManualClock
from core.metrics.actor_restarts import record_restart
from core.metrics.exposition import ProcessMetrics
from core.ops_settings import OpsSettings
from core.services import Services
from core.settings import Settings
from core.store.keys import OPPORTUNITY_CHANGES
from messaging.ops_figures import read_figures

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops" / "prometheus" / "alerts.yml"
DOCS = ROOT / "docs" / "operations.md"

# PromQL's aggregations, functions and keywords that may appear in our expressions.
PROMQL_WORDS = frozenset(
    {
        "sum", "min", "max", "avg", "count", "stddev", "topk", "bottomk", "quantile",
        "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
        "and", "or", "unless", "offset",
        "rate", "irate", "increase", "delta", "histogram_quantile", "max_over_time",
        "min_over_time", "avg_over_time", "absent", "time", "vector", "scalar",
    }
)  # fmt: skip
_DURATION_RANGE = re.compile(r"\[[^\]]*\]")
_MATCHERS = re.compile(r"\{[^}]*\}")
_STRINGS = re.compile(r'"[^"]*"')
_GROUPING = re.compile(r"\b(by|without|on|ignoring)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?")


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: identifiers that are not PromQL words, not
    function calls, not label names (in groupings or matchers) and not durations."""
    for pattern in (_STRINGS, _DURATION_RANGE, _MATCHERS, _GROUPING):
        expr = pattern.sub(" ", expr)
    names = set()
    for name, call in _IDENTIFIER.findall(expr):
        if call or name in PROMQL_WORDS:
            continue
        names.add(name)
    return names


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text())
    found: list[dict[str, Any]] = [r for g in loaded["groups"] for r in g["rules"]]
    return found


def test_the_name_parser_finds_metrics_and_nothing_else() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le) (rate(a_bucket{job="x"}[5m]))) > 1 '
        "and max by (stream, group) (b_total offset 5m) / (c > 0)"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}


def test_every_rule_is_complete() -> None:
    loaded = rules()
    assert len(loaded) >= 10
    names = [r["alert"] for r in loaded]
    assert len(names) == len(set(names))
    for r in loaded:
        assert r["expr"].strip() and r["labels"]["severity"], r["alert"]
        assert r["annotations"]["summary"] and r["annotations"]["description"], r["alert"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules())} rules found" in done.stdout


async def scrape_running_app(
    redis: Any, redis_url: str, services: Services, settings: Settings, clock: ManualClock
) -> list[Metric]:
    """The metric families of a real app's /metrics, after enough activity that every family
    has samples: a consumer group, an actor restart, a 429."""
    await redis.xadd(OPPORTUNITY_CHANGES, {"kind": "opened"})
    await redis.xgroup_create(OPPORTUNITY_CHANGES, "distribution", id="0")
    record_restart(redis_url, "push-sender-0")
    limiter = GlobalRateLimiter(settings, redis_url)
    await limiter.report_429(1.0, "global", None)
    metrics = ProcessMetrics(lambda: read_figures(redis, settings, clock, limiter=limiter.stats))
    async with (
        TestServer(create_ops_app(settings, services, metrics=metrics)) as server,
        aiohttp.ClientSession() as http,
        http.get(server.make_url(settings.ops.metrics_path)) as resp,
    ):
        assert resp.status == 200
        return list(text_string_to_metric_families(await resp.text()))


async def test_every_metric_a_rule_reads_is_served_by_a_running_app(
    redis: Any, redis_url: str, services: Services, settings: Settings, clock: ManualClock
) -> None:
    families = await scrape_running_app(redis, redis_url, services, settings, clock)
    served = {s.name for f in families for s in f.samples}
    assert served  # a real scrape
    for r in rules():
        names = metric_names(r["expr"])
        assert names, f"{r['alert']}: no metric found in {r['expr']!r}"
        missing = names - served
        assert not missing, f"{r['alert']} reads {sorted(missing)}, which /metrics does not serve"


async def test_the_docs_list_every_metric_served_and_no_other(
    redis: Any, redis_url: str, services: Services, settings: Settings, clock: ManualClock
) -> None:
    families = await scrape_running_app(redis, redis_url, services, settings, clock)
    served = {
        f.name + ("_total" if f.type == "counter" else "")
        for f in families
        if not f.name.endswith("_created")  # prometheus_client's creation-time series
    }
    table = DOCS.read_text().split("## Metrics", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(arbcast_[a-z0-9_]+)` \|", table, re.MULTILINE))
    assert documented == served


def test_the_rules_the_bot_also_judges_use_its_default_thresholds() -> None:
    d = OpsSettings()
    expected = {
        AlertKind.SINK_LAG: (">", d.alert_sink_lag_entries, 0.0),
        AlertKind.TELEGRAM_429: (">", d.alert_429_per_minute, 0.0),
        AlertKind.DEAD_LETTERS: (">=", d.alert_dead_letters, 0.0),
        AlertKind.NO_OPPORTUNITIES: ("==", 0, d.alert_no_opportunities_seconds),
    }
    seen = {}
    for r in rules():
        kind = r["labels"].get("in_bot")
        if kind is None:
            continue
        m = re.search(r"(>=|<=|==|>|<)\s*([0-9.]+)\s*$", r["expr"].strip())
        assert m, r["alert"]
        seen[AlertKind(kind)] = (m.group(1), float(m.group(2)), _seconds(r.get("for", "0s")))
    assert seen == {k: (op, float(v), s) for k, (op, v, s) in expected.items()}
    # The 429 rule compares a per-minute rate, as the bot does.
    (rule,) = [r for r in rules() if r["labels"].get("in_bot") == "telegram_429"]
    assert "* 60" in rule["expr"]


def _seconds(duration: str) -> float:
    m = re.fullmatch(r"(\d+)([smh])", duration)
    assert m, duration
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
