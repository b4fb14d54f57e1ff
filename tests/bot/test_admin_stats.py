"""/admin_stats end to end: the bot over HTTP to the emulator, real Redis, and Parquet written by
the real sink (RedisEventLog -> stream -> ParquetSink). The report figures in the reply must equal
a computation in plain Python over the same events."""

from __future__ import annotations

import random
import re
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analytics.overview import OUTCOMES
from analytics.storage import Storage
from core.events import Event, MemoryEventLog, RedisEventLog
from tests.analytics.helpers import T0, make_sink
from tests.bot.conftest import BotEnv

DAY = 86_400.0
TODAY = date(2026, 1, 4)  # the clock is moved to 20:00 UTC that day
ADMIN = 999


def history(seed: int = 5) -> list[Event]:
    """Four days of sessions, commands, onboarding, deliveries and clicks for 30 users."""
    rnd = random.Random(seed)
    ev: list[Event] = []

    def at(day: int) -> float:
        return round(T0 + day * DAY + rnd.random() * 72_000, 3)  # before 20:00

    for uid in range(1, 31):
        for day in range(rnd.randrange(3), 4):
            if rnd.random() < 0.3:
                continue
            sid = f"s{uid}-{day}"
            ev.append(Event(name="session.started", ts=at(day), user_id=uid, session_id=sid))
            if rnd.random() < 0.5:
                ev.append(
                    Event(
                        name="audit.command",
                        ts=at(day),
                        user_id=uid,
                        attrs={"command": "/help", "allowed": True, "reason": "active"},
                    )
                )
            if rnd.random() < 0.6:
                ev.append(
                    Event(
                        name=rnd.choice(["session.expired", "session.terminated"]),
                        ts=at(day),
                        user_id=uid,
                        session_id=sid,
                        attrs={
                            "reason": "x",
                            "length_s": round(rnd.random() * 9000, 3),
                            "commands": rnd.randint(0, 20),
                        },
                    )
                )
            # Onboarding in order: welcome, a step, then done; or skipped; or nothing more.
            t = at(day)
            for step, action in (("welcome", "shown"), ("tier", "shown"), ("done", "completed")):
                if rnd.random() < 0.5:
                    break
                ev.append(
                    Event(
                        name="onboarding.step",
                        ts=t,
                        user_id=uid,
                        attrs={"step": step, "action": action},
                    )
                )
                t += 30
            else:
                if rnd.random() < 0.3:
                    ev.append(
                        Event(
                            name="onboarding.step",
                            ts=t,
                            user_id=uid,
                            attrs={"step": "risk", "action": "skipped"},
                        )
                    )
            # Deliveries in the shapes the outbox worker and the shards emit.
            for _ in range(rnd.randint(0, 5)):
                opps = [f"o{rnd.randrange(8)}" for _ in range(rnd.choice([1, 1, 2]))]
                t = at(day)
                kind = rnd.choice(["sent", "edit", "shown", "rejected", "failed", "dropped"])
                message: dict[str, Any] = {
                    "kind": "send", "items": len(opps), "opportunity_id": opps[0],
                    "opportunity_ids": ",".join(opps), "type": "arbitrage", "tier": "free",
                }  # fmt: skip
                user: int | None = uid
                if kind == "sent":
                    attrs = {**message, "latency_ms": round(rnd.expovariate(1 / 50), 3),
                             "detection_latency_ms": round(rnd.uniform(500, 9000), 1)}  # fmt: skip
                elif kind == "edit":
                    kind, attrs = "sent", {**message, "kind": "edit", "latency_ms": 4.0}
                elif kind == "shown":
                    attrs = {"opportunity_id": opps[0], "type": "arbitrage", "tier": "free"}
                elif kind == "rejected":  # per (opportunity, shard, reason): no user
                    layer = rnd.randint(1, 6)
                    user = None
                    attrs = {"opportunity_id": opps[0], "layer": layer, "reason": f"L{layer}:x",
                             "users": rnd.randint(1, 9), "shard": 0}  # fmt: skip
                else:
                    attrs = {**message, "reason": "blocked"}
                ev.append(Event(name=f"distribution.{kind}", ts=t, user_id=user, attrs=attrs))
                if kind in ("sent", "shown") and attrs.get("kind") != "edit":
                    for o in opps if kind == "sent" else opps[:1]:
                        if rnd.random() < 0.4:
                            ev.append(
                                Event(
                                    name="engagement.details",
                                    ts=t + 1,
                                    user_id=uid,
                                    attrs={"opportunity_id": o, "button": "details"},
                                )
                            )
    return ev


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def expected(events: list[Event], d: date, as_of: float) -> dict[str, Any]:
    """The overview of day ``d`` as known at ``as_of``, computed without DuckDB."""
    on_d = [e for e in events if _day(e.ts) == d]
    active: dict[date, set[int]] = defaultdict(set)
    for e in events:
        if e.name.split(".")[0] in ("session", "audit") and e.user_id is not None:
            active[_day(e.ts)].add(e.user_id)
    first: dict[int, date] = {}
    for e in sorted(events, key=lambda e: e.ts):
        if e.name == "session.started" and e.user_id is not None:
            first.setdefault(e.user_id, _day(e.ts))
    ended = [e for e in on_d if e.name in ("session.expired", "session.terminated")]

    # The onboarding cohort of the day: each starter's outcome within a day of their start.
    steps = sorted(
        (e for e in events if e.name == "onboarding.step" and e.ts < as_of), key=lambda e: e.ts
    )
    start: dict[int, float] = {}
    for e in steps:
        if e.attrs["step"] == "welcome" and _day(e.ts) == d and e.user_id is not None:
            start.setdefault(e.user_id, e.ts)
    outcome: dict[int, str] = {}
    for uid, at in start.items():
        ends = [
            str(e.attrs["action"])
            for e in steps
            if e.user_id == uid
            and at <= e.ts < at + DAY
            and e.attrs["action"] in ("completed", "skipped")
        ]
        outcome[uid] = ends[0] if ends else ("in_progress" if at + DAY > as_of else "abandoned")

    dist = [e for e in on_d if e.name.startswith("distribution.")]
    sent = [e for e in dist if e.name == "distribution.sent"]
    alerts = [e for e in sent if e.attrs["kind"] == "send" and e.attrs["items"]]
    rejected = [e for e in dist if e.name == "distribution.rejected"]
    count = {k: sum(e.name == f"distribution.{k}" for e in dist) for k in OUTCOME_KEYS}
    count["sent"] = len(alerts)
    count["edited"] = sum(e.attrs["kind"] == "edit" for e in sent)
    count["other_sent"] = sum(not e.attrs["items"] for e in sent)
    count["rejected"] = sum(int(str(e.attrs["users"])) for e in rejected)
    layers: dict[int, int] = defaultdict(int)
    for e in rejected:
        layers[int(str(e.attrs["layer"]))] += int(str(e.attrs["users"]))
    lat = [float(str(e.attrs["detection_latency_ms"])) for e in alerts]
    delivered = {
        (e.user_id, o) for e in alerts for o in str(e.attrs["opportunity_ids"]).split(",")
    } | {(e.user_id, e.attrs["opportunity_id"]) for e in dist if e.name == "distribution.shown"}
    clicks = {(e.user_id, e.attrs["opportunity_id"]) for e in events if e.name.startswith("eng")}
    lengths = [float(e.attrs["length_s"]) for e in ended]  # type: ignore[arg-type]
    return {
        "dau": len(active[d]),
        "wau": len(set().union(*(active[d - timedelta(days=k)] for k in range(7)))),
        "new": sum(f == d for f in first.values()),
        "started": sum(e.name == "session.started" for e in on_d),
        "expired": sum(e.name == "session.expired" for e in on_d),
        "terminated": sum(e.name == "session.terminated" for e in on_d),
        "median_min": round(statistics.median(lengths) / 60, 2) if lengths else None,
        "commands": round(statistics.fmean(int(str(e.attrs["commands"])) for e in ended), 2)
        if ended
        else None,
        "ob_started": len(start),
        **{
            f"ob_{k}": sum(o == k for o in outcome.values())
            for k in ("completed", "skipped", "in_progress", "abandoned")
        },
        "count": count,
        "layers": dict(sorted(layers.items())),
        "latency": [round(float(np.percentile(lat, q)), 2) for q in (50, 95, 99)] if lat else None,
        "delivered": len(delivered),
        "clicked": len(delivered & clicks),
    }


