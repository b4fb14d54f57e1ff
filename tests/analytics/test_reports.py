"""Every report equals an independent computation in plain Python over the same events."""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from analytics.duck import connect
from analytics.reports import run_report, to_csv, to_json, two_proportion_z
from analytics.sink import write_events
from analytics.storage import Storage
from core.events import Event
from tests.analytics.helpers import T0

DAY = 86_400.0
STEPS = ["tier", "types", "schedule", "risk", "exchanges"]
SINCE = datetime.fromtimestamp(T0 + 2 * DAY + 3600 * 5, UTC)  # mid-day on purpose
UNTIL = datetime.fromtimestamp(T0 + 9 * DAY, UTC)


def generate(seed: int = 11, users: int = 80, days: int = 12) -> list[Event]:
    rnd = random.Random(seed)
    ev: list[Event] = []

    def at(day: int) -> float:
        return round(T0 + day * DAY + rnd.random() * (DAY - 1), 3)

    for uid in range(1, users + 1):
        first = rnd.randrange(days)
        for day in range(first, days):
            if rnd.random() < 0.45:
                continue
            t = at(day)
            sid = f"s{uid}-{day}"
            ev.append(
                Event(
                    name="session.started",
                    ts=t,
                    user_id=uid,
                    session_id=sid,
                    attrs={"source": "start", "previous": None},
                )
            )
            for _ in range(rnd.randint(0, 3)):
                ev.append(
                    Event(
                        name="audit.command",
                        ts=at(day),
                        user_id=uid,
                        session_id=sid,
                        attrs={"command": "/help", "allowed": True, "reason": "active"},
                    )
                )
            if rnd.random() < 0.7:
                end = rnd.choice(["session.expired", "session.terminated"])
                ev.append(
                    Event(
                        name=end,
                        ts=at(day),
                        user_id=uid,
                        session_id=sid,
                        attrs={
                            "reason": "x",
                            "length_s": round(rnd.random() * 9e4, 3),
                            "commands": rnd.randint(0, 30),
                            "opportunities": 1,
                        },
                    )
                )
        # onboarding
        if rnd.random() < 0.8:
            d = first
            ev.append(
                Event(
                    name="onboarding.step",
                    ts=at(d),
                    user_id=uid,
                    attrs={"step": "welcome", "action": "shown", "source": "start"},
                )
            )
            for step in STEPS:
                if rnd.random() < 0.15:
                    ev.append(
                        Event(
                            name="onboarding.step",
                            ts=at(d),
                            user_id=uid,
                            attrs={"step": step, "action": "skipped"},
                        )
                    )
                    break
                ev.append(
                    Event(
                        name="onboarding.step",
                        ts=at(d),
                        user_id=uid,
                        attrs={"step": step, "action": "shown"},
                    )
                )
                if rnd.random() < 0.1:
                    break
            else:
                ev.append(
                    Event(
                        name="onboarding.step",
                        ts=at(d),
                        user_id=uid,
                        attrs={"step": "done", "action": "completed"},
                    )
                )
        # distribution and engagement
        for _ in range(rnd.randint(0, 12)):
            d = rnd.randrange(days)
            opp = f"o{rnd.randrange(40)}"
            kind = rnd.choice(["arbitrage", "funding", "technical"])
            tier = rnd.choice(["free", "premium"])
            prio = rnd.choice(["high", "low"])
            outcome = rnd.random()
            base = {"opportunity_id": opp, "type": kind, "tier": tier, "priority": prio}
            if outcome < 0.5:
                t = at(d)
                name = rnd.choice(["distribution.sent", "distribution.shown"])
                attrs: dict[str, Any] = dict(base)
                if name == "distribution.sent":
                    attrs["latency_ms"] = round(rnd.expovariate(1 / 40), 3)
                ev.append(Event(name=name, ts=t, user_id=uid, attrs=attrs))
                if rnd.random() < 0.3:
                    ev.append(
                        Event(
                            name="engagement.details",
                            ts=t + 5,
                            user_id=uid,
                            attrs={"opportunity_id": opp, "button": "details"},
                        )
                    )
            elif outcome < 0.75:
                ev.append(
                    Event(
                        name="distribution.rejected",
                        ts=at(d),
                        user_id=uid,
                        attrs={**base, "layer": rnd.randint(1, 6), "reason": "Lx"},
                    )
                )
            elif outcome < 0.9:
                ev.append(
                    Event(
                        name="distribution.failed",
                        ts=at(d),
                        user_id=uid,
                        attrs={**base, "reason": rnd.choice(["blocked", "timeout"])},
                    )
                )
            else:
                ev.append(
                    Event(
                        name="distribution.dropped",
                        ts=at(d),
                        user_id=uid,
                        attrs={**base, "reason": rnd.choice(["expired", "cap"])},
                    )
                )
        # experiments
        for exp in ("welcome_copy", "button_color"):
            if rnd.random() < 0.9:
                variants = ["control", "b"] if exp == "welcome_copy" else ["blue", "green", "red"]
                t = at(rnd.randrange(days))
                variant = rnd.choice(variants)
                ev.append(
                    Event(
                        name="experiment.assigned",
                        ts=t,
                        user_id=uid,
                        attrs={"experiment": exp, "variant": variant},
                    )
                )
                p = 0.5 if variant in ("b", "green") else 0.25
                if rnd.random() < p:
                    dt = rnd.choice([-3600.0, 60.0, 7200.0])  # sometimes before assignment
                    ev.append(
                        Event(
                            name="experiment.converted",
                            ts=t + dt,
                            user_id=uid,
                            attrs={"experiment": exp},
                        )
                    )
    # validation
    for i in range(600):
        ev.append(
            Event(
                name="opportunity.validation",
                ts=at(rnd.randrange(days)),
                attrs={
                    "opportunity_id": f"o{i % 50}",
                    "level": rnd.choice([1, 2, 4]),
                    "passed": rnd.random() < 0.6,
                    "reason": "ok",
                },
            )
        )
    rnd.shuffle(ev)
    return ev


