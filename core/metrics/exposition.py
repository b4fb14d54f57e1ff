"""A process's /metrics: its own registry (not prometheus_client's global one, so that tests and
processes that build several apps stay apart), with

* what happens in this process, counted where it happens: the webhook's latency histogram;
* the shared figures (outbox, streams, sink, dead letters, Redis, actors, the limiter's 429s),
  read at scrape time by an async `FiguresSource` and shown by a collector. They are read once
  per scrape, never on the path of an update or a send: Redis already counts sends (the outbox's
  stats hash, written by the push senders' scripts) and the limiter already hears every 429, so
  nothing on the hot path pays for metrics.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.metrics.figures import OpsFigures

FiguresSource = Callable[[], Awaitable[OpsFigures]]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Every name /metrics shows (families; a counter is scraped with the suffix _total, a histogram
# with _bucket, _sum and _count). docs/operations.md lists them; the alert rules' test checks
# that each name a rule uses is scraped from a running app.
WEBHOOK_SECONDS = "arbcast_webhook_request_duration_seconds"


class _FiguresCollector(Collector):
    """Shows the latest snapshot; a part that was not read is left out, and flagged."""

    def __init__(self) -> None:
        self.latest: OpsFigures | None = None

    def collect(self) -> Iterator[Metric]:
        f = self.latest
        if f is None:
            return
        yield _gauge(
            "arbcast_send_limit_per_second",
            "Sends per second the GlobalRateLimiter allows the whole bot",
            f.send_limit_per_second,
        )
        if f.outbox_counters is not None:
            sent = CounterMetricFamily(
                "arbcast_outbox_sent", "Messages Telegram accepted from the outbox"
            )
            sent.add_metric([], f.outbox_counters.get("sent", 0))
            yield sent
            yield _labelled(
                CounterMetricFamily,
                "arbcast_outbox_outcomes",
                "Outbox outcomes: sent, retried, dead, duplicates, dropped:<reason>",
                "outcome",
                f.outbox_counters,
            )
        if f.telegram_429 is not None:
            yield _labelled(
                CounterMetricFamily,
                "arbcast_telegram_429",
                "429s reported to the GlobalRateLimiter by kind: global (the bot-wide limit) or "
                "chat (one chat's); counted since the limiter started",
                "kind",
                {kind: f.telegram_429.get(kind, 0) for kind in ("global", "chat")},
            )
        if f.outbox_depth is not None:
            yield _labelled(
                GaugeMetricFamily,
                "arbcast_outbox_depth",
                "Messages waiting in the outbox, by lane (stream, high, delayed)",
                "lane",
                f.outbox_depth,
            )
        if f.outbox_oldest_age_seconds is not None:
            yield _gauge(
                "arbcast_outbox_oldest_age_seconds",
                "Age of the oldest message waiting in the outbox's streams (0: empty)",
                f.outbox_oldest_age_seconds,
            )
        if f.groups is not None:
            lag = GaugeMetricFamily(
                "arbcast_stream_lag_entries",
                "Entries of a stream not yet delivered to a consumer group",
                labels=["stream", "group"],
            )
            pending = GaugeMetricFamily(
                "arbcast_stream_pending_entries",
                "Entries delivered to a consumer group and not yet acknowledged",
                labels=["stream", "group"],
            )
            for g in f.groups:
                if g.lag is not None:
                    lag.add_metric([g.stream, g.group], g.lag)
                pending.add_metric([g.stream, g.group], g.pending)
            yield lag
            yield pending
        if f.sink_lag_entries is not None:
            yield _gauge(
                "arbcast_sink_lag_entries",
                "Event batches the Parquet sink has not written yet (it trims what it wrote)",
                f.sink_lag_entries,
            )
        if f.dead_letters is not None:
            yield _labelled(
                GaugeMetricFamily,
                "arbcast_dead_letters",
                "Entries waiting in a dead-letter stream (`arbcast outbox dead-letters`)",
                "stream",
                f.dead_letters,
            )
        if f.actor_restarts is not None:
            yield _labelled(
                CounterMetricFamily,
                "arbcast_actor_restarts",
                "Times Ray restarted an actor",
                "actor",
                f.actor_restarts,
            )
        if f.redis_used_memory_bytes is not None:
            yield _gauge(
                "arbcast_redis_used_memory_bytes",
                "Redis INFO memory used_memory",
                f.redis_used_memory_bytes,
            )
        if f.redis_max_memory_bytes is not None:
            yield _gauge(
                "arbcast_redis_max_memory_bytes",
                "Redis maxmemory (0: no limit)",
                f.redis_max_memory_bytes,
            )
        if f.opportunities_live is not None:
            yield _gauge(
                "arbcast_opportunities_live",
                "Opportunities open and not expired",
                f.opportunities_live,
            )
        yield _labelled(
            GaugeMetricFamily,
            "arbcast_figures_unread",
            "1 for a part of the figures this scrape could not read (too slow), else 0",
            "part",
            {part: 1 if part in f.failed else 0 for part in f.parts},
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _labelled(
    family: type[CounterMetricFamily | GaugeMetricFamily],
    name: str,
    documentation: str,
    label: str,
    values: Mapping[str, float],
) -> Metric:
    """One family with a sample per label value, in a stable order."""
    metric = family(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        metric.add_metric([key], value)
    return metric


class ProcessMetrics:
    """The registry of one process (or one app in a test)."""

    def __init__(self, source: FiguresSource | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._source = source
        self._figures = _FiguresCollector()
        self.registry.register(self._figures)
        self.webhook_seconds = Histogram(
            WEBHOOK_SECONDS,
            "Time from a webhook request's arrival to its answer (updates handled before the "
            "answer unless telegram.handle_in_background)",
            registry=self.registry,
        )

    async def render(self) -> bytes:
        """The exposition text, with the shared figures read now."""
        if self._source is not None:
            self._figures.latest = await self._source()
        return generate_latest(self.registry)
