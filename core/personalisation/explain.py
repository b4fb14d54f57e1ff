"""Why an alert ranks where it does for a user: the relevance and the features that moved it.

The log-odds is a sum, so each feature's part is exact: its user weight plus its tier weight,
and the prior's part (a watched pair, an exchange the user trades on). `Explanation` lists them
largest first; the bot words it (`/why <opportunity id>`).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models import Opportunity, UserProfile
from core.personalisation.features import describe, features, prior
from core.personalisation.model import Weights, sigmoid
from core.personalisation.settings import PersonalisationSettings
from core.personalisation.store import RelevanceStore


@dataclass(frozen=True, slots=True)
class Part:
    feature: str  # as the user reads it: "type funding"
    learned: float  # log-odds from behaviour (the user's and the tier's weights)
    prior: float  # log-odds from preferences


@dataclass(frozen=True, slots=True)
class Explanation:
    relevance: float
    signals: int  # how many of the user's own actions taught the model
    parts: tuple[Part, ...]  # largest effect first

    def raised(self, limit: int = 3, at_least: float = 0.05) -> list[Part]:
        return [p for p in self.parts if p.learned + p.prior >= at_least][:limit]

    def lowered(self, limit: int = 3, at_least: float = 0.05) -> list[Part]:
        low = [p for p in reversed(self.parts) if p.learned + p.prior <= -at_least]
        return low[:limit]


def explain(
    profile: UserProfile,
    opp: Opportunity,
    user: Weights,
    tier: Weights,
    signals: int,
    settings: PersonalisationSettings,
    now: float,
) -> Explanation:
    feats = features(opp, now)
    parts = [
        Part(describe(f), user.get(f, 0.0) + tier.get(f, 0.0), prior(profile, [f], settings))
        for f in feats
    ]
    z = sum(p.learned + p.prior for p in parts)
    parts.sort(key=lambda p: -(p.learned + p.prior))
    return Explanation(sigmoid(z), signals, tuple(parts))


async def explain_for(
    store: RelevanceStore, profile: UserProfile, opp: Opportunity, now: float
) -> Explanation:
    """`explain` over the weights Redis holds now."""
    [(user, signals)] = await store.weights_many([profile.user_id])
    tier = (await store.tier_weights([profile.tier.value]))[profile.tier.value]
    return explain(profile, opp, user, tier, signals, store.settings, now)
