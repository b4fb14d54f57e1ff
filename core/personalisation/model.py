"""Online logistic regression: the relevance of an opportunity to one user.

relevance = σ(prior + Σ_f (w_tier[f] + w_user[f])) over the opportunity's binary features. Each
signal (a Details press, a vote, a mute, an alert left unopened or before a session lapsed) is
one example with a label (1: wanted, 0: not) and a weight; one SGD step with L2 shrinkage moves
both weight vectors:

    g = weight · (label − relevance)
    w[f] ← w[f] + rate · (g − regularisation · w[f])      for every feature f of the example

The user's vector learns fast (`learning_rate`), the tier's slowly (`tier_learning_rate`): the
tier's is what a new user starts from. This module is the arithmetic only; the same step runs
atomically in Redis (`relevance_update.lua`), and a test holds the two to each other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass

Weights = Mapping[str, float]


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def logit(feats: Iterable[str], user: Weights, tier: Weights, prior: float = 0.0) -> float:
    """The log-odds: a dot product of the binary features with both weight vectors."""
    return prior + sum(user.get(f, 0.0) + tier.get(f, 0.0) for f in feats)


def relevance(feats: Iterable[str], user: Weights, tier: Weights, prior: float = 0.0) -> float:
    return sigmoid(logit(feats, user, tier, prior))


@dataclass(frozen=True, slots=True)
class Step:
    learning_rate: float
    tier_learning_rate: float
    regularisation: float


def update(
    feats: Iterable[str],
    label: float,
    weight: float,
    user: MutableMapping[str, float],
    tier: MutableMapping[str, float],
    step: Step,
    prior: float = 0.0,
) -> float:
    """One SGD step on both vectors, in place; returns the relevance before the step."""
    names = list(feats)
    p = relevance(names, user, tier, prior)
    g = weight * (label - p)
    for f in names:
        u, t = user.get(f, 0.0), tier.get(f, 0.0)
        user[f] = u + step.learning_rate * (g - step.regularisation * u)
        tier[f] = t + step.tier_learning_rate * (g - step.regularisation * t)
    return p
