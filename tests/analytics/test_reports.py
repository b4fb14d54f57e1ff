"""Every report equals an independent computation in plain Python over the same events."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from analytics.duck import connect
from analytics.reports import run_report, to_csv, to_json
from analytics.sink import write_events
from analytics.storage import Storage
from core.events import Event
from tests.analytics import oracles
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
        # onboarding, in order, as the bot emits it: welcome, each step shown, then completed
        # or skipped (at a step), or nothing more (gone, or still at it)
        if rnd.random() < 0.8:
            t = at(first)
            ev.append(
                Event(
                    name="onboarding.step",
                    ts=t,
                    user_id=uid,
                    attrs={"step": "welcome", "action": "shown", "source": "start"},
                )
            )
            # Some finish days later, past the conversion window.
            gap = rnd.choice([20.0, 20.0, 20.0, 3 * DAY])
            for step in STEPS:
                t += gap
                if rnd.random() < 0.15:
                    ev.append(
                        Event(
                            name="onboarding.step",
                            ts=t,
                            user_id=uid,
                            attrs={"step": step, "action": "skipped"},
                        )
                    )
                    break
                ev.append(
                    Event(
                        name="onboarding.step",
                        ts=t,
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
                        ts=t + gap,
                        user_id=uid,
                        attrs={"step": "done", "action": "completed"},
                    )
                )
        # distribution and engagement, in the shapes the shard, the outbox worker and
        # /opportunities emit (messaging/outbox/worker.py `_emit`, actors/user_queue_shard.py)
        for _ in range(rnd.randint(0, 12)):
            d = rnd.randrange(days)
            opps = [f"o{rnd.randrange(40)}" for _ in range(rnd.choice([1, 1, 1, 3]))]
            kind = rnd.choice(["arbitrage", "funding", "technical"])
            tier = rnd.choice(["free", "premium"])
            prio = rnd.choice(["high", "low"])
            outcome = rnd.random()
            message = {
                "outgoing_id": f"m{uid}-{len(ev)}",
                "kind": "send",
                "chat_id": uid,
                "priority": prio,
                "items": len(opps),
                "opportunity_id": opps[0],
                "opportunity_ids": ",".join(opps),
                "tier": tier,
                "type": kind,
            }
            t = at(d)
            if outcome < 0.3:
                for o in opps:  # each item was queued first, by the user's shard
                    ev.append(
                        Event(
                            name="distribution.queued",
                            ts=t - 60,
                            user_id=uid,
                            attrs={"opportunity_id": o, "reason": "", "shard": uid % 4},
                        )
                    )
                latency = round(rnd.expovariate(1 / 40), 3)
                ev.append(
                    Event(
                        name="distribution.sent",
                        ts=t,
                        user_id=uid,
                        attrs={
                            **message,
                            "latency_ms": latency,
                            "detection_latency_ms": round(latency + rnd.uniform(0, 9e4), 1),
                            "attempt": 1,
                            "message_id": rnd.randrange(10**6),
                            "duplicate": False,
                        },
                    )
                )
                if rnd.random() < 0.3:  # its opportunity closed: the message is edited
                    ev.append(
                        Event(
                            name="distribution.sent",
                            ts=t + 30,
                            user_id=uid,
                            attrs={**message, "kind": "edit", "latency_ms": 5.0, "attempt": 1},
                        )
                    )
            elif outcome < 0.4:  # a reminder: no opportunity
                ev.append(
                    Event(
                        name="distribution.sent",
                        ts=t,
                        user_id=uid,
                        attrs={"outgoing_id": f"r{uid}", "kind": "send", "chat_id": uid,
                               "priority": "high", "items": 0, "latency_ms": 3.0},
                    )
                )  # fmt: skip
            elif outcome < 0.5:
                ev.append(
                    Event(
                        name="distribution.shown",
                        ts=t,
                        user_id=uid,
                        session_id=f"s{uid}",
                        attrs={"opportunity_id": opps[0], "type": kind, "priority": prio,
                               "tier": tier, "channel": "on_demand"},
                    )
                )  # fmt: skip
            elif outcome < 0.75:  # per (opportunity, shard, reason), no user
                ev.append(
                    Event(
                        name="distribution.rejected",
                        ts=t,
                        attrs={"opportunity_id": opps[0], "layer": (layer := rnd.randint(1, 6)),
                               "reason": f"L{layer}:x", "users": rnd.randint(1, 50),
                               "shard": rnd.randrange(4)},
                    )
                )  # fmt: skip
            elif outcome < 0.9:
                ev.append(
                    Event(
                        name="distribution.failed",
                        ts=t,
                        user_id=uid,
                        attrs={**message, "reason": rnd.choice(["blocked", "timeout"])},
                    )
                )
            else:
                ev.append(
                    Event(
                        name="distribution.dropped",
                        ts=t,
                        user_id=uid,
                        attrs={"opportunity_id": opps[0], "shard": 0,
                               "reason": rnd.choice(["expired", "cap"])},
                    )
                )  # fmt: skip
            if outcome < 0.3 or 0.4 <= outcome < 0.5:
                for o in opps:
                    if rnd.random() < 0.3:
                        name, button = rnd.choice(
                            [
                                ("engagement.details", "details"),
                                ("engagement.details", "details"),
                                ("engagement.feedback", "up"),
                                ("engagement.mute_pair", "mute_pair"),
                            ]
                        )
                        ev.append(
                            Event(
                                name=name,
                                ts=t + 5,
                                user_id=uid,
                                attrs={"opportunity_id": o, "button": button},
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
    # refusals (the gate without a session, a button outside the plan), from their own random
    # stream so that the rest of the lake stays as it was
    refusals = random.Random(seed + 1)
    for uid in range(1, users + 1):
        for _ in range(refusals.choice([0, 0, 1, 3])):
            ev.append(
                Event(
                    name=refusals.choice(["audit.command", "audit.callback"]),
                    ts=round(T0 + refusals.random() * days * DAY, 3),
                    user_id=uid,
                    attrs={"command": "/opportunities", "allowed": False,
                           "reason": refusals.choice(["no_session", "not_entitled"])},
                )
            )  # fmt: skip
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
    expected = oracles.sessions(EVENTS, since, until)
    got = run_report(con, "sessions", since, until).as_dicts()
    assert [g["day"] for g in got] == [x["day"] for x in expected]
    for g, x in zip(got, expected, strict=True):
        for k in ("median_session_s", "commands_per_session"):
            got_v, want = g.pop(k), x.pop(k)
            assert got_v == (None if want is None else pytest.approx(want, rel=1e-9))
        assert g == x


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_onboarding_funnel_keeps_outcomes_apart_within_the_conversion_window(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    # Over the window, as known at its end (some started within a day of it: still at it);
    # over everything, as known now (every conversion window has passed).
    as_of = until.timestamp() if until else datetime.now(UTC).timestamp()
    expected = oracles.onboarding(EVENTS, since, until, as_of)
    got = run_report(con, "onboarding", since, until, as_of=until)
    assert [(r[0], r[1]) for r in got.rows] == expected
    n = expected[0][1]
    assert sum(r[1] for r in got.rows[-4:]) == n  # the four outcomes partition the starters
    assert got.rows[1][2] == round(100 * expected[1][1] / n, 2)
    outcomes = dict(expected[-4:])
    assert outcomes["completed"] and outcomes["skipped"] and outcomes["abandoned"]
    if until is not None:
        assert outcomes["in_progress"] > 0  # the window's last day is still open


def test_a_longer_conversion_window_counts_late_finishers(con: duckdb.DuckDBPyConnection) -> None:
    """Some users take three days a step: a day's window counts them abandoned, a month's (the
    setting `onboarding_window_seconds`) completed or skipped."""
    as_of = datetime.now(UTC).timestamp()
    day = dict(r[:2] for r in run_report(con, "onboarding").rows)
    week = run_report(con, "onboarding", onboarding_window=timedelta(days=30))
    assert [(r[0], r[1]) for r in week.rows] == oracles.onboarding(
        EVENTS, None, None, as_of, window=30 * DAY
    )
    longer = dict(r[:2] for r in week.rows)
    assert longer["completed"] > day["completed"] and longer["abandoned"] < day["abandoned"]


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_distribution_report_equals_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    expected = oracles.distribution(EVENTS, since, until)
    got = {(m, k): v for m, k, v in run_report(con, "distribution", since, until).rows}
    assert got.keys() == expected.keys()
    for key, want in expected.items():
        assert got[key] == (None if want is None else pytest.approx(want, rel=1e-9)), key
    rows = sum(
        e.name == "distribution.rejected" and oracles.inside(e, since, until) for e in EVENTS
    )
    assert got[("count", "rejected")] > rows  # users, not rows
    assert got[("count", "edited")] and got[("count", "other_sent")]


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_engagement_click_through_counts_every_item_pushed_or_shown(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    got = {tuple(r[:3]): tuple(r[3:]) for r in run_report(con, "engagement", since, until).rows}
    assert got == oracles.engagement(EVENTS, since, until)


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_weekly_retention_cohorts_equal_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    rows = run_report(con, "retention", since, until).rows
    assert rows == oracles.retention(EVENTS, since, until)
    assert rows and all(r[2] >= 0 for r in rows) and any(r[2] > 0 for r in rows)
    assert all(r[3] == r[1] for r in rows if r[2] == 0)  # everyone is active in week 0


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_push_outcomes_per_opportunity_equal_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    rows = run_report(con, "push_outcomes", since, until).rows
    assert rows == oracles.push_outcomes(EVENTS, since, until)
    assert sum(r[4] for r in rows) and sum(r[5] for r in rows) and sum(r[6] for r in rows)


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_tier_breakdown_equals_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    """Per tier: active users, sessions, alerts, deliveries, clicks and refusals, each user
    under their latest recorded tier before the window's end."""
    rows = run_report(con, "tiers", since, until).rows
    assert rows == oracles.tiers(EVENTS, since, until)
    tiers = {r[0] for r in rows}
    assert {"free", "premium"} <= tiers
    for column in range(1, 8):  # every figure is exercised by the generated lake
        assert any(r[column] for r in rows), column


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_validation_pass_rate_per_level_equals_a_python_computation(
    con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None
) -> None:
    assert run_report(con, "validation", since, until).rows == oracles.validation(
        EVENTS, since, until
    )


@pytest.mark.parametrize(
    "name",
    [
        "sessions",
        "onboarding",
        "distribution",
        "engagement",
        "validation",
        "retention",
        "push_outcomes",
        "tiers",
        "experiments",
    ],
)
def test_every_report_works_on_an_empty_lake(tmp_path: Path, name: str) -> None:
    con = connect(Storage.local(tmp_path))
    report = run_report(con, name)
    assert report.columns
    if name == "distribution":
        assert all(v in (0, None) for _, _, v in report.rows)
    elif name == "onboarding":
        assert [r[1] for r in report.rows] == [0, 0, 0, 0, 0]
    else:
        assert report.rows == []


def test_reports_render_as_csv_and_json(con: duckdb.DuckDBPyConnection) -> None:
    r = run_report(con, "validation")
    csv_text = to_csv(r.columns, r.rows)
    assert csv_text.splitlines()[0] == ",".join(r.columns)
    assert len(csv_text.splitlines()) == len(r.rows) + 1
    import json

    assert json.loads(to_json(r.columns, r.rows))[0]["level"] == r.rows[0][0]
