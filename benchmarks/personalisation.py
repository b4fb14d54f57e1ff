"""Offline evaluation of per-user relevance: learned ranking against the unpersonalised order.

    python -m benchmarks.personalisation [--users 400] [--days 14] [--lake var/demo/analytics]

A replay with a held-out time split: the logged events of the first `train` share of days are
replayed through the relevance model (`core.personalisation.model.update`, the arithmetic the
Redis script runs; `tests/core/personalisation/test_store.py` holds the two together), and each
digest of the later days is ordered twice, best first (priority, profit: what users get without
personalisation) and by learned relevance. The metric is clicks among the first `top` items of
a digest, per digest; the lift's 95% interval is a bootstrap over users.

(a) Synthetic population: each user has hidden tastes (types, pairs, exchanges); the generator
knows every click probability, so the expected clicks of both orders and of the best possible
order (by true probability) are computed exactly: the lift there is to find is known.
(b) The demo's lake (`arbcast demo` writes it): its `distribution.sent` digests, with the
opportunities' features from `opportunity.lifecycle`, and its Details presses, votes and mutes.
A lake with too few presses to split is reported as such, not scored.

Clicks in the synthetic logs do not depend on an item's position (every item of a digest is
seen), so scoring a reordered held-out digest by its logged clicks is unbiased. On a real lake
users read the top of a message more, so logged clicks favour whichever order was logged, and
the replay favours it too; inverse-propensity weighting with logged propensities would remove
that (not done: nothing logs propensities yet).

The JSON line's value is the learned lift on (a) in clicks per 100 digests, its baseline the
unpersonalised clicks; "met" when the interval's lower end is above 0.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.report import table
from core.models import Opportunity, OpportunityType, Priority
from core.models.opportunity import best_first
from core.personalisation.features import features
from core.personalisation.model import Step, relevance, update
from core.personalisation.settings import PersonalisationSettings

S = PersonalisationSettings()
STEP = Step(S.learning_rate, S.tier_learning_rate, S.regularisation)
PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "ADA/USDT")
EXCHANGES = ("binance", "okx", "bybit", "kraken")
T0 = 1_767_225_600.0


@dataclass
class Digest:
    user: int
    at: float
    items: list[Opportunity]
    clicked: set[str] = field(default_factory=set)
    p_true: dict[str, float] = field(default_factory=dict)  # synthetic only


@dataclass
class Result:
    name: str
    digests: int
    baseline: float  # clicks in the top per 100 digests
    learned: float
    best: float | None  # synthetic: by true probability
    lift: float
    low: float
    high: float
    note: str = ""


def _opp(rnd: random.Random, i: int, at: float) -> Opportunity:
    buy, sell = rnd.sample(EXCHANGES, 2)
    profit = round(rnd.uniform(0.1, 2.5), 3)
    return Opportunity(
        opportunity_id=f"o{i}", type=rnd.choice(list(OpportunityType)), symbol=rnd.choice(PAIRS),
        buy_exchange=buy, sell_exchange=sell, buy_price=100.0, sell_price=101.0,
        net_spread_pct=profit, expected_profit_pct=profit, confidence=rnd.uniform(0.5, 0.95),
        priority=rnd.choice([Priority.MEDIUM, Priority.LOW]), detected_at=at, updated_at=at,
        expires_at=at + 3600,
    )  # fmt: skip


def synthetic(users: int, days: int, per_day: int, size: int, seed: int) -> list[Digest]:
    """Digests of `size` items, `per_day` a day per user, clicked as each user's tastes say."""
    rnd = random.Random(seed)
    out: list[Digest] = []
    n = 0
    for u in range(1, users + 1):
        taste = {f"t:{t.value}": rnd.gauss(0, 1.2) for t in OpportunityType}
        taste |= {f"p:{p}": rnd.gauss(0, 0.8) for p in PAIRS}
        taste |= {f"x:{x}": rnd.gauss(0, 0.4) for x in EXCHANGES}
        for d in range(days):
            for k in range(per_day):
                at = T0 + d * 86_400 + (k + 0.5) * 86_400 / per_day
                items = [_opp(rnd, n + j, at) for j in range(size)]
                n += size
                dg = Digest(u, at, items)
                for o in items:
                    z = (
                        -2.0
                        + 0.3 * o.expected_profit_pct
                        + sum(taste.get(f, 0.0) for f in features(o, at))
                    )
                    p = 1 / (1 + math.exp(-z))
                    dg.p_true[o.opportunity_id] = p
                    if rnd.random() < p:
                        dg.clicked.add(o.opportunity_id)
                out.append(dg)
    return out


