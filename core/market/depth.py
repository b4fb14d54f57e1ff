"""Walking order-book depth: what a market order of a given size really costs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.market.models import BookLevel


@dataclass(frozen=True, slots=True)
class Fill:
    """The result of sweeping levels: `qty` base filled for `notional` quote (VWAP = ratio)."""

    qty: float
    notional: float
    complete: bool  # False when the book ran out before the requested size

    @property
    def vwap(self) -> float:
        return self.notional / self.qty if self.qty > 0 else 0.0


def fill_quantity(levels: Sequence[BookLevel], qty: float) -> Fill:
    """Sweep `levels` (best first) for `qty` base units."""
    remaining = qty
    got = 0.0
    notional = 0.0
    for level in levels:
        if remaining <= 0:
            break
        take = min(remaining, level.qty)
        got += take
        notional += take * level.price
        remaining -= take
    return Fill(qty=got, notional=notional, complete=remaining <= 1e-12 * max(qty, 1.0))


def fill_notional(levels: Sequence[BookLevel], usd: float) -> Fill:
    """Sweep `levels` (best first) until `usd` quote has been spent (or received)."""
    remaining = usd
    got = 0.0
    notional = 0.0
    for level in levels:
        if remaining <= 0:
            break
        level_usd = level.price * level.qty
        if level_usd <= remaining:
            got += level.qty
            notional += level_usd
            remaining -= level_usd
        else:
            got += remaining / level.price
            notional += remaining
            remaining = 0.0
    return Fill(qty=got, notional=notional, complete=remaining <= 1e-9 * max(usd, 1.0))


def total_qty(levels: Sequence[BookLevel]) -> float:
    return sum(level.qty for level in levels)
