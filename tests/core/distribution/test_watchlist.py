"""The watchlist (issue 15): in "only these pairs" mode a pair off the list is not eligible,
for pushes and /opportunities alike, in the scalar rule, the shard's columns and /why; with
the mode off the list changes nothing and mutes still apply."""

from __future__ import annotations

import pytest

from core.distribution.columns import ShardColumns, eligible_chat_ids
from core.distribution.eligibility import ChatContext, Reason, Use, explain, first_failure

from .factories import T0, opportunity, policy, recipient

POLICY = policy()
WATCH = frozenset({"ETH/USDT", "SOL/USDT"})


@pytest.mark.parametrize(
    ("prefs", "symbol", "expected"),
    [
        ({"watchlist": WATCH, "watch_only": True}, "BTC/USDT", Reason.NOT_WATCHED),
        ({"watchlist": WATCH, "watch_only": True}, "ETH/USDT", Reason.OK),
        ({"watchlist": WATCH, "watch_only": False}, "BTC/USDT", Reason.OK),
        ({"watch_only": True}, "BTC/USDT", Reason.NOT_WATCHED),  # empty list, only mode
        # A muted pair is muted even on the watchlist: the mute is reported first.
        (
            {"watchlist": WATCH, "watch_only": True, "muted_pairs": frozenset({"ETH/USDT"})},
            "ETH/USDT",
            Reason.PAIR_MUTED,
        ),
    ],
)
def test_scalar_and_columnar_rules_agree_on_the_watchlist(
    prefs: dict[str, object], symbol: str, expected: Reason
) -> None:
    state, ctx = recipient(1, prefs=prefs), ChatContext.private(1)
    opp = opportunity(symbol=symbol)
    for use in (Use.PUSH, Use.ON_DEMAND):
        assert first_failure(state, opp, T0, ctx, POLICY, use=use)[0] is expected
    cols = ShardColumns(POLICY)
    cols.upsert(state, ctx)
    ids, rejected = eligible_chat_ids(cols, opp, T0)
    assert ids == ([1] if expected is Reason.OK else [])
    assert rejected == ({} if expected is Reason.OK else {expected.code: 1})


def test_a_button_on_a_shown_card_ignores_the_watchlist() -> None:
    """ACCESS (Details, votes) does not re-apply the user's own filters."""
    state = recipient(1, prefs={"watchlist": WATCH, "watch_only": True})
    opp = opportunity(symbol="BTC/USDT")
    assert first_failure(state, opp, T0, ChatContext.private(1), POLICY, use=Use.ACCESS)[0] is (
        Reason.OK
    )


def test_why_explains_the_watchlist() -> None:
    verdict = explain(
        recipient(1, prefs={"watchlist": WATCH, "watch_only": True}),
        opportunity(symbol="BTC/USDT"),
        T0,
        ChatContext.private(1),
        policy=POLICY,
    )
    assert not verdict.eligible
    assert (verdict.layer, verdict.reason) == (3, "L3:not_watched")
    assert verdict.detail == "BTC/USDT not on the watchlist"


def test_rows_keep_their_watchlists_through_updates_and_swap_removes() -> None:
    cols = ShardColumns(POLICY, capacity=1)
    for uid in range(1, 5):
        prefs = {"watchlist": frozenset({f"P{uid}"}), "watch_only": True}
        cols.upsert(recipient(uid, prefs=prefs), ChatContext.private(uid))
    assert cols.remove(2)
    assert cols.watched == {"P1": {0}, "P4": {1}, "P3": {2}}
    assert eligible_chat_ids(cols, opportunity(symbol="P4"), T0)[0] == [4]
    # The user turns the mode off: every pair reaches them again, the list is kept.
    prefs = {"watchlist": frozenset({"P4"}), "watch_only": False}
    cols.upsert(recipient(4, prefs=prefs), ChatContext.private(4))
    assert eligible_chat_ids(cols, opportunity(symbol="P1"), T0)[0] == [1, 4]
    cols.upsert(recipient(4), ChatContext.private(4))  # list emptied by an update
    assert "P4" not in cols.watched
