"""An explanation adds up: the parts' log-odds sum to the relevance's logit, the watchlist
prior is named as such, and what raised and lowered the alert come largest first."""

from __future__ import annotations

import math

import pytest

from core.models import OpportunityType
from core.personalisation.explain import explain
from core.personalisation.features import features
from core.personalisation.settings import PersonalisationSettings
from tests.core.personalisation.factories import T0, opp, profile


def test_the_parts_sum_to_the_relevance_and_are_ordered() -> None:
    s = PersonalisationSettings()
    o = opp("f", OpportunityType.FUNDING, symbol="ETH/USDT")
    me = profile(1, preferences={"watchlist": frozenset({"ETH/USDT"})})
    user = {"t:funding": 1.2, "x:okx": -0.7, "b": -0.1}
    tier = {"t:funding": 0.1}
    e = explain(me, o, user, tier, 9, s, T0)
    z = sum(p.learned + p.prior for p in e.parts)
    assert e.relevance == pytest.approx(1 / (1 + math.exp(-z)))
    assert len(e.parts) == len(features(o, T0)) and e.signals == 9
    assert [p.feature for p in e.raised()] == ["type funding", "pair ETH/USDT"]
    assert e.raised()[1].prior == s.prior_watchlist and e.raised()[1].learned == 0
    assert [p.feature for p in e.lowered()] == ["exchange okx", "baseline"]
