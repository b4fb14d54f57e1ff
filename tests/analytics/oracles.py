"""The analysts' reports recomputed in plain Python over a list of events: the oracles the report
tests hold DuckDB's answers to, over a generated lake and over the lake of a real run.

They read events as the emitters write them (core.event_names describes each shape) and share
no code with `analytics.reports`. Each returns the report's rows in the report's order.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from core.events import Event

DAY = 86_400.0
CONVERSION_WINDOW = DAY  # analytics.reports.ONBOARDING_WINDOW
COMMON = {"event_id", "name", "ts", "user_id", "session_id", "schema_version", "extra"}


def raw_events(lake: Path) -> list[Event]:
    """Every row of every Parquet file under ``lake``, read with pyarrow (not the DuckDB
    views), its ``extra`` JSON merged back into the attributes."""
    out: list[Event] = []
    for path in sorted(lake.rglob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            attrs = {k: v for k, v in row.items() if k not in COMMON and v is not None}
            attrs.update(json.loads(row["extra"]) if row.get("extra") else {})
            ts = row["ts"]
            out.append(
                Event(
                    name=row["name"],
                    ts=ts.timestamp() if isinstance(ts, datetime) else float(ts),
                    user_id=row["user_id"],
                    session_id=row["session_id"],
                    attrs=attrs,
                )
            )
    return out


def inside(e: Event, since: datetime | None, until: datetime | None, widen: int = 0) -> bool:
    lo = since.timestamp() - widen * DAY if since else -math.inf
    return lo <= e.ts < (until.timestamp() if until else math.inf)


def day_of(ts: float) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def sessions(
    events: Iterable[Event], since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    events = list(events)
    act: dict[date, set[int]] = defaultdict(set)
    act_in: dict[date, set[int]] = defaultdict(set)
    for e in events:
        if e.name.split(".")[0] in ("session", "audit") and e.user_id is not None:
            if inside(e, since, until, widen=6):
                act[day_of(e.ts)].add(e.user_id)
            if inside(e, since, until):
                act_in[day_of(e.ts)].add(e.user_id)
    first: dict[int, date] = {}
    for e in events:
        if e.name == "session.started" and e.user_id is not None:
            d = day_of(e.ts)
            first[e.user_id] = min(first.get(e.user_id, d), d)
    sess = [e for e in events if e.name.startswith("session.") and inside(e, since, until)]
    days = sorted(set(act_in) | {day_of(e.ts) for e in sess})
    expected = []
    for d in days:
        ended = [
            e
            for e in sess
            if day_of(e.ts) == d and e.name in ("session.expired", "session.terminated")
        ]
        wau = set().union(*(act.get(d - timedelta(days=k), set()) for k in range(7)))
        lengths = [float(str(e.attrs["length_s"])) for e in ended]
        commands = [int(str(e.attrs["commands"])) for e in ended]
        expected.append(
            {
                "day": d,
                "dau": len(act_in.get(d, ())),
                "wau": len(wau),
                "new_users": sum(1 for f in first.values() if f == d),
                "sessions_started": sum(
                    e.name == "session.started" and day_of(e.ts) == d for e in sess
                ),
                "sessions_expired": sum(1 for e in ended if e.name == "session.expired"),
                "sessions_terminated": sum(1 for e in ended if e.name == "session.terminated"),
                "median_session_s": statistics.median(lengths) if ended else None,
                "commands_per_session": statistics.fmean(commands) if ended else None,
            }
        )
    return expected


def onboarding(
    events: Iterable[Event],
    since: datetime | None,
    until: datetime | None,
    as_of: float,
    window: float = CONVERSION_WINDOW,
) -> list[tuple[str, int]]:
    """(stage, users): started, each step shown (most users first), then the four outcomes."""
    by_user: dict[int, list[Event]] = defaultdict(list)
    for e in sorted(events, key=lambda e: e.ts):
        if e.name == "onboarding.step" and e.user_id is not None and e.ts < as_of:
            by_user[e.user_id].append(e)
    outcome: dict[int, str] = {}
    shown: dict[str, set[int]] = defaultdict(set)
    for uid, evs in by_user.items():
        starts = [
            e.ts
            for e in evs
            if e.attrs["step"] == "welcome"
            and e.attrs["action"] == "shown"
            and inside(e, since, until)
        ]
        if not starts:
            continue
        at = min(starts)
        within = [e for e in evs if at <= e.ts < at + window]
        for e in within:
            if e.attrs["action"] == "shown" and e.attrs["step"] not in ("welcome", "done"):
                shown[str(e.attrs["step"])].add(uid)
        ends = [
            str(e.attrs["action"]) for e in within if e.attrs["action"] in ("completed", "skipped")
        ]
        if ends:
            outcome[uid] = ends[0]
        else:
            outcome[uid] = "in_progress" if at + window > as_of else "abandoned"
    steps = sorted(((f"step:{k}", len(v)) for k, v in shown.items()), key=lambda x: (-x[1], x[0]))
    rows = [("started", len(outcome)), *steps]
    rows += [
        (k, sum(o == k for o in outcome.values()))
        for k in ("completed", "skipped", "in_progress", "abandoned")
    ]
    return rows


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    arr = np.array(values, float)
    return {f"p{q}": float(np.percentile(arr, q)) for q in (50, 95, 99)}


def distribution(
    events: Iterable[Event], since: datetime | None, until: datetime | None
) -> dict[tuple[str, str], float | None]:
    """(metric, key) -> value, as the distribution report names them."""
    d = [e for e in events if e.name.startswith("distribution.") and inside(e, since, until)]
    out: dict[tuple[str, str], float | None] = {}
    for kind in ("shown", "failed", "dropped", "queued", "retried"):
        out[("count", kind)] = sum(e.name == f"distribution.{kind}" for e in d)
    sent = [e for e in d if e.name == "distribution.sent"]
    alerts = [e for e in sent if e.attrs.get("kind") != "edit" and e.attrs.get("items")]
    out[("count", "sent")] = len(alerts)
    out[("count", "edited")] = sum(e.attrs.get("kind") == "edit" for e in sent)
    out[("count", "other_sent")] = sum(
        e.attrs.get("kind") != "edit" and not e.attrs.get("items") for e in sent
    )
    rejected = [e for e in d if e.name == "distribution.rejected"]
    out[("count", "rejected")] = sum(int(str(e.attrs["users"])) for e in rejected)
    layers: dict[str, int] = defaultdict(int)
    for e in rejected:
        layers[str(e.attrs["layer"])] += int(str(e.attrs["users"]))
    out.update({("rejected_by_layer", k): v for k, v in layers.items()})
    detection = [float(str(e.attrs["detection_latency_ms"])) for e in alerts]
    release = [float(str(e.attrs["latency_ms"])) for e in alerts]
    out.update({("latency_ms", k): v for k, v in _percentiles(detection).items()})
    out.update({("send_latency_ms", k): v for k, v in _percentiles(release).items()})
    for kind in ("failed", "dropped"):
        reasons: dict[str, int] = defaultdict(int)
        for e in d:
            if e.name == f"distribution.{kind}":
                reasons[str(e.attrs.get("reason", "unknown"))] += 1
        out.update({(f"{kind}_by_reason", r): n for r, n in reasons.items()})
    return out


def engagement(
    events: Iterable[Event], since: datetime | None, until: datetime | None
) -> dict[tuple[Any, ...], tuple[int, int, float]]:
    """(type, tier, priority) -> (delivered, clicked, ctr_pct) over distinct (user, opportunity):
    every item of a new pushed message, or shown on demand."""
    events = sorted(events, key=lambda e: e.ts)
    delivered: dict[tuple[int, str], Event] = {}
    for e in events:
        if not inside(e, since, until) or e.user_id is None:
            continue
        if e.name == "distribution.shown":
            ids = [str(e.attrs["opportunity_id"])]
        elif (
            e.name == "distribution.sent" and e.attrs.get("kind") != "edit" and e.attrs.get("items")
        ):
            ids = str(e.attrs["opportunity_ids"]).split(",")
        else:
            continue
        for oid in ids:
            delivered.setdefault((e.user_id, oid), e)
    clicked = {
        (e.user_id, e.attrs.get("opportunity_id"))
        for e in events
        if e.name.startswith("engagement.")
    }
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    for key, e in delivered.items():
        g = groups[(e.attrs.get("type"), e.attrs.get("tier"), e.attrs.get("priority"))]
        g[0] += 1
        g[1] += key in clicked
    return {k: (v[0], v[1], round(100 * v[1] / v[0], 2)) for k, v in groups.items()}


def validation(
    events: Iterable[Event], since: datetime | None, until: datetime | None
) -> list[tuple[Any, ...]]:
    v = [e for e in events if e.name == "opportunity.validation" and inside(e, since, until)]
    if not v:
        return []
    levels = sorted({int(str(e.attrs["level"])) for e in v})
    candidates = {e.attrs["opportunity_id"] for e in v if e.attrs["level"] == levels[0]}
    rows = []
    for level in levels:
        at = [e for e in v if e.attrs["level"] == level]
        passed = sum(bool(e.attrs["passed"]) for e in at)
        passed_opps = {e.attrs["opportunity_id"] for e in at if e.attrs["passed"]}
        rows.append(
            (
                level,
                len(at),
                passed,
                round(100 * passed / len(at), 2),
                len({e.attrs["opportunity_id"] for e in at}),
                round(100 * len(passed_opps) / len(candidates), 2),
            )
        )
    return rows


def retention(
    events: Iterable[Event], since: datetime | None, until: datetime | None
) -> list[tuple[Any, ...]]:
    """(cohort Monday, users, week since, active, retained_pct), by cohort then week."""
    events = list(events)
    first: dict[int, float] = {}
    for e in events:
        if e.name == "session.started" and e.user_id is not None:
            first[e.user_id] = min(first.get(e.user_id, e.ts), e.ts)

    def monday(ts: float) -> date:
        d = day_of(ts)
        return d - timedelta(days=d.weekday())

    cohort = {
        u: monday(t)
        for u, t in first.items()
        if (since is None or t >= since.timestamp()) and (until is None or t < until.timestamp())
    }
    size: dict[date, int] = defaultdict(int)
    for c in cohort.values():
        size[c] += 1
    active: dict[tuple[date, int], set[int]] = defaultdict(set)
    for e in events:
        if e.name.split(".")[0] in ("session", "audit") and e.user_id in cohort:
            c = cohort[e.user_id]
            week = (monday(e.ts) - c).days // 7
            if week >= 0:
                active[(c, week)].add(e.user_id)
    return [
        (c, size[c], week, len(users), round(100 * len(users) / size[c], 2))
        for (c, week), users in sorted(active.items())
    ]


def push_outcomes(
    events: Iterable[Event], since: datetime | None, until: datetime | None
) -> list[tuple[Any, ...]]:
    """(opportunity, refused, queued, sent, details, muted, voted), most sent first."""
    events = list(events)
    refused: dict[str, int] = defaultdict(int)
    queued: dict[str, set[int]] = defaultdict(set)
    sent: dict[str, set[int]] = defaultdict(set)
    for e in events:
        if not inside(e, since, until) or not e.name.startswith("distribution."):
            continue
        if e.name == "distribution.rejected":
            refused[str(e.attrs["opportunity_id"])] += int(str(e.attrs.get("users", 1)))
        elif e.name == "distribution.queued" and e.user_id is not None:
            queued[str(e.attrs["opportunity_id"])].add(e.user_id)
        elif (
            e.name == "distribution.sent"
            and e.attrs.get("kind") != "edit"
            and e.user_id is not None
            and e.attrs.get("opportunity_ids", e.attrs.get("opportunity_id"))
        ):
            for o in str(e.attrs.get("opportunity_ids", e.attrs.get("opportunity_id"))).split(","):
                sent[o].add(e.user_id)
    by_button: dict[tuple[str, str], set[int]] = defaultdict(set)
    for e in events:
        if e.name.startswith("engagement.") and e.user_id is not None:
            kind = {"engagement.details": "details", "engagement.feedback": "voted"}.get(
                e.name, "muted" if e.name.startswith("engagement.mute_") else ""
            )
            by_button[(kind, str(e.attrs.get("opportunity_id")))].add(e.user_id)
    rows = []
    for o in (set(refused) | set(queued) | set(sent)) - {""}:
        to = sent.get(o, set())
        rows.append(
            (
                o,
                refused.get(o, 0),
                len(queued.get(o, ())),
                len(to),
                *(len(to & by_button.get((k, o), set())) for k in ("details", "muted", "voted")),
            )
        )
    return sorted(rows, key=lambda r: (-r[3], -r[2], -r[1], r[0]))


def tiers(
    events: Iterable[Event], since: datetime | None, until: datetime | None
) -> list[tuple[Any, ...]]:
    """(tier, active users, sessions started, alerts sent, delivered, clicked, ctr_pct,
    refused) per tier, each user under the tier of their latest distribution row before the
    window's end; by tier name."""
    events = sorted(events, key=lambda e: e.ts)
    tier_of: dict[int, str] = {}
    for e in events:
        if (
            e.name.startswith("distribution.")
            and e.user_id is not None
            and e.attrs.get("tier") is not None
            and inside(e, None, until)
        ):
            tier_of[e.user_id] = str(e.attrs["tier"])  # later rows overwrite earlier ones
    active: set[int] = set()
    per_user: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])  # started, alerts, refused
    delivered: set[tuple[int, str]] = set()
    for e in events:
        if e.user_id is None or not inside(e, since, until):
            continue
        table = e.name.split(".", 1)[0]
        if table in ("session", "audit"):
            active.add(e.user_id)
        if e.name == "session.started":
            per_user[e.user_id][0] += 1
        if table == "audit" and e.attrs.get("allowed") is False:
            per_user[e.user_id][2] += 1
        if e.name == "distribution.sent" and e.attrs.get("kind", "send") != "edit":
            ids = e.attrs.get("opportunity_ids", e.attrs.get("opportunity_id"))
            if int(str(e.attrs.get("items", 1 if e.attrs.get("opportunity_id") else 0))) > 0:
                per_user[e.user_id][1] += 1
            if ids:
                delivered.update((e.user_id, o) for o in str(ids).split(",") if o)
        if e.name == "distribution.shown" and e.attrs.get("opportunity_id"):
            delivered.add((e.user_id, str(e.attrs["opportunity_id"])))
    clicked = {
        (e.user_id, str(e.attrs["opportunity_id"]))
        for e in events
        if e.name.startswith("engagement.")
        and e.user_id is not None
        and e.attrs.get("opportunity_id") is not None
    }
    users = active | {u for u, c in per_user.items() if any(c)} | {u for u, _ in delivered}
    rows: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for u in users:
        r = rows[tier_of.get(u, "unknown")]
        r[0] += u in active
        r[1] += per_user[u][0] if u in per_user else 0
        r[2] += per_user[u][1] if u in per_user else 0
        r[5] += per_user[u][2] if u in per_user else 0
    for u, o in delivered:
        r = rows[tier_of.get(u, "unknown")]
        r[3] += 1
        r[4] += (u, o) in clicked
    return [
        (t, a, s, al, d, c, round(100 * c / d, 2) if d else None, f)
        for t, (a, s, al, d, c, f) in sorted(rows.items())
    ]


