"""Which thresholds trip, judged on `OpsFigures`: the in-bot twins of the rules in
`ops/prometheus/alerts.yml`, with the same thresholds (`OpsSettings.alert_*`; a test holds the
file to the defaults). A figure that could not be read trips nothing: /metrics flags it, and an
alert about a number we do not have would only guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.metrics.figures import OpsFigures
from core.ops_settings import OpsSettings


class AlertKind(StrEnum):
    SINK_LAG = "sink_lag"
    TELEGRAM_429 = "telegram_429"
    DEAD_LETTERS = "dead_letters"
    NO_OPPORTUNITIES = "no_opportunities"


@dataclass(frozen=True, slots=True)
class Tripped:
    """A threshold crossed now: the figure, the threshold, and how long it must hold."""

    kind: AlertKind
    value: float
    threshold: float
    for_seconds: float = 0.0


def per_minute_429(now: OpsFigures, before: OpsFigures | None) -> float | None:
    """429s per minute between two snapshots; a limiter restart (the count fell) counts from 0,
    as Prometheus' rate() does."""
    if before is None or now.at <= before.at:
        return None
    n, b = now.telegram_429_total, before.telegram_429_total
    if n is None or b is None:
        return None
    increase = n - b if n >= b else n
    return increase * 60.0 / (now.at - before.at)


def tripped(now: OpsFigures, before: OpsFigures | None, s: OpsSettings) -> list[Tripped]:
    out: list[Tripped] = []
    if now.sink_lag_entries is not None and now.sink_lag_entries > s.alert_sink_lag_entries:
        out.append(Tripped(AlertKind.SINK_LAG, now.sink_lag_entries, s.alert_sink_lag_entries))
    rate = per_minute_429(now, before)
    if rate is not None and rate > s.alert_429_per_minute:
        out.append(Tripped(AlertKind.TELEGRAM_429, round(rate, 2), s.alert_429_per_minute))
    dead = now.dead_letters_total
    if dead is not None and dead >= s.alert_dead_letters:
        out.append(Tripped(AlertKind.DEAD_LETTERS, dead, s.alert_dead_letters))
    if now.opportunities_live == 0:
        out.append(
            Tripped(AlertKind.NO_OPPORTUNITIES, 0, 1, for_seconds=s.alert_no_opportunities_seconds)
        )
    return out