OUTCOME_KEYS = OUTCOMES  # the names the reply uses; their values are computed here


def _f(s: str) -> float | None:
    return None if s == "n/a" else float(s.replace(",", ""))


def parse(text: str) -> dict[str, Any]:
    """The figures of the reply's report section."""

    def grab(pattern: str) -> tuple[str, ...]:
        m = re.search(pattern, text)
        assert m, f"{pattern!r} not in:\n{text}"
        return m.groups()

    dau, wau, new = grab(r"DAU (\d+), WAU (\d+), new (\d+)")
    started, expired, terminated = grab(r"started (\d+), expired (\d+), terminated (\d+)")
    median, commands = grab(r"median (n/a|[\d.,]+)(?: min)?, commands/session (n/a|[\d.,]+)")
    ob = grab(
        r"Onboarding: started (\d+), completed (\d+).*skipped (\d+), "
        r"in progress (\d+), abandoned (\d+)"
    )
    dist = dict(re.findall(r"(\w+) (\d+)", grab(r"Distribution: (.*)")[0]))
    layers_text = grab(r"Users refused by layer: (.*)")[0]
    layers = {int(k): int(v) for k, v in re.findall(r"L(\d+) (\d+)", layers_text)}
    lat = grab(r"p50 (n/a|[\d.,]+), p95 (n/a|[\d.,]+), p99 (n/a|[\d.,]+)")
    delivered, clicked = grab(r"delivered (\d+), clicked (\d+)")
    return {
        "dau": int(dau),
        "wau": int(wau),
        "new": int(new),
        "started": int(started),
        "expired": int(expired),
        "terminated": int(terminated),
        "median_min": _f(median),
        "commands": _f(commands),
        "ob_started": int(ob[0]),
        "ob_completed": int(ob[1]),
        "ob_skipped": int(ob[2]),
        "ob_in_progress": int(ob[3]),
        "ob_abandoned": int(ob[4]),
        "count": {k: int(v) for k, v in dist.items()},
        "layers": layers,
        "latency": None if lat[0] == "n/a" else [_f(x) for x in lat],
        "delivered": int(delivered),
        "clicked": int(clicked),
    }


