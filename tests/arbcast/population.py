"""A seeded population of users and a burst of opportunities, and an oracle that says, from the
written rules alone, what each user must receive.

The oracle is deliberately independent of `core.distribution`: plain loops over plain records,
written from the issue's six layers and the queue's digest rule, so that a bug shared by the
vectorised columns, the scalar `explain` and the queue would still be caught here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from core.models import Opportunity, OpportunityType, Priority, Tier
from core.settings import Settings
from core.store.keys import ProfileFields as P

EXCHANGES = ("binance", "bybit", "kraken", "okx")
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")
BLOCKED_REGION = "KP"
_RANK = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}


@dataclass
class Person:
    user_id: int
    tier: Tier
    session: str  # "active" | "none" | "ended"
    push: bool = True
    types: frozenset[OpportunityType] | None = None  # None: every type (never chosen)
    muted: frozenset[str] = frozenset()
    min_profit: float = 0.0
    dnd: bool = False
    off_hours: bool = False
    exchanges: frozenset[str] = frozenset()
    restricted: bool = False
    region: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def profile_fields(self, now: float) -> dict[str, str]:
        f = {P.NAME: f"Trader{self.user_id}", P.TIER: self.tier.value}
        f[P.PUSH] = "1" if self.push else "0"
        if self.types is not None:
            f[P.TYPES] = ",".join(sorted(t.value for t in self.types))
        if self.muted:
            f[P.MUTED_PAIRS] = ",".join(sorted(self.muted))
        if self.min_profit:
            f[P.MIN_PROFIT] = str(self.min_profit)
        if self.dnd:
            f[P.DND_UNTIL] = repr(now + 3 * 3600)
        if self.off_hours:
            # A one-hour window twelve hours away from now, in UTC.
            start = (int(now // 3600) + 12) % 24
            f[P.ACTIVE_HOURS] = f"{start}-{start + 1}"
        if self.exchanges:
            f[P.EXCHANGES] = ",".join(sorted(self.exchanges))
        f[P.RESTRICTED] = "1" if self.restricted else "0"
        f[P.REGION] = self.region
        return f


def population(n: int, seed: int = 7, first_id: int = 10_000) -> list[Person]:
    rng = random.Random(seed)
    people: list[Person] = []
    tiers = [Tier.FREE, Tier.BASIC, Tier.PREMIUM, Tier.ENTERPRISE]
    for i in range(n):
        uid = first_id + i
        session = rng.choices(["active", "none", "ended"], [90, 5, 5])[0]
        p = Person(uid, rng.choices(tiers, [40, 30, 20, 10])[0], session)
        p.push = rng.random() > 0.05
        if rng.random() < 0.4:
            p.types = frozenset(t for t in OpportunityType if rng.random() < 0.6) or frozenset(
                {OpportunityType.ARBITRAGE}
            )
        if rng.random() < 0.15:
            p.muted = frozenset({rng.choice(SYMBOLS)})
        p.min_profit = rng.choice([0.0, 0.0, 0.0, 0.3, 0.6])
        p.dnd = rng.random() < 0.05
        p.off_hours = rng.random() < 0.05
        if rng.random() < 0.3:
            p.exchanges = frozenset(rng.sample(EXCHANGES, rng.randint(1, 3)))
        p.restricted = rng.random() < 0.03
        p.region = BLOCKED_REGION if rng.random() < 0.03 else rng.choice(["", "DE", "US"])
        people.append(p)
    return people


def burst(now: float, n: int = 8, seed: int = 11) -> list[Opportunity]:
    """MEDIUM and LOW opportunities detected ten minutes ago (past every tier's delay), so that
    every user's share goes out as one digest when the batching window closes."""
    rng = random.Random(seed)
    out: list[Opportunity] = []
    for i in range(n):
        buy, sell = rng.sample(EXCHANGES, 2)
        kind = rng.choice(list(OpportunityType))
        profit = round(rng.uniform(0.1, 1.2), 3)
        out.append(
            Opportunity(
                opportunity_id=f"b{i}",
                type=kind,
                symbol=rng.choice(SYMBOLS),
                buy_exchange=buy,
                sell_exchange=sell,
                buy_price=100.0,
                sell_price=100.0 + profit,
                net_spread_pct=profit,
                expected_profit_pct=profit,
                confidence=round(rng.uniform(0.5, 0.99), 3),
                priority=rng.choice([Priority.MEDIUM, Priority.LOW]),
                detected_at=now - 600,
                updated_at=now,
                expires_at=now + 1800,
            )
        )
    return out


def eligible(p: Person, o: Opportunity, settings: Settings) -> bool:
    """The six layers for a user with no pushes yet (so layer 4 passes), DND and active hours
    aside (the queue holds those; see `expected`)."""
    limits = settings.tiers[p.tier]
    if p.session != "active":
        return False
    if o.type not in limits.opportunity_types:
        return False
    wanted = p.types if p.types is not None else frozenset(OpportunityType)
    if not p.push or o.type not in wanted or o.symbol in p.muted:
        return False
    if o.expected_profit_pct < p.min_profit:
        return False
    pair = {o.buy_exchange, o.sell_exchange}
    if p.exchanges and not pair <= p.exchanges:
        return False
    return not p.restricted and p.region != BLOCKED_REGION


def expected(
    people: list[Person], opps: list[Opportunity], settings: Settings
) -> tuple[dict[int, list[str]], set[int]]:
    """(user -> the ids of the one digest they receive, best first; users whose items are held).

    A digest carries at most `digest_max_items`, and at most what the tier's daily and hourly
    caps leave (0: no cap); the best come first: priority, expected profit, confidence, id.
    """
    got: dict[int, list[str]] = {}
    held: set[int] = set()
    for p in people:
        mine = [o for o in opps if eligible(p, o, settings)]
        if not mine:
            continue
        if p.dnd or p.off_hours:
            held.add(p.user_id)
            continue
        limits = settings.tiers[p.tier]
        room = [settings.distribution.digest_max_items]
        room += [c for c in (limits.daily_cap, limits.hourly_cap) if c > 0]
        mine.sort(
            key=lambda o: (
                _RANK[o.priority],
                -o.expected_profit_pct,
                -o.confidence,
                o.opportunity_id,
            )
        )
        got[p.user_id] = [o.opportunity_id for o in mine[: min(room)]]
    return got, held


def ids_in(message: dict[str, Any]) -> list[str]:
    """The opportunity ids a push carries, read from its buttons (one row per item)."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    out: list[str] = []
    for row in rows:
        data = row[0].get("callback_data", "")
        oid = data.split(":", 2)[2] if data.startswith("op:") else None
        if oid and oid not in out:
            out.append(oid)
    return out