def _baseline(items: Sequence[Opportunity]) -> list[Opportunity]:
    return sorted(
        items,
        key=lambda o: best_first(o.priority, o.expected_profit_pct, o.confidence, o.opportunity_id),
    )


def train(digests: Sequence[Digest]) -> tuple[dict[int, dict[str, float]], dict[str, float]]:
    """Replay: a Details press teaches 1, an item left unopened 0 (their settings' weights)."""
    users: dict[int, dict[str, float]] = defaultdict(dict)
    tier: dict[str, float] = {}
    for dg in sorted(digests, key=lambda d: d.at):
        for o in dg.items:
            feats = features(o, dg.at)
            if o.opportunity_id in dg.clicked:
                update(feats, 1.0, S.weight_details, users[dg.user], tier, STEP)
            else:
                update(feats, 0.0, S.weight_unopened, users[dg.user], tier, STEP)
    return users, tier


def evaluate(
    name: str, digests: Sequence[Digest], split: float, top: int, reps: int, seed: int,
    note: str = "",
) -> Result:  # fmt: skip
    ordered = sorted(digests, key=lambda d: d.at)
    cut = ordered[0].at + split * (ordered[-1].at - ordered[0].at)
    users, tier = train([d for d in ordered if d.at < cut])
    test = [d for d in ordered if d.at >= cut]
    synthetic_p = bool(test and test[0].p_true)

    def gain(dg: Digest, order: list[Opportunity]) -> float:
        head = order[:top]
        if synthetic_p:
            return sum(dg.p_true[o.opportunity_id] for o in head)
        return float(sum(o.opportunity_id in dg.clicked for o in head))

    per_user: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
    for dg in test:
        w = users.get(dg.user, {})
        learned = sorted(dg.items, key=lambda o: -relevance(features(o, dg.at), w, tier))
        oracle = sorted(dg.items, key=lambda o: -dg.p_true.get(o.opportunity_id, 0.0))
        per_user[dg.user].append(
            (gain(dg, _baseline(dg.items)), gain(dg, learned), gain(dg, oracle))
        )
    ids = sorted(per_user)

    def means(sample: Sequence[int]) -> tuple[float, float, float]:
        rows = [r for u in sample for r in per_user[u]]
        n = max(1, len(rows))
        b, lrn, top = (100 * sum(r[i] for r in rows) / n for i in range(3))
        return b, lrn, top

    b, lrn, best = means(ids)
    rnd = random.Random(seed)
    lifts = sorted(
        (lambda m: m[1] - m[0])(means([rnd.choice(ids) for _ in ids])) for _ in range(reps)
    )
    lo, hi = lifts[int(0.025 * reps)], lifts[int(0.975 * reps) - 1]
    return Result(name, len(test), b, lrn, best if synthetic_p else None, lrn - b, lo, hi, note)