def revenue(
    events: Iterable[Event], since: datetime | None, until: datetime | None
) -> list[tuple[Any, ...]]:
    """(tier, payments, renewals, payers, gross Stars, refunded Stars, net Stars) per tier in
    the window, by tier name: payment.succeeded rows, and payment.refunded rows whose outcome
    is not 'nothing'."""
    figures: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"payments": 0, "renewals": 0, "payers": set(), "gross": 0, "refunded": 0}
    )
    for e in events:
        tier, amount = e.attrs.get("tier"), e.attrs.get("amount")
        if tier is None or not isinstance(amount, int) or not inside(e, since, until):
            continue
        if e.name == "payment.succeeded":
            f = figures[str(tier)]
            f["payments"] += 1
            f["renewals"] += 1 if e.attrs.get("recurring") else 0
            f["payers"].add(e.user_id)
            f["gross"] += amount
        elif e.name == "payment.refunded" and e.attrs.get("outcome") != "nothing":
            figures[str(tier)]["refunded"] += amount
    return [
        (
            tier,
            f["payments"],
            f["renewals"],
            len(f["payers"]),
            f["gross"],
            f["refunded"],
            f["gross"] - f["refunded"],
        )
        for tier, f in sorted(figures.items())
    ]


def experiments(
    events: list[Event], since: datetime | None, until: datetime | None
) -> dict[tuple[str, str], tuple[int, int, int, int, int]]:
    """(experiment, variant) -> (users, exposures, alerts, clicks, mutes): a user counts from
    their first assignment inside the window (its variant); what they were exposed to, sent
    (items of sends), pressed and muted counts from that moment until the window's end."""
    first: dict[tuple[str, int], tuple[float, str]] = {}
    for e in events:
        if e.name == "experiment.assigned" and e.user_id is not None and inside(e, since, until):
            key = (str(e.attrs["experiment"]), e.user_id)
            if key not in first or e.ts < first[key][0]:
                first[key] = (e.ts, str(e.attrs["variant"]))
    by_user: dict[int, list[Event]] = defaultdict(list)
    for e in events:
        if e.user_id is not None and inside(e, None, until):
            by_user[e.user_id].append(e)
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for (experiment, uid), (at, variant) in first.items():
        row = out[(experiment, variant)]
        row[0] += 1
        for e in by_user[uid]:
            if e.ts < at:
                continue
            row[1] += e.name == "experiment.exposed" and e.attrs.get("experiment") == experiment
            if e.name == "distribution.sent" and e.attrs.get("kind") == "send":
                row[2] += int(e.attrs.get("items") or 0)
            row[3] += e.name == "engagement.details"
            row[4] += e.name in ("engagement.mute_pair", "engagement.mute_type")
    return {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in out.items()}
