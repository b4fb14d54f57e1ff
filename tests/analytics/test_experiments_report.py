"""The experiments report over a real Parquet lake read by DuckDB: its counts per variant equal
an independent count over the same events, its intervals and p-values equal textbook formulas
written out here, and a skewed split raises the sample-ratio warning while a fair one does not.
The statistics module is held to published values."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from analytics.duck import connect
from analytics.experiment_stats import chi_square_p, sample_size, two_proportions, wilson
from analytics.experiments_report import experiments_report
from analytics.reports import run_report
from analytics.sink import write_events
from analytics.storage import Storage
from core.events import Event
from core.experiments.assignment import variant_of
from core.experiments.settings import Experiment, Variant

T0 = 1_767_225_600.0
DAY = 86_400.0
EXP = Experiment(name="rank", variants=(Variant(name="control"), Variant(name="ranked")))
CTR = {"control": 0.10, "ranked": 0.16}


def population(users: int = 400, seed: int = 3, skew: bool = False) -> list[Event]:
    rnd = random.Random(seed)
    ev: list[Event] = []
    for uid in range(1, users + 1):
        v = variant_of(EXP, uid).name
        if skew and v == "ranked" and rnd.random() < 0.4:
            continue  # assignments of one arm lost: what broken logging looks like
        at = T0 + rnd.random() * 5 * DAY
        ev.append(Event(name="experiment.assigned", ts=at, user_id=uid,
                        attrs={"experiment": EXP.name, "variant": v}))  # fmt: skip
        for k in range(rnd.randint(1, 6)):
            t = at + 60 + k * 3600
            ev.append(Event(name="experiment.exposed", ts=t, user_id=uid,
                            attrs={"experiment": EXP.name, "variant": v}))  # fmt: skip
            items = rnd.randint(1, 4)
            ev.append(Event(name="distribution.sent", ts=t + 1, user_id=uid,
                            attrs={"kind": "send", "items": items}))  # fmt: skip
            for _ in range(items):
                if rnd.random() < CTR[v]:
                    attrs = {"opportunity_id": "o", "button": "details"}
                    ev.append(Event(name="engagement.details", ts=t + 30, user_id=uid, attrs=attrs))
            if rnd.random() < 0.05:
                ev.append(Event(name="engagement.mute_pair", ts=t + 40, user_id=uid,
                                attrs={"opportunity_id": "o", "button": "mute_pair"}))  # fmt: skip
        # before assignment: not counted
        ev.append(Event(name="engagement.details", ts=at - 10, user_id=uid,
                        attrs={"opportunity_id": "o", "button": "details"}))  # fmt: skip
        if rnd.random() < (0.5 if v == "ranked" else 0.4):
            ev.append(Event(name="session.started", ts=at + 8 * DAY, user_id=uid,
                            session_id=f"s{uid}", attrs={"source": "start"}))  # fmt: skip
    return ev


def oracle(events: list[Event], now: float) -> dict[str, dict[str, int]]:
    at = {e.user_id: (e.ts, str(e.attrs["variant"])) for e in events
          if e.name == "experiment.assigned"}  # fmt: skip
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for uid, (t, v) in at.items():
        out[v]["users"] += 1
        due = t + 7 * DAY <= now
        out[v]["due"] += due
        back = False
        for e in events:
            if e.user_id != uid or e.ts < t:
                continue
            out[v]["exposures"] += e.name == "experiment.exposed"
            out[v]["alerts"] += (
                int(e.attrs.get("items") or 0) if e.name == "distribution.sent" else 0
            )
            out[v]["clicks"] += e.name == "engagement.details"
            out[v]["mutes"] += e.name == "engagement.mute_pair"
            back |= e.name == "session.started" and e.ts >= t + 7 * DAY
        out[v]["back"] += due and back
    return out


def _report(tmp: Path, events: list[Event]) -> list[dict[str, Any]]:
    storage = Storage.local(tmp, fsync=False)
    write_events(storage, events)
    con = connect(storage)
    now = datetime.fromtimestamp(T0 + 30 * DAY, UTC)
    report = run_report(con, "experiments", as_of=now)
    con.close()
    return [dict(zip(report.columns, r, strict=True)) for r in report.rows]


def test_the_report_agrees_with_an_independent_count_and_gives_intervals(tmp_path: Path) -> None:
    events = population()
    rows = {str(r["variant"]): r for r in _report(tmp_path, events)}
    want = oracle(events, T0 + 30 * DAY)
    assert set(rows) == {"control", "ranked"}
    for v, r in rows.items():
        w = want[v]
        assert (r["users"], r["exposures"], r["alerts"], r["clicks"], r["mutes"]) == (
            w["users"], w["exposures"], w["alerts"], w["clicks"], w["mutes"],
        )  # fmt: skip
        assert r["retained_7d_pct"] == pytest.approx(100 * w["back"] / w["due"], abs=0.01)
        # Wilson's interval, written out.
        n, c, z = w["alerts"], w["clicks"], 1.959964
        p = c / n
        mid, half = (p + z * z / (2 * n)), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        assert r["ctr_low"] == pytest.approx(100 * (mid - half) / (1 + z * z / n), abs=1e-3)
        assert r["ctr_high"] == pytest.approx(100 * (mid + half) / (1 + z * z / n), abs=1e-3)
    c0, t1 = want["control"], want["ranked"]
    p0, p1 = c0["clicks"] / c0["alerts"], t1["clicks"] / t1["alerts"]
    half = 1.959964 * math.sqrt(p0 * (1 - p0) / c0["alerts"] + p1 * (1 - p1) / t1["alerts"])
    r = rows["ranked"]
    assert r["diff_pp"] == pytest.approx(100 * (p1 - p0), abs=1e-3)
    assert (r["diff_low"], r["diff_high"]) == pytest.approx(
        (100 * (p1 - p0 - half), 100 * (p1 - p0 + half)), abs=1e-3
    )
    assert r["diff_low"] > 0  # the generator's +6 points is found
    assert r["test"] and r["n_needed"] and r["p_value"] < 0.05
    assert rows["control"]["control"] and rows["control"]["diff_pp"] is None
    assert not r["warning"] and r["srm_p"] > 0.001


def test_a_skewed_split_raises_the_sample_ratio_warning(tmp_path: Path) -> None:
    rows = _report(tmp_path, population(skew=True))
    assert all("sample ratio mismatch" in str(r["warning"]) for r in rows)


def test_the_statistics_match_published_values() -> None:
    """Textbook figures: two-proportion z for 200/1000 vs 250/1000 (z 2.68, p 0.0074); n per arm
    to detect 10% -> 12% at alpha 0.05, power 0.8 (3,841); chi-square 4 on 1 df (p 0.0455) and
    10 on 2 df (p e^-5); Wilson for 5/100 (0.0215, 0.1118)."""
    d = two_proportions(200, 1000, 250, 1000)
    assert d is not None and d.z == pytest.approx(2.68, abs=0.01)
    assert d.p_value == pytest.approx(0.0074, abs=0.0002)
    assert sample_size(0.10, 0.12) == 3841
    assert chi_square_p([60, 40], [1, 1]) == pytest.approx(0.0455, abs=1e-4)
    assert chi_square_p([10, 20, 30], [1, 1, 1]) == pytest.approx(math.exp(-5), rel=1e-9)
    assert wilson(5, 100) == pytest.approx((0.0215, 0.1118), abs=1e-4)
    assert two_proportions(0, 0, 1, 1) is None and sample_size(0.1, 0.1) is None


def test_the_sample_ratio_check_uses_the_declared_split(tmp_path: Path) -> None:
    """A fair 50/50 assignment checked against a declared 90/10 split is flagged."""
    storage = Storage.local(tmp_path, fsync=False)
    write_events(storage, population())
    con = connect(storage)
    declared = {EXP.name: {"control": 9.0, "ranked": 1.0}}
    report = experiments_report(con, splits=declared)
    con.close()
    assert all("sample ratio mismatch" in r[-1] for r in report.rows)