async def sink_to_parquet(botenv: BotEnv, events: list[Event]) -> None:
    """The production path: the bot's event log to the stream, the sink to Parquet."""
    log = RedisEventLog(botenv.services.redis, flush_max_events=50)
    for e in events:
        log.emit(e)
    await log.flush()
    sink, _ = make_sink(
        botenv.services.redis, Path(botenv.services.settings.analytics.root), batch_max_rows=40
    )
    await sink.drain()
    assert sink.stats.events_written == len(events)


async def admin_stats(botenv: BotEnv, arg: str = "") -> str:
    await botenv.send(ADMIN, f"/admin_stats {arg}".strip())
    text: str = (await botenv.last(ADMIN))["text"]
    return text


async def test_admin_stats_figures_equal_an_independent_computation(botenv: BotEnv) -> None:
    """Live Redis figures stay; the report figures for today and for an earlier day (given as an
    argument) equal plain Python over every event, including those the bot itself emitted."""
    botenv.clock.set(T0 + 3 * DAY + 20 * 3600)
    for uid in (101, 102, ADMIN):
        await botenv.send(uid, "/start")
    log = botenv.services.events
    assert isinstance(log, MemoryEventLog)
    events = history() + list(log.events)
    await sink_to_parquet(botenv, events)

    text = await admin_stats(botenv)
    assert "Active sessions: 3" in text
    assert "Sessions started today: 3" in text
    now = botenv.clock.now()
    want = expected(events, TODAY, now)
    assert want["dau"] > 3 and want["delivered"] > 0 and want["clicked"] > 0  # data is there
    assert want["ob_in_progress"] > 0 and want["count"]["rejected"] > 0
    assert parse(text) == want

    earlier = TODAY - timedelta(days=2)
    text = await admin_stats(botenv, earlier.isoformat())
    assert f"Reports for {earlier} (UTC)" in text
    assert parse(text) == expected(events, earlier, now)


async def test_admin_stats_says_there_is_no_parquet_yet(botenv: BotEnv) -> None:
    """An empty lake is reported in words, and the live figures are still shown."""
    await botenv.send(ADMIN, "/start")
    text = await admin_stats(botenv)
    assert "Active sessions: 1" in text
    assert "Unavailable: no Parquet files under" in text
    assert "DAU" not in text


async def test_admin_stats_reports_a_failing_query_instead_of_failing(botenv: BotEnv) -> None:
    """A file DuckDB cannot read turns into an explanation in the reply, not an error."""
    await botenv.send(ADMIN, "/start")
    storage = Storage.local(botenv.services.settings.analytics.root, fsync=False)
    storage.fs.create_dir(storage.path("session/dt=2026-01-01/hour=00"))
    with storage.fs.open_output_stream(
        storage.path("session/dt=2026-01-01/hour=00/part-junk.parquet")
    ) as out:
        out.write(b"not parquet at all")
    text = await admin_stats(botenv)
    assert "Active sessions: 1" in text
    assert "Unavailable: " in text and "Exception" in text


@pytest.mark.parametrize("arg", ["yesterday", "2026-13-01"])
async def test_admin_stats_explains_its_usage_for_a_bad_day(botenv: BotEnv, arg: str) -> None:
    """Only an ISO date is accepted as the day."""
    await botenv.send(ADMIN, "/start")
    assert (await admin_stats(botenv, arg)).startswith("Usage: /admin_stats")
