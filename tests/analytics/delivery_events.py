"""Delivery events in the shapes the outbox and the delivery worker emit, and the dashboard's
time series recomputed from them in plain Python (the oracle of `analytics.timeseries`)."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from core.events import Event
from tests.analytics.helpers import T0


def delivery_events(seed: int = 3, hours: int = 3, t0: float = T0) -> list[Event]:
    """Messages accepted by the outbox and, seconds to minutes later, sent (some in bursts
    above 30 in one second), put off by a 429, failed or dropped by the sender; reminders (no
    opportunity) and edits; and queue drops that never reached the outbox."""
    rnd = random.Random(seed)
    ev: list[Event] = []
    n = 0
    for minute in range(hours * 60):
        start = t0 + minute * 60
        burst = rnd.random() < 0.1  # a busy second: a big opportunity fanned out
        for _ in range(rnd.randint(5, 40) + (35 if burst else 0)):
            n += 1
            kind = "edit" if rnd.random() < 0.1 else "send"
            items = 0 if rnd.random() < 0.08 else rnd.choice([1, 1, 3])
            ids = [f"o{rnd.randrange(30)}" for _ in range(items)]
            message: dict[str, Any] = {
                "outgoing_id": f"m{n}",
                "kind": kind,
                "chat_id": n % 97,
                "priority": rnd.choice(["high", "low"]),
                "items": items,
                "tier": rnd.choice(["free", "premium"]),
            }
            if ids:
                message |= {
                    "channel": "push",
                    "opportunity_id": ids[0],
                    "opportunity_ids": ",".join(ids),
                }
            accepted_at = start + (30.0 if burst else rnd.random() * 60)
            ev.append(
                Event(
                    name="distribution.accepted",
                    ts=round(accepted_at, 3),
                    user_id=n % 97,
                    attrs={k: message[k] for k in ("outgoing_id", "kind", "priority", "items")},
                )
            )
            at = accepted_at + (0.2 if burst else rnd.expovariate(1 / 20))
            outcome = rnd.random()
            if outcome < 0.05:  # Telegram said 429: put off, then sent
                ev.append(
                    Event(
                        name="distribution.retried",
                        ts=round(at, 3),
                        user_id=n % 97,
                        attrs={**message, "reason": "flood", "attempt": 0, "delay_s": 3.0},
                    )
                )
                at += 3.0
            if outcome > 0.97:
                ev.append(
                    Event(
                        name="distribution.failed",
                        ts=round(at, 3),
                        user_id=n % 97,
                        attrs={**message, "reason": "bad_request: x", "attempt": 1},
                    )
                )
            elif outcome > 0.94:
                ev.append(
                    Event(
                        name="distribution.dropped",
                        ts=round(at, 3),
                        user_id=n % 97,
                        attrs={**message, "reason": "blocked", "sent": False},
                    )
                )
            elif outcome > 0.92:
                pass  # still in the outbox at the end
            else:
                attrs = {**message, "latency_ms": round((at - accepted_at) * 1000, 1)}
                if ids:
                    attrs["detection_latency_ms"] = round(
                        rnd.lognormvariate(math.log(800), 0.6) + 50, 1
                    )
                ev.append(
                    Event(name="distribution.sent", ts=round(at, 3), user_id=n % 97, attrs=attrs)
                )
        if rnd.random() < 0.3:  # a queue's drop: never in the outbox, so not "left"
            ev.append(
                Event(
                    name="distribution.dropped",
                    ts=round(start + rnd.random() * 60, 3),
                    user_id=rnd.randrange(97),
                    attrs={"opportunity_id": "o1", "reason": "expired", "shard": 0},
                )
            )
    return ev


def nearest_rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def timeseries(
    events: list[Event], first: datetime, end: datetime, step_s: float
) -> list[dict[str, Any]]:
    """Per bucket of ``step_s`` from ``first`` up to ``end``: sends, busiest second, 429s,
    backlog at the bucket's end (every accepted minus every left message before it, from the
    first event), and the exact nearest-rank latency percentiles."""
    lo, hi = first.timestamp(), end.timestamp()
    edges = [lo + k * step_s for k in range(math.ceil((hi - lo) / step_s))]
    rows: list[dict[str, Any]] = []
    for b in edges:
        top = min(b + step_s, hi)
        inside = [e for e in events if b <= e.ts < top]
        sends = [
            e for e in inside if e.name == "distribution.sent" and e.attrs.get("kind") != "edit"
        ]
        per_second = Counter(math.floor(e.ts) for e in sends)
        latencies = [
            float(str(e.attrs["detection_latency_ms"]))
            for e in sends
            if e.attrs.get("items") and e.attrs.get("detection_latency_ms") is not None
        ]
        accepted = sum(1 for e in events if e.name == "distribution.accepted" and e.ts < top)
        left = sum(
            1
            for e in events
            if e.name in ("distribution.sent", "distribution.failed", "distribution.dropped")
            and "kind" in e.attrs
            and e.ts < top
        )
        rows.append(
            {
                "bucket": b,
                "sends": len(sends),
                "peak_1s": max(per_second.values(), default=0),
                "flood_429": sum(
                    1
                    for e in inside
                    if e.name == "distribution.retried" and e.attrs.get("reason") == "flood"
                ),
                "backlog": accepted - left,
                "alerts": len(latencies),
                **{
                    f"latency_{k}_ms": nearest_rank(latencies, q)
                    for k, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
                },
            }
        )
    return rows


def by_hour(events: list[Event]) -> dict[int, int]:
    """Distribution rows per hour since the epoch."""
    out: dict[int, int] = defaultdict(int)
    for e in events:
        out[math.floor(e.ts / 3600)] += 1
    return dict(out)
