"""Micro-benchmark of the columnar eligibility path (wired into benchmarks/ by the lead).

``run(n_users=100_000) -> dict`` builds a shard of random recipients and times `evaluate` for one
opportunity; it prints nothing and asserts nothing about speed.
"""

from __future__ import annotations

import random
import time
from typing import Any

from core.distribution.caps import Counters
from core.distribution.columns import ShardColumns, evaluate
from core.distribution.eligibility import ChatContext, Policy, RecipientState
from core.distribution.settings import DistributionSettings
from core.models import (
    Opportunity,
    OpportunityType,
    Preferences,
    Priority,
    SessionState,
    Tier,
    UserProfile,
    UserSession,
)
from core.settings import Settings

_EXCHANGES = ["binance", "okx", "bybit", "kraken", "kucoin", "gate", "mexc", "bitget"]
_PAIRS = [f"{c}/USDT" for c in ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "AVAX", "LINK")]
_ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Singapore", "Asia/Kolkata"]


def bench_policy() -> Policy:
    """The product's own tier table (`Settings().tiers`, one table for code and benchmarks),
    with one blocked region so that layer 6 has work to do."""
    return Policy(Settings().tiers, DistributionSettings(blocked_regions=frozenset({"KP"})))


def random_recipients(
    n_users: int,
    now: float,
    seed: int = 1,
    *,
    tiers: tuple[Tier, ...] = tuple(Tier),
    group_share: float = 0.02,
) -> list[tuple[RecipientState, ChatContext]]:
    """Seeded users with the mix the benchmarks use: ~90% with an active session, a few muted
    pairs, some DND, several timezones and regions, and ~`group_share` of them as groups."""
    rng = random.Random(seed)
    out: list[tuple[RecipientState, ChatContext]] = []
    for uid in range(1, n_users + 1):
        session = UserSession(
            session_id=str(uid),
            user_id=uid,
            state=SessionState.ACTIVE if rng.random() < 0.9 else SessionState.EXPIRED,
            created_at=now - 86_400,
            last_activity=now - 60,
            expires_at=now + rng.uniform(-86_400, 6 * 86_400),
        )
        prefs = Preferences(
            push_enabled=rng.random() < 0.95,
            muted_pairs=frozenset(rng.sample(_PAIRS, rng.choice([0, 0, 0, 1, 2]))),
            min_profit_pct=rng.choice([0.0, 0.0, 0.3, 1.0]),
            timezone=rng.choice(_ZONES),
            active_hours=rng.choice([(0, 24), (0, 24), (8, 22), (22, 6)]),
            dnd_until=now + 600 if rng.random() < 0.05 else None,
        )
        profile = UserProfile(
            user_id=uid,
            tier=rng.choice(tiers),
            preferences=prefs,
            exchanges=frozenset(rng.sample(_EXCHANGES, rng.choice([0, 0, 3, 5]))),
            region=rng.choice(["", "DE", "US", "KP"]),
        )
        counters = Counters.of(now, rng.randint(0, 6), rng.randint(0, 3), now - rng.uniform(0, 1e5))
        group = rng.random() < group_share
        ctx = ChatContext.group(-uid) if group else ChatContext.private(uid)
        out.append((RecipientState(profile, session, counters), ctx))
    return out


def build(n_users: int, now: float, seed: int = 1) -> ShardColumns:
    cols = ShardColumns(bench_policy())
    for state, ctx in random_recipients(n_users, now, seed):
        cols.upsert(state, ctx)
    return cols


def bench_opportunity(now: float) -> Opportunity:
    """The one opportunity the eligibility benchmarks evaluate for every user."""
    return Opportunity(
        opportunity_id="bench",
        type=OpportunityType.ARBITRAGE,
        symbol="BTC/USDT",
        buy_exchange="binance",
        sell_exchange="okx",
        buy_price=100.0,
        sell_price=101.0,
        net_spread_pct=1.0,
        expected_profit_pct=0.8,
        confidence=0.9,
        priority=Priority.MEDIUM,
        detected_at=now - 600,
        updated_at=now - 600,
        expires_at=now + 900,
    )


def run(n_users: int = 100_000, repeats: int = 20) -> dict[str, Any]:
    now = 1_767_225_600.0 + 12 * 3600
    t0 = time.perf_counter()
    cols = build(n_users, now)
    built = time.perf_counter() - t0
    opp = bench_opportunity(now)
    evaluate(cols, opp, now)  # warm-up (timezone table)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        mask, rejected = evaluate(cols, opp, now)
        times.append(time.perf_counter() - t)
    times.sort()
    return {
        "n_users": n_users,
        "build_seconds": round(built, 3),
        "evaluate_ms_median": round(1000 * times[len(times) // 2], 3),
        "evaluate_ms_min": round(1000 * times[0], 3),
        "eligible": int(mask.sum()),
        "rejected": dict(sorted(rejected.items())),
    }


if __name__ == "__main__":
    print(run())
