"""What the relevance model sees of an opportunity, and what it assumes of a user it has not met.

An opportunity becomes a handful of named binary features (the weights are stored by name, so a
new pair or exchange needs no schema): a bias, its type, pair, net-spread bucket, priority, each
exchange, and the hour of day (UTC, in four-hour blocks) it reached the user. A user's own
weights start empty; the cold start is the tier's shared weights plus a prior from the user's
preferences (a watched pair, an exchange they trade on), which `prior` computes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Final

from core.models import Opportunity, UserProfile
from core.personalisation.settings import PersonalisationSettings

BIAS: Final = "b"
# Upper bounds (%, exclusive) of the net-spread buckets; past the last is the last bucket.
SPREAD_BOUNDS: Final = (0.2, 0.5, 1.0, 2.0)
HOUR_BLOCK: Final = 4

# Feature prefix -> what it reads as (for explanations).
LABELS: Final = {
    "b": "baseline",
    "t": "type",
    "p": "pair",
    "s": "spread bucket",
    "r": "priority",
    "x": "exchange",
    "h": "hour block (UTC)",
}


def spread_bucket(net_spread_pct: float) -> int:
    return sum(1 for bound in SPREAD_BOUNDS if net_spread_pct >= bound)


def hour_block(at: float) -> int:
    return time.gmtime(at).tm_hour // HOUR_BLOCK


def features(opp: Opportunity, at: float) -> tuple[str, ...]:
    """The opportunity's features as it reaches a user at `at`, sorted, without repeats."""
    names = {
        BIAS,
        f"t:{opp.type.value}",
        f"p:{opp.symbol}",
        f"s:{spread_bucket(opp.net_spread_pct)}",
        f"r:{opp.priority.value}",
        f"x:{opp.buy_exchange}",
        f"x:{opp.sell_exchange}",
        f"h:{hour_block(at)}",
    }
    return tuple(sorted(names))


def prior(profile: UserProfile, feats: Sequence[str], s: PersonalisationSettings) -> float:
    """Log-odds the user's preferences add before any behaviour is seen."""
    watched, own = profile.preferences.watchlist, profile.exchanges
    if not watched and not own:
        return 0.0
    z = 0.0
    for f in feats:
        if f.startswith("p:") and f[2:] in watched:
            z += s.prior_watchlist
        elif f.startswith("x:") and f[2:] in own:
            z += s.prior_own_exchange
    return z


def describe(feature: str) -> str:
    """A feature as a user reads it: ``type funding``, ``pair BTC/USDT``."""
    kind, _, value = feature.partition(":")
    label = LABELS.get(kind, kind)
    if kind == "s":
        i = int(value)
        lo = 0.0 if i == 0 else SPREAD_BOUNDS[i - 1]
        value = f"{lo:g}%+" if i >= len(SPREAD_BOUNDS) else f"{lo:g}-{SPREAD_BOUNDS[i]:g}%"
    elif kind == "h":
        h = int(value) * HOUR_BLOCK
        value = f"{h:02d}-{h + HOUR_BLOCK:02d}h"
    return label if not value else f"{label} {value}"