EVENTS = generate()


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    storage = Storage.local(tmp_path_factory.mktemp("lake"), fsync=False)
    for i in range(0, len(EVENTS), 997):  # several batches, so several files per partition
        write_events(storage, EVENTS[i : i + 997])
    c = connect(storage)
    yield c
    c.close()


def _in(e: Event, since: datetime | None, until: datetime | None, widen: int = 0) -> bool:
    lo = since.timestamp() - widen * DAY if since else -math.inf
    return lo <= e.ts < (until.timestamp() if until else math.inf)


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


WINDOWS = [(None, None), (SINCE, UNTIL)]


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_sessions_report_equals_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    act: dict[date, set[int]] = defaultdict(set)
    act_in: dict[date, set[int]] = defaultdict(set)
    for e in EVENTS:
        if e.name.split(".")[0] in ("session", "audit") and e.user_id is not None:
            if _in(e, since, until, widen=6):
                act[_day(e.ts)].add(e.user_id)
            if _in(e, since, until):
                act_in[_day(e.ts)].add(e.user_id)
    first: dict[int, date] = {}
    for e in EVENTS:
        if e.name == "session.started" and e.user_id is not None:
            d = _day(e.ts)
            first[e.user_id] = min(first.get(e.user_id, d), d)
    sess = [e for e in EVENTS if e.name.startswith("session.") and _in(e, since, until)]
    days = sorted(set(act_in) | {_day(e.ts) for e in sess})
    expected = []
    for d in days:
        ended = [
            e
            for e in sess
            if _day(e.ts) == d and e.name in ("session.expired", "session.terminated")
        ]
        wau = set().union(*(act.get(d - timedelta(days=k), set()) for k in range(7)))
        expected.append(
            {
                "day": d,
                "dau": len(act_in.get(d, ())),
                "wau": len(wau),
                "new_users": sum(1 for f in first.values() if f == d),
                "sessions_started": sum(
                    e.name == "session.started" and _day(e.ts) == d for e in sess
                ),
                "sessions_expired": sum(1 for e in ended if e.name == "session.expired"),
                "sessions_terminated": sum(1 for e in ended if e.name == "session.terminated"),
                "median_session_s": statistics.median([e.attrs["length_s"] for e in ended])  # type: ignore[type-var]
                if ended
                else None,
                "commands_per_session": statistics.fmean([e.attrs["commands"] for e in ended])  # type: ignore[arg-type]
                if ended
                else None,
            }
        )
    got = run_report(con, "sessions", since, until).as_dicts()
    assert [g["day"] for g in got] == [x["day"] for x in expected]
    for g, x in zip(got, expected, strict=True):
        for k in ("median_session_s", "commands_per_session"):
            got_v, want = g.pop(k), x.pop(k)
            assert got_v == (None if want is None else pytest.approx(want, rel=1e-9))
        assert g == x


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_onboarding_funnel_equals_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    ob = [e for e in EVENTS if e.name == "onboarding.step" and _in(e, since, until)]

    def users(step: str | None, action: str) -> set[int]:
        return {
            e.user_id
            for e in ob
            if e.attrs["action"] == action
            and e.user_id is not None
            and (step is None or e.attrs["step"] == step)
        }

    started = users("welcome", "shown")
    completed = users(None, "completed")
    steps = sorted(
        ((s, len(users(s, "shown"))) for s in STEPS if users(s, "shown")),
        key=lambda x: (-x[1], "step:" + x[0]),
    )
    expected = [("started", len(started))]
    expected += [(f"step:{s}", n) for s, n in steps]
    expected += [
        ("completed", len(completed)),
        ("skipped", len(users(None, "skipped"))),
        ("abandoned", len(started - completed)),
    ]
    got = run_report(con, "onboarding", since, until)
    assert [(r[0], r[1]) for r in got.rows] == expected
    assert got.rows[1][2] == round(100 * steps[0][1] / len(started), 2)


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_distribution_report_equals_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    d = [e for e in EVENTS if e.name.startswith("distribution.") and _in(e, since, until)]
    got = {(m, k): v for m, k, v in run_report(con, "distribution", since, until).rows}
    for kind in ("sent", "shown", "rejected", "failed", "dropped", "queued", "retried"):
        assert got[("count", kind)] == sum(e.name == f"distribution.{kind}" for e in d)
    for layer in range(1, 7):
        n = sum(e.name == "distribution.rejected" and e.attrs["layer"] == layer for e in d)
        assert got.get(("rejected_by_layer", str(layer)), 0) == n
    lat = np.array([e.attrs["latency_ms"] for e in d if e.name == "distribution.sent"], float)
    for q in (50, 95, 99):
        assert got[("latency_ms", f"p{q}")] == pytest.approx(np.percentile(lat, q), rel=1e-9)
    for kind in ("failed", "dropped"):
        for reason in {e.attrs["reason"] for e in d if e.name == f"distribution.{kind}"}:
            n = sum(e.name == f"distribution.{kind}" and e.attrs["reason"] == reason for e in d)
            assert got[(f"{kind}_by_reason", reason)] == n


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_engagement_click_through_equals_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    delivered: dict[tuple[int, str], Event] = {}
    for e in sorted(EVENTS, key=lambda e: e.ts):
        if e.name in ("distribution.sent", "distribution.shown") and _in(e, since, until):
            assert e.user_id is not None
            delivered.setdefault((e.user_id, str(e.attrs["opportunity_id"])), e)
    clicked = {
        (e.user_id, e.attrs["opportunity_id"]) for e in EVENTS if e.name.startswith("engagement.")
    }
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    for key, e in delivered.items():
        g = groups[(e.attrs["type"], e.attrs["tier"], e.attrs["priority"])]
        g[0] += 1
        g[1] += key in clicked
    expected = {k: (v[0], v[1], round(100 * v[1] / v[0], 2)) for k, v in groups.items()}
    got = {tuple(r[:3]): tuple(r[3:]) for r in run_report(con, "engagement", since, until).rows}
    assert got == expected


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_validation_pass_rate_per_level_equals_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    v = [e for e in EVENTS if e.name == "opportunity.validation" and _in(e, since, until)]
    expected = []
    for level in sorted({e.attrs["level"] for e in v}):  # type: ignore[type-var]
        at = [e for e in v if e.attrs["level"] == level]
        passed = sum(bool(e.attrs["passed"]) for e in at)
        expected.append(
            (
                level,
                len(at),
                passed,
                round(100 * passed / len(at), 2),
                len({e.attrs["opportunity_id"] for e in at}),
            )
        )
    assert run_report(con, "validation", since, until).rows == expected


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_experiment_conversion_and_z_test_equal_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    assigned: dict[tuple[str, int], tuple[float, str]] = {}
    for e in sorted(EVENTS, key=lambda e: e.ts):
        if e.name == "experiment.assigned" and _in(e, since, until) and e.user_id is not None:
            assigned.setdefault(
                (str(e.attrs["experiment"]), e.user_id), (e.ts, str(e.attrs["variant"]))
            )
    conv = {
        k
        for k, (t, _) in assigned.items()
        for e in EVENTS
        if e.name == "experiment.converted"
        and e.user_id == k[1]
        and e.attrs["experiment"] == k[0]
        and e.ts >= t
    }
    stats: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for k, (_, variant) in assigned.items():
        stats[(k[0], variant)][0] += 1
        stats[(k[0], variant)][1] += k in conv
    rows = run_report(con, "experiments", since, until).rows
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [
        (exp, var, n, c) for (exp, var), (n, c) in sorted(stats.items())
    ]
    for exp, var, is_control, n, c, _, z, p in rows:
        control = "control" if exp == "welcome_copy" else "blue"
        assert is_control == (var == control)
        if not is_control:
            n0, c0 = stats[(exp, control)]
            p0, p1 = c0 / n0, c / n
            pool = (c0 + c) / (n0 + n)
            z_ref = (p1 - p0) / math.sqrt(pool * (1 - pool) * (1 / n0 + 1 / n))
            assert z == pytest.approx(z_ref, abs=1e-4)
            assert p == pytest.approx(math.erfc(abs(z_ref) / math.sqrt(2)), abs=1e-6)


