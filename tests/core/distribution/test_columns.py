"""The columnar fast path: exact agreement with `explain` (row by row, first failing reason),
O(1) row maintenance, counters and DST-exact timezone offsets."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.distribution.caps import Counters
from core.distribution.columns import (
    ShardColumns,
    count_by_layer,
    eligible_chat_ids,
    evaluate,
    evaluate_reasons,
)
from core.distribution.eligibility import ChatContext, Policy, Reason, RecipientState, first_failure
from core.distribution.timezones import (
    TzTable,
    in_active_hours,
    local_hour,
    utc_offset_minutes,
)
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

from .factories import T0, opportunity, policy, recipient

EXCHANGES = ["binance", "okx", "kraken", "bybit"]
PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "Pacific/Chatham",
    "Nowhere/Unknown",
]
REGIONS = ["", "US", "de", "KP"]
POLICY = policy(blocked_regions=frozenset({"us", "kp"}))

# Times near T0, on and next to hour boundaries, and around the 2026 DST changes.
DST_2026 = [1_772_953_200, 1_774_746_000, 1_792_386_000, 1_793_502_000]
hour_starts = st.one_of(
    st.tuples(st.sampled_from(DST_2026), st.integers(-48, 48)).map(lambda t: t[0] + 3600 * t[1]),
    st.integers(0, 400 * 24).map(lambda h: int(T0) + 3600 * h),
)
# Local hours change at :00, :15 (Kathmandu), :30 (Kolkata, Adelaide) and :45 (Chatham) UTC.
deltas = st.sampled_from(
    [0, 0.5, 1, 59, 899, 899.5, 900, 1799, 1800, 2699.5, 2700, 3540, 3599, 3599.5]
)
nows = st.tuples(hour_starts, st.one_of(deltas, deltas, deltas, st.floats(0, 3599.99))).map(
    lambda t: float(t[0] + t[1])
)
offsets = st.sampled_from([-1e9, -86400.0, -3600.0, -300.0, -1.0, 0.0, 0.5, 1.0, 3600.0, 1e9])
gaps = st.sampled_from([0.0, 0.5, 59.5, 60.0, 599.0, 600.0, 3599.5, 3600.0, 14399.0, 14400.0, 1e9])
subsets = st.frozensets(st.sampled_from(EXCHANGES), max_size=3)


def usually(draw: st.DrawFn, good: Any, bad: st.SearchStrategy[Any]) -> Any:
    """Mostly the value that passes, so that rows reach the later layers."""
    return draw(bad) if draw(st.integers(0, 99)) < 15 else good


@st.composite
def recipients(draw: st.DrawFn, now: float) -> tuple[RecipientState, ChatContext]:
    session = usually(draw, "ok", st.sampled_from([None, "state", "expiry"]))
    sess = None
    if session is not None:
        sess = UserSession(
            session_id="s",
            user_id=1,
            state=SessionState.ACTIVE
            if session != "state"
            else draw(st.sampled_from(SessionState)),
            created_at=now - 10,
            last_activity=now - 5,
            expires_at=now + (1e6 if session == "ok" else draw(offsets)),
        )
    zone = draw(st.sampled_from(ZONES))
    # Windows opening or closing at the local hour of `now` (or next to it) test the edges.
    h = local_hour(now, utc_offset_minutes(zone, now))
    edge = st.tuples(st.sampled_from([h - 1, h, h + 1]), st.integers(-23, 23)).map(
        lambda t: (t[0] % 24, (t[0] + t[1]) % 24) if t[1] > 0 else ((t[0] + t[1]) % 24, t[0] % 24)
    )
    fixed = st.sampled_from([(8, 18), (22, 6), (5, 5), (0, 1), (23, 24), (12, 36), (0, 24)])
    prefs = Preferences(
        push_enabled=usually(draw, True, st.booleans()),
        opportunity_types=usually(
            draw, frozenset(OpportunityType), st.frozensets(st.sampled_from(OpportunityType))
        ),
        muted_pairs=usually(draw, frozenset(), st.frozensets(st.sampled_from(PAIRS), max_size=2)),
        watchlist=draw(st.frozensets(st.sampled_from(PAIRS), max_size=2)),
        watch_only=usually(draw, False, st.booleans()),
        min_profit_pct=usually(draw, 0.0, st.sampled_from([0.0, 0.5, 0.8, 2.0])),
        timezone=zone,
        active_hours=draw(st.just((0, 24)) | edge | fixed),
        dnd_until=usually(draw, None, offsets.map(lambda o: now + o)),
        high_priority_pierces_dnd=draw(st.booleans()),
    )
    day, hour = int(now // 86400), int(now // 3600)
    counters = Counters(
        day=draw(st.sampled_from([day, day, -1, day - 1])),
        used_today=draw(st.sampled_from([0, 1, 4, 5, 9, 10, 19, 20, 40, 99, 100, 200])),
        hour=draw(st.sampled_from([hour, hour, -1, hour - 1])),
        used_this_hour=draw(st.sampled_from([0, 1, 2, 3, 4, 5, 10, 19, 20, 40])),
        last_push_at=usually(draw, None, gaps.map(lambda g: now - g)),
    )
    profile = UserProfile(
        user_id=1,
        tier=usually(draw, Tier.ENTERPRISE, st.sampled_from(Tier)),
        preferences=prefs,
        exchanges=usually(draw, frozenset(), subsets),
        trading_restricted=usually(draw, False, st.booleans()),
        region=draw(st.sampled_from(REGIONS)),
    )
    kind = draw(st.sampled_from(["private", "group"]))
    return RecipientState(profile, sess, counters), ChatContext(kind, 0)  # type: ignore[arg-type]


@st.composite
def opportunities(draw: st.DrawFn, now: float) -> Opportunity:
    buy, sell = draw(st.sampled_from(EXCHANGES)), draw(st.sampled_from([*EXCHANGES, "gate"]))
    return opportunity(
        type=usually(draw, OpportunityType.ARBITRAGE, st.sampled_from(OpportunityType)),
        symbol=draw(st.sampled_from(PAIRS)),
        buy_exchange=buy,
        sell_exchange=sell,
        expected_profit_pct=draw(st.sampled_from([0.0, 0.5, 0.8, 1.5])),
        priority=draw(st.sampled_from(Priority)),
        detected_at=now - draw(st.sampled_from([0.0, 30.0, 59.5, 60.0, 299.0, 300.0, 3600.0])),
    )


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[float, list[tuple[RecipientState, ChatContext]], list[int], Opportunity, bool]:
    now = draw(nows)
    users = draw(st.lists(recipients(now), min_size=1, max_size=25))
    users = [
        (s, ChatContext(c.kind, (-i - 1) if c.is_group else i + 1))
        for i, (s, c) in enumerate(users)
    ]
    removed = draw(st.lists(st.integers(0, len(users) - 1), unique=True, max_size=len(users) // 2))
    return now, users, removed, draw(opportunities(now)), draw(st.booleans())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_vectorised_evaluation_equals_explain_row_by_row(
    scenario: tuple[float, list[tuple[RecipientState, ChatContext]], list[int], Opportunity, bool],
) -> None:
    now, users, removed, opp, defer_quiet = scenario
    cols = ShardColumns(POLICY, capacity=2)
    for _, ctx in users:
        cols.upsert(recipient(), ctx)  # a first version, then the real one: an update
    for state, ctx in users:
        cols.upsert(state, ctx)
    for i in removed:
        assert cols.remove(users[i][1].chat_id)
    live = [u for i, u in enumerate(users) if i not in set(removed)]
    reasons = evaluate_reasons(cols, opp, now, defer_quiet=defer_quiet)
    mask, rejected = evaluate(cols, opp, now, defer_quiet=defer_quiet)
    assert len(cols) == len(live)
    expected_counts: dict[str, int] = {}
    for state, ctx in live:
        row = cols.row_of(ctx.chat_id)
        want, _ = first_failure(state, opp, now, ctx, POLICY, defer_quiet=defer_quiet)
        assert Reason(int(reasons[row])) is want, (ctx, state, opp, now)
        assert bool(mask[row]) is (want is Reason.OK)
        if want is not Reason.OK:
            expected_counts[want.code] = expected_counts.get(want.code, 0) + 1
        assert cols.counters(ctx.chat_id) == state.counters
    assert rejected == expected_counts


def test_rejections_are_counted_by_reason_and_by_layer() -> None:
    cols = ShardColumns(POLICY)
    cols.upsert(recipient(1), ChatContext.private(1))
    cols.upsert(recipient(2, no_session=True), ChatContext.private(2))
    cols.upsert(recipient(3, prefs={"push_enabled": False}), ChatContext.private(3))
    cols.upsert(recipient(4, prefs={"dnd_until": T0 + 1}), ChatContext.private(4))
    ids, rejected = eligible_chat_ids(cols, opportunity(), T0)
    assert ids == [1]
    assert rejected == {"L1:no_session": 1, "L3:push_off": 1, "L3:dnd": 1}
    assert count_by_layer(rejected) == {1: 1, 3: 2}


def test_swap_remove_keeps_rows_and_muted_pairs_consistent() -> None:
    cols = ShardColumns(POLICY, capacity=1)
    for uid in range(1, 6):
        cols.upsert(
            recipient(uid, prefs={"muted_pairs": frozenset({f"P{uid}"})}), ChatContext.private(uid)
        )
    assert cols.remove(2)
    assert not cols.remove(2)
    assert 2 not in cols
    assert len(cols) == 4
    assert sorted(cols.chat_ids.tolist()) == [1, 3, 4, 5]
    assert cols.row_of(5) == 1  # the last row moved into the hole
    assert cols.muted == {"P1": {0}, "P5": {1}, "P3": {2}, "P4": {3}}
    ids, rejected = eligible_chat_ids(cols, opportunity(symbol="P5"), T0)
    assert sorted(ids) == [1, 3, 4]
    assert rejected == {"L3:pair_muted": 1}
    cols.upsert(recipient(5), ChatContext.private(5))  # unmuted by an update
    assert "P5" not in cols.muted


def test_columns_grow_by_doubling_and_keep_data() -> None:
    cols = ShardColumns(POLICY, capacity=1)
    for uid in range(1, 100):
        cols.upsert(recipient(uid, counters=Counters.of(T0, uid % 5)), ChatContext.private(uid))
    assert cols._cap == 128
    assert all(cols.counters(uid).today(T0) == uid % 5 for uid in range(1, 100))


def test_commit_on_columns_updates_the_row_counters() -> None:
    cols = ShardColumns(POLICY)
    free = recipient(1, tier=Tier.FREE)
    cols.upsert(free, ChatContext.private(1))
    mask, _ = evaluate(cols, opportunity(), T0)
    assert mask.tolist() == [True]
    assert cols.commit(1, T0) == Counters.of(T0, 1, 1, T0)
    _, rejected = evaluate(cols, opportunity(), T0 + 60)
    assert rejected == {"L4:cooldown": 1}


def test_columns_are_read_only_views() -> None:
    cols = ShardColumns(POLICY)
    cols.upsert(recipient(1), ChatContext.private(1))
    col = cols.column("tier")
    assert not col.flags.writeable
    assert col.dtype == np.int8


def test_timezone_table_finds_dst_transitions_to_the_second() -> None:
    table = TzTable(horizon_seconds=2 * 86400)
    ny = table.code("America/New_York")
    spring = 1_772_953_200  # 2026-03-08T07:00:00Z
    assert table.offsets(spring - 86400)[ny] == -300  # refreshed here, transition inside
    assert table.offsets(spring - 1)[ny] == -300
    assert table.offsets(spring)[ny] == -240
    assert table._transition[ny] == spring


def test_timezone_table_matches_zoneinfo_over_a_year() -> None:
    table = TzTable(horizon_seconds=86400)
    codes = {z: table.code(z) for z in ZONES}
    for step in range(0, 366 * 24 * 4):
        now = T0 + step * 900.0 + 0.25
        off = table.offsets(now)
        for zone, code in codes.items():
            assert off[code] == utc_offset_minutes(zone, now), (zone, now)


def _policy_with(**kw: Any) -> Policy:
    return policy(**kw)


def test_group_rows_get_the_multiplied_caps() -> None:
    cols = ShardColumns(_policy_with(group_cap_multiplier=2))
    cols.upsert(recipient(1, tier=Tier.FREE, counters=Counters.of(T0, 9, 3)), ChatContext.group(-1))
    cols.upsert(
        recipient(2, tier=Tier.FREE, counters=Counters.of(T0, 9, 3)), ChatContext.private(2)
    )
    mask, rejected = evaluate(cols, opportunity(), T0)
    assert mask.tolist() == [True, False]
    assert rejected == {"L4:daily_cap": 1}


def test_active_hours_agree_for_every_window_zone_and_hour_edge() -> None:
    windows = [(a, b) for a in range(25) for b in range(25)]
    rows = [(z, w) for z in ZONES for w in windows]
    cols = ShardColumns(POLICY)
    for i, (zone, w) in enumerate(rows):
        prefs = {"timezone": zone, "active_hours": w}
        cols.upsert(
            recipient(i + 1, prefs=prefs, session_kw={"expires_at": 2e9}),
            ChatContext.private(i + 1),
        )
    starts = [T0, *(float(t) for t in DST_2026)]
    nows = [
        s + 3600 * k + d
        for s in starts
        for k in (-1, 0, 1)
        for d in (-0.5, 0, 899, 900, 1800, 2700)
    ]
    for now in nows:
        reasons = evaluate_reasons(cols, opportunity(detected_at=now - 10), now)
        got = reasons != Reason.ACTIVE_HOURS.value
        want = [in_active_hours(w, zone, now) for zone, w in rows]
        assert got.tolist() == want, now


def test_remaining_many_agrees_with_caps_remaining_row_by_row() -> None:
    """The vectorised room under the caps (a fan-out sizes every queue with it) is
    `Caps.remaining` of each row: stale day/hour counts read as 0, groups get the multiplied
    caps, an unlimited tier answers None, a chat without a row 0."""
    pol = _policy_with(group_cap_multiplier=3)
    cols = ShardColumns(pol)
    cases = [
        (1, Tier.FREE, Counters.of(T0, 1, 1), False),
        (2, Tier.FREE, Counters.of(T0 - 86_400, 9, 9), False),  # yesterday's counts
        (3, Tier.BASIC, Counters.of(T0 - 3_600, 2, 5), False),  # last hour's hourly count
        (4, Tier.PREMIUM, Counters.of(T0, 40, 7), False),
        (5, Tier.ENTERPRISE, Counters.of(T0, 500, 100), False),
        (-6, Tier.FREE, Counters.of(T0, 2, 1), True),
        (7, Tier.BASIC, Counters.of(T0, 10_000, 10_000), False),  # over both caps
        (8, Tier.SUPERADMIN, Counters.of(T0, 3, 3), False),  # no caps
    ]
    for cid, tier, counters, group in cases:
        ctx = ChatContext.group(cid) if group else ChatContext.private(cid)
        cols.upsert(recipient(cid, tier=tier, counters=counters), ctx)
    ids = [cid for cid, *_ in cases] + [99]
    expected = [
        pol.caps(tier, group).remaining(counters, T0) for _, tier, counters, group in cases
    ] + [0]
    assert cols.remaining_many(ids, T0) == expected
    assert expected[1] == 2 and expected[5] == 5 and expected[6] == 0 and expected[7] is None
