"""Fan-out of one opportunity to 100,000 active users: who may get it pushed, now?

    python -m benchmarks.fanout [--users 100000] [--repeats 20]

Value: the columnar path, `core.distribution.columns.evaluate` over one `ShardColumns` holding
every user (the six eligibility layers vectorised with numpy), median of --repeats runs after a
warm-up; plus turning the mask into chat ids (`eligible_chat_ids`).

Baseline, same users, same run: the per-user loop a naive distributor would do. Every user's
profile and session are real hashes in a real (embedded) Redis, in arbcast's key layout; the
loop reads them with two HGETALL per user, pipelined 1,000 users at a time, decodes them with the
stores' own decoders and calls the scalar `eligibility.explain` per user. Rate-limit counters
come from memory on both sides. Both sides must find the same eligible users.

Target: <= 0.5 s for 100,000 users.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.population import bench_opportunity, bench_policy, random_recipients
from benchmarks.report import emit, table
from core.distribution.caps import Counters
from core.distribution.columns import ShardColumns, eligible_chat_ids, evaluate
from core.distribution.eligibility import ChatContext, Policy, RecipientState, explain
from core.models import (
    Opportunity,
    Tier,
    UserProfile,
    UserSession,
)
from core.profiles import profile_from_hash
from core.sessions.store import session_from_hash
from core.store import keys
from core.store.client import connect
from core.store.embedded import EmbeddedRedis
from core.store.keys import ProfileFields as P
from core.store.keys import SessionFields as S

TARGET_S = 0.5
NOW = 1_767_225_600.0 + 12 * 3600
_TIERS = (Tier.FREE, Tier.BASIC, Tier.PREMIUM, Tier.ENTERPRISE)


def opportunity() -> Opportunity:
    return bench_opportunity(NOW)


def users(n: int, seed: int = 1) -> list[RecipientState]:
    """n private-chat recipients, the same mix as `benchmarks.population` (no SuperAdmins)."""
    return [state for state, _ in random_recipients(n, NOW, seed, tiers=_TIERS, group_share=0.0)]


def _profile_hash(p: UserProfile) -> dict[str, str]:
    prefs = p.preferences
    return {
        P.NAME: f"user {p.user_id}",
        P.TIER: p.tier.value,
        P.PUSH: "1" if prefs.push_enabled else "0",
        P.TYPES: ",".join(sorted(t.value for t in prefs.opportunity_types)),
        P.MUTED_PAIRS: ",".join(sorted(prefs.muted_pairs)),
        P.MIN_PROFIT: repr(prefs.min_profit_pct),
        P.TIMEZONE: prefs.timezone,
        P.ACTIVE_HOURS: f"{prefs.active_hours[0]}-{prefs.active_hours[1]}",
        P.DND_UNTIL: "" if prefs.dnd_until is None else repr(prefs.dnd_until),
        P.PIERCE_DND: "1" if prefs.high_priority_pierces_dnd else "0",
        P.EXCHANGES: ",".join(sorted(p.exchanges)),
        P.REGION: p.region,
    }


def _session_hash(s: UserSession) -> dict[str, str]:
    return {
        S.ID: s.session_id,
        S.USER: str(s.user_id),
        S.STATE: s.state.value,
        S.CREATED: repr(s.created_at),
        S.LAST_ACTIVITY: repr(s.last_activity),
        S.EXPIRES: repr(s.expires_at),
    }


async def _write(redis: Any, states: list[RecipientState]) -> None:
    for lo in range(0, len(states), 2_000):
        async with redis.pipeline(transaction=False) as pipe:
            for st in states[lo : lo + 2_000]:
                assert st.session is not None
                pipe.hset(keys.user(st.profile.user_id), mapping=_profile_hash(st.profile))
                pipe.hset(keys.session(st.profile.user_id), mapping=_session_hash(st.session))
            await pipe.execute()


async def per_user_loop(
    redis: Any, ids: list[int], counters: dict[int, Counters], opp: Opportunity, pol: Policy
) -> set[int]:
    """The baseline: HGETALL profile + session per user (pipelined), decode, scalar explain."""
    eligible: set[int] = set()
    batch = 1_000
    for lo in range(0, len(ids), batch):
        chunk = ids[lo : lo + batch]
        async with redis.pipeline(transaction=False) as pipe:
            for uid in chunk:
                pipe.hgetall(keys.user(uid))
                pipe.hgetall(keys.session(uid))
            raws = await pipe.execute()
        for i, uid in enumerate(chunk):
            profile = profile_from_hash(uid, raws[2 * i], frozenset())
            raw_s = raws[2 * i + 1]
            session = session_from_hash(uid, raw_s) if raw_s else None
            state = RecipientState(profile, session, counters[uid])
            if explain(state, opp, NOW, ChatContext.private(uid), policy=pol).eligible:
                eligible.add(uid)
    return eligible


def measure_columnar(states: list[RecipientState], repeats: int) -> dict[str, Any]:
    pol, opp = bench_policy(), opportunity()
    t0 = time.perf_counter()
    cols = ShardColumns(pol)
    for st in states:
        cols.upsert(st, ChatContext.private(st.profile.user_id))
    built = time.perf_counter() - t0
    evaluate(cols, opp, NOW)  # warm-up: the timezone table
    times, with_ids = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        mask, _rejected = evaluate(cols, opp, NOW)
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
        chat_ids, _ = eligible_chat_ids(cols, opp, NOW)
        with_ids.append(time.perf_counter() - t)
    return {
        "build_s": built,
        "evaluate_s": statistics.median(times),
        "evaluate_max_s": max(times),
        "with_ids_s": statistics.median(with_ids),
        "eligible": set(chat_ids),
        "n_eligible": int(mask.sum()),
    }


async def measure_baseline(states: list[RecipientState], redis_url: str) -> dict[str, Any]:
    redis = connect(redis_url)
    try:
        await redis.flushall()
        t0 = time.perf_counter()
        await _write(redis, states)
        written = time.perf_counter() - t0
        counters = {st.profile.user_id: st.counters for st in states}
        ids = [st.profile.user_id for st in states]
        t = time.perf_counter()
        eligible = await per_user_loop(redis, ids, counters, opportunity(), bench_policy())
        loop_s = time.perf_counter() - t
        await redis.flushall()
    finally:
        await redis.aclose()
    return {"write_s": written, "loop_s": loop_s, "eligible": eligible}


def measure(n: int = 100_000, repeats: int = 20) -> dict[str, Any]:
    states = users(n)
    col = measure_columnar(states, repeats)
    with tempfile.TemporaryDirectory(prefix="arbcast-fanout-", dir="/tmp") as tmp:
        with EmbeddedRedis(Path(tmp)) as server:
            base = asyncio.run(measure_baseline(states, server.url))
    if col["eligible"] != base["eligible"]:
        raise AssertionError(
            f"columnar and per-user loop disagree: {len(col['eligible'])} vs "
            f"{len(base['eligible'])} eligible"
        )
    return {"n": n, "columnar": col, "baseline": base}


def report(r: dict[str, Any]) -> dict[str, object]:
    n, col, base = r["n"], r["columnar"], r["baseline"]
    table(
        f"Fan-out: {n:,} users, one opportunity ({col['n_eligible']:,} eligible)",
        ["path", "seconds", "µs per user"],
        [
            ["columnar evaluate (median)", col["evaluate_s"], 1e6 * col["evaluate_s"] / n],
            ["columnar evaluate (worst)", col["evaluate_max_s"], 1e6 * col["evaluate_max_s"] / n],
            ["columnar evaluate + chat ids", col["with_ids_s"], 1e6 * col["with_ids_s"] / n],
            ["baseline: per-user HGETALL + explain", base["loop_s"], 1e6 * base["loop_s"] / n],
            ["(setup) columns built from states", col["build_s"], 1e6 * col["build_s"] / n],
            ["(setup) hashes written to Redis", base["write_s"], 1e6 * base["write_s"] / n],
        ],
    )
    return emit(
        "fanout",
        f"evaluate_s_{n}_users",
        col["evaluate_s"],
        "s",
        baseline=base["loop_s"],
        target=TARGET_S,
        higher_is_better=False,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--users", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    report(measure(args.users, args.repeats))


if __name__ == "__main__":
    main()