def from_lake(root: Path) -> tuple[list[Digest], str]:
    """The demo lake's pushed digests with what each user pressed on them."""
    from analytics.duck import connect
    from analytics.storage import Storage

    if not root.exists():
        return [], f"no lake at {root}: run `arbcast demo` first"
    con = connect(Storage.local(root))
    opps: dict[str, Opportunity] = {}
    rows = con.execute(
        "SELECT opportunity_id, arg_max(type, ts), arg_max(symbol, ts), arg_max(buy, ts), "
        "arg_max(sell, ts), arg_max(net_spread_pct, ts), arg_max(confidence, ts), "
        "arg_max(priority, ts), min(epoch(ts)) FROM opportunity "
        "WHERE name = 'opportunity.lifecycle' AND symbol IS NOT NULL GROUP BY 1"
    ).fetchall()
    for oid, kind, sym, buy, sell, spread, conf, prio, at in rows:
        opps[oid] = Opportunity(
            opportunity_id=oid, type=kind, symbol=sym, buy_exchange=buy or "",
            sell_exchange=sell or "", buy_price=1.0, sell_price=1.0, net_spread_pct=spread or 0.0,
            expected_profit_pct=spread or 0.0, confidence=conf or 0.5,
            priority=prio or "medium", detected_at=at, updated_at=at, expires_at=at + 3600,
        )  # fmt: skip
    sent = con.execute(
        "SELECT user_id, epoch(ts), opportunity_ids FROM distribution "
        "WHERE name = 'distribution.sent' AND kind = 'send' AND user_id IS NOT NULL "
        "AND opportunity_ids IS NOT NULL"
    ).fetchall()
    pressed = con.execute(
        "SELECT user_id, opportunity_id FROM engagement "
        "WHERE name = 'engagement.details' AND user_id IS NOT NULL"
    ).fetchall()
    con.close()
    clicks = {(int(u), str(o)) for u, o in pressed}
    digests = []
    for uid, at, ids in sent:
        items = [opps[i] for i in str(ids).split(",") if i in opps]
        if items:
            dg = Digest(int(uid), float(at), items)
            dg.clicked = {o.opportunity_id for o in items if (int(uid), o.opportunity_id) in clicks}
            digests.append(dg)
    multi = [d for d in digests if len(d.items) > 1]
    n_clicks = sum(len(d.clicked) for d in digests)
    note = (
        f"{len(sent)} pushed messages, {len(digests)} of them with their opportunities' "
        f"features in the lake (opportunity.lifecycle), {len(multi)} of those with 2+ items; "
        f"{n_clicks} Details presses on them, {len(pressed)} in all"
    )
    return multi, note


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=400)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--per-day", type=int, default=3)
    ap.add_argument("--size", type=int, default=8, help="items per digest")
    ap.add_argument("--top", type=int, default=3, help="the first items scored")
    ap.add_argument("--split", type=float, default=0.7, help="share of time used to train")
    ap.add_argument("--bootstrap", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--lake", type=Path, default=Path("var/demo/analytics"))
    a = ap.parse_args(argv)
    syn = evaluate(
        "synthetic", synthetic(a.users, a.days, a.per_day, a.size, a.seed),
        a.split, a.top, a.bootstrap, a.seed,
        f"{a.users} users × {a.days} days × {a.per_day} digests of {a.size}",
    )  # fmt: skip
    results = [syn]
    lake, note = from_lake(a.lake)
    users = {d.user for d in lake}
    clicked = sum(len(d.clicked) for d in lake)
    if len(users) >= 2 and clicked >= 20:
        results.append(evaluate("demo lake", lake, a.split, a.top, a.bootstrap, a.seed, note))
    else:
        results.append(
            Result("demo lake", len(lake), math.nan, math.nan, None, math.nan, math.nan,
                   math.nan, f"not scored: too few presses to learn from ({note})")
        )  # fmt: skip
    table(
        f"Clicks in the first {a.top} of a digest, per 100 held-out digests (bootstrap 95% CI)",
        ["population", "digests", "unpersonalised", "learned", "best possible", "lift",
         "lift 95% CI"],
        [
            (r.name, r.digests, r.baseline, r.learned, "—" if r.best is None else r.best,
             r.lift, f"[{r.low:.2f}, {r.high:.2f}]")
            for r in results
        ],
    )  # fmt: skip
    for r in results:
        print(f"{r.name}: {r.note}")
    _emit_line(syn, met=syn.low > 0)
    return 0


def _emit_line(syn: Result, *, met: bool) -> None:
    """`benchmarks.report`'s line, with the lift's interval and the best possible beside it."""
    print(
        json.dumps(
            {
                "benchmark": "personalisation",
                "metric": "synthetic_learned_clicks_per_100_digests",
                "value": round(syn.learned, 3),
                "unit": "clicks/100 digests",
                "baseline": round(syn.baseline, 3),
                "ratio": round(syn.learned / syn.baseline, 3) if syn.baseline else None,
                "target": "lift 95% CI above 0",
                "met": met,
                "lift_ci": [round(syn.low, 3), round(syn.high, 3)],
                "best_possible": None if syn.best is None else round(syn.best, 3),
                "machine": f"{platform.machine()} {platform.python_version()}",
                "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            }
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
