"""When an in-bot alert is sent: a tripped threshold that has held for its `for_seconds`, is not
muted, and was not sent within `alert_repeat_seconds` (per kind: a flapping figure sends once
per period, not once per flap). Plain logic with an injected clock; the loop that reads the
figures and sends is `messaging.outbox.ops_alerts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.alerts.rules import AlertKind, Tripped, tripped
from core.clock import Clock
from core.metrics.figures import OpsFigures
from core.ops_settings import OpsSettings


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    value: float
    threshold: float
    since: float  # when the threshold was first seen crossed in this episode


class AlertEvaluator:
    def __init__(self, settings: OpsSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._before: OpsFigures | None = None
        self._since: dict[AlertKind, float] = {}
        self._last_sent: dict[AlertKind, float] = {}

    def check(self, figures: OpsFigures, mutes: Mapping[str, float]) -> list[Alert]:
        """The alerts to send now. `mutes`: alert kind -> when its mute ends."""
        now = self._clock.now()
        crossed = {t.kind: t for t in tripped(figures, self._before, self._settings)}
        self._before = figures
        due: list[Alert] = []
        for kind in AlertKind:
            t: Tripped | None = crossed.get(kind)
            if t is None:
                self._since.pop(kind, None)
                continue
            since = self._since.setdefault(kind, now)
            if now - since < t.for_seconds or mutes.get(kind, 0.0) > now:
                continue
            last = self._last_sent.get(kind)
            if last is not None and now - last < self._settings.alert_repeat_seconds:
                continue
            self._last_sent[kind] = now
            due.append(Alert(kind, t.value, t.threshold, since))
        return due