def test_two_proportion_z_test_matches_a_textbook_example() -> None:
    # 200/1000 vs 250/1000, pooled p = 0.225: z = 0.05 / 0.018675 = 2.6774, p = 0.0074
    z, p = two_proportion_z(200, 1000, 250, 1000)
    assert z == pytest.approx(2.6774, abs=1e-4)
    assert p == pytest.approx(0.0074, abs=1e-4)
    assert two_proportion_z(0, 10, 0, 10) == (None, None)


@pytest.mark.parametrize(
    "name", ["sessions", "onboarding", "distribution", "engagement", "validation", "experiments"]
)
def test_every_report_works_on_an_empty_lake(tmp_path: Path, name: str) -> None:
    con = connect(Storage.local(tmp_path))
    report = run_report(con, name)
    assert report.columns
    if name == "distribution":
        assert all(v in (0, None) for _, _, v in report.rows)
    elif name == "onboarding":
        assert [r[1] for r in report.rows] == [0, 0, 0, 0]
    else:
        assert report.rows == []


def test_reports_render_as_csv_and_json(con: duckdb.DuckDBPyConnection) -> None:
    r = run_report(con, "validation")
    csv_text = to_csv(r.columns, r.rows)
    assert csv_text.splitlines()[0] == ",".join(r.columns)
    assert len(csv_text.splitlines()) == len(r.rows) + 1
    import json

    assert json.loads(to_json(r.columns, r.rows))[0]["level"] == r.rows[0][0]
