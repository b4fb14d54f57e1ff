"""Shared builders for the analytics tests."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from analytics.settings import AnalyticsSettings
from analytics.sink import ParquetSink
from analytics.storage import Storage
from core.events import Event

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


def sink_settings(**kw: Any) -> AnalyticsSettings:
    base: dict[str, Any] = {"claim_idle_seconds": 60.0, "block_seconds": 0.05, "fsync": False}
    base.update(kw)
    return AnalyticsSettings(**base)


def make_sink(
    redis: Any, root: Path, *, consumer: str = "s1", **kw: Any
) -> tuple[ParquetSink, Storage]:
    storage = Storage.local(root, fsync=False)
    return ParquetSink(redis, storage, sink_settings(**kw), consumer=consumer), storage


def mixed_events(n: int, *, seed: int = 7, t0: float = T0, span_s: float = 3 * 3600) -> list[Event]:
    """Events of every table, with typed, untyped and mistyped attributes."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        ts = round(t0 + rnd.random() * span_s, 3)
        uid = rnd.randint(1, 50)
        k = i % 7
        if k == 0:
            e = Event(
                name="session.started",
                ts=ts,
                user_id=uid,
                session_id=f"s{uid}",
                attrs={"source": "start", "previous": "expired"},
            )
        elif k == 1:
            e = Event(
                name="session.expired",
                ts=ts,
                user_id=uid,
                session_id=f"s{uid}",
                attrs={
                    "reason": "inactivity",
                    "length_s": rnd.random() * 1e5,
                    "commands": rnd.randint(0, 40),
                    "opportunities": 3,
                },
            )
        elif k == 2:
            e = Event(
                name="audit.command",
                ts=ts,
                user_id=uid,
                session_id=None,
                attrs={
                    "command": "/start",
                    "allowed": rnd.random() < 0.8,
                    "reason": "active",
                    "chat_type": "private",
                },
            )
        elif k == 3:
            e = Event(
                name="distribution.sent",
                ts=ts,
                user_id=uid,
                attrs={
                    "opportunity_id": f"o{i % 13}",
                    "type": "arbitrage",
                    "priority": "high",
                    "tier": "free",
                    "kind": "send",
                    "items": 1,
                    "latency_ms": rnd.random() * 100,
                    "detection_latency_ms": 1000 + rnd.random() * 100,
                },
            )
        elif k == 4:
            # layer mistyped on purpose, plus an attribute with no column
            e = Event(
                name="distribution.rejected",
                ts=ts,
                user_id=uid,
                attrs={
                    "opportunity_id": f"o{i % 13}",
                    "layer": "3",
                    "reason": "L3:dnd",
                    "new_field": 1.5,
                },
            )
        elif k == 5:
            e = Event(
                name="opportunity.validation",
                ts=ts,
                attrs={
                    "opportunity_id": f"o{i % 13}",
                    "level": rnd.randint(1, 4),
                    "passed": rnd.random() < 0.6,
                    "reason": "ok",
                    "f_spread": 0.4,
                },
            )
        else:
            e = Event(name="custom_thing", ts=ts, user_id=None, attrs={"x": i, "y": "z"})
        out.append(e)
    return out


def normalised(e: Event) -> tuple[Any, ...]:
    """What must survive the trip to Parquet (ts to the millisecond, null attributes dropped)."""
    attrs = tuple(sorted((k, v) for k, v in e.attrs.items() if v is not None))
    return (e.name, round(e.ts, 3), e.user_id, e.session_id, attrs)
