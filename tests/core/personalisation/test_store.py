"""The relevance state in Redis: a learning step is logistic regression's SGD step (held to a
re-implementation here), each (alert, signal) is learned once, unopened alerts are learned only
when nothing was pressed, and a reset forgets the user but not the tier. Real Redis."""

from __future__ import annotations

import math
from typing import Any

import pytest

from core.personalisation.features import features, prior
from core.personalisation.settings import PersonalisationSettings
from core.personalisation.store import RelevanceStore, Seen, Signal
from core.store import keys
from tests.core.personalisation.factories import T0, opp, profile

S = PersonalisationSettings(learning_rate=0.5, tier_learning_rate=0.1, regularisation=0.02)


def reference_step(
    feats: tuple[str, ...],
    label: float,
    weight: float,
    user: dict[str, float],
    tier: dict[str, float],
    prior_z: float,
) -> float:
    """Logistic regression's SGD step with L2, written out independently of the code."""
    z = prior_z + sum(user.get(f, 0.0) + tier.get(f, 0.0) for f in feats)
    p = 1 / (1 + math.exp(-z))
    for f in feats:
        u, t = user.get(f, 0.0), tier.get(f, 0.0)
        user[f] = u + S.learning_rate * (weight * (label - p) - S.regularisation * u)
        tier[f] = t + S.tier_learning_rate * (weight * (label - p) - S.regularisation * t)
    return p


async def _weights(redis: Any, key: str) -> dict[str, float]:
    raw = await redis.hgetall(key)
    return {k: float(v) for k, v in raw.items() if k != "_n"}


async def test_learning_steps_match_logistic_regression(redis: Any) -> None:
    """Several signals on two alerts move the user's and the tier's weights exactly as the
    written-out SGD step does, and the returned relevance is the one before each step."""
    store = RelevanceStore(redis, S)
    me = profile(1, preferences={"watchlist": frozenset({"ETH/USDT"})})
    a, b = opp("a"), opp("b", symbol="ETH/USDT")
    seen = [
        Seen(o.opportunity_id, T0, "premium", prior(me, features(o, T0), S), features(o, T0))
        for o in (a, b)
    ]
    assert seen[1].prior == pytest.approx(S.prior_watchlist)
    await store.remember(1, seen, unopened=False)
    user: dict[str, float] = {}
    tier: dict[str, float] = {}
    for oid, kind, label, w in [
        ("a", "details", 1, 1.0),
        ("b", "down", 0, 1.5),
        ("a", "up", 1, 1.5),
    ]:
        s = next(x for x in seen if x.opportunity_id == oid)
        expected_p = reference_step(s.features, label, w, user, tier, s.prior)
        got = await store.learn(Signal(1, oid, kind, label, w), "premium")
        assert got == pytest.approx(expected_p, abs=1e-12)
    assert await _weights(redis, keys.relevance_weights(1)) == pytest.approx(user, abs=1e-12)
    assert await _weights(redis, keys.relevance_tier("premium")) == pytest.approx(tier, abs=1e-12)
    assert int(await redis.hget(keys.relevance_weights(1), "_n")) == 3


async def test_a_signal_is_learned_once_and_an_unknown_alert_not_at_all(redis: Any) -> None:
    """The same (alert, signal) read twice from the stream changes nothing the second time; a
    signal for an alert never remembered is skipped."""
    store = RelevanceStore(redis, S)
    o = opp("a")
    await store.remember(1, [Seen("a", T0, "free", 0.0, features(o, T0))], unopened=False)
    assert await store.learn(Signal(1, "a", "details", 1, 1.0), "free") is not None
    before = await _weights(redis, keys.relevance_weights(1))
    assert await store.learn(Signal(1, "a", "details", 1, 1.0), "free") is None
    assert await _weights(redis, keys.relevance_weights(1)) == before
    assert await store.learn(Signal(1, "zzz", "details", 1, 1.0), "free") is None


async def test_unopened_only_when_nothing_was_pressed(redis: Any) -> None:
    """Two alerts delivered; one pressed. Past the window, only the other is learned as
    unopened, and both leave the unopened index."""
    store = RelevanceStore(redis, S)
    seen = [Seen(i, T0, "free", 0.0, features(opp(i), T0)) for i in ("a", "b")]
    await store.remember(1, seen, unopened=True)
    assert await store.due(T0 + S.unopened_seconds - 1, 10) == []
    await store.learn(Signal(1, "a", "details", 1, 1.0), "free")
    due = await store.due(T0 + S.unopened_seconds, 10)
    assert due == [(1, "b")]  # the pressed one left the index when pressed
    assert await store.learn(Signal(1, "b", "unopened", 0, 0.3), "free") is not None
    assert await store.learn(Signal(1, "a", "unopened", 0, 0.3), "free") is None
    assert await redis.zcard(keys.RELEVANCE_DUE) == 0


async def test_reset_forgets_the_user_but_keeps_the_tier(redis: Any) -> None:
    """After a reset the user's weights and remembered alerts are gone; the tier's stay."""
    store = RelevanceStore(redis, S)
    await store.remember(1, [Seen("a", T0, "free", 0.0, features(opp("a"), T0))], unopened=True)
    await store.learn(Signal(1, "a", "up", 1, 1.5), "free")
    await store.reset(1)
    assert await redis.exists(keys.relevance_weights(1), keys.relevance_seen(1)) == 0
    assert await redis.zcard(keys.RELEVANCE_DUE) == 0
    assert await _weights(redis, keys.relevance_tier("free"))
    [(weights, n)] = await store.weights_many([1])
    assert (weights, n) == ({}, 0)
