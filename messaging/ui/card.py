"""One opportunity, as every message shows it: a push (single or digest), the /opportunities
list and the Details answer read the same lines, so a trader never sees one opportunity
described two ways.

Pure functions of domain objects; every value is escaped. What the card says depends on the
opportunity's type (a cross-exchange spread is bought and sold, a funding-rate difference is
held long and short, a technical signal has an entry and a target), on the user (times in
their timezone, the position size for their risk tolerance, and no size at all when the engine
recommended none, rather than an assumed one) and on the tier: Premium, Enterprise and
SuperAdmin also get the validation summary (gross spread, fees, slippage), the order-book
depth, the minimum position and the id (`DETAILED_TIERS`).
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.models import Opportunity, OpportunityType, Priority, Tier, UserProfile

DETAILED_TIERS: Final = frozenset({Tier.PREMIUM, Tier.ENTERPRISE, Tier.SUPERADMIN})
PRIORITY_MARK: Final = {Priority.HIGH: "⚡", Priority.MEDIUM: "🔔", Priority.LOW: "💡"}


def _e(value: object) -> str:
    return escape(str(value), quote=False)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def detailed(profile: UserProfile) -> bool:
    return profile.tier in DETAILED_TIERS


def local_time(ts: float, tz: str, *, now: float | None = None) -> str:
    """``HH:MM TZ`` in the user's timezone, with the date when it is not the day of `now`."""
    z = zone(tz)
    at = datetime.fromtimestamp(ts, tz=z)
    if now is not None and datetime.fromtimestamp(now, tz=z).date() == at.date():
        return at.strftime("%H:%M %Z")
    return at.strftime("%Y-%m-%d %H:%M %Z")


def _price(p: float) -> str:
    return f"{p:,.6g}"


def _route(opp: Opportunity) -> str:
    buy, sell = _e(opp.buy_exchange), _e(opp.sell_exchange)
    if opp.type is OpportunityType.FUNDING:
        return (
            f"Long on {buy} at {_price(opp.buy_price)}, short on {sell} at "
            f"{_price(opp.sell_price)} to collect the funding difference"
        )
    if opp.type is OpportunityType.TECHNICAL:
        return f"Signal on {buy}: entry {_price(opp.buy_price)}, target {_price(opp.sell_price)}"
    return f"Buy on {buy} at {_price(opp.buy_price)}, sell on {sell} at {_price(opp.sell_price)}"


def _sizing(opp: Opportunity, profile: UserProfile) -> str | None:
    risk = profile.preferences.risk_tolerance.value
    size = opp.position_for(risk)
    if size <= 0:
        return None
    profit = size * opp.expected_profit_pct / 100
    return f"Size for your {risk} risk: ${size:,.0f} → est. profit ${profit:,.2f}"


def _details(opp: Opportunity) -> list[str]:
    lines = [
        f"Validation: gross {opp.gross_spread_pct:.3f}% − fees {opp.fees_pct:.3f}% − "
        f"slippage {opp.slippage_pct:.3f}% = net {opp.net_spread_pct:.3f}%",
        f"Depth ${opp.available_depth_usd:,.0f} · min position ${opp.min_position_usd:,.0f}",
    ]
    lines.append(f"<code>{_e(opp.opportunity_id)}</code>")
    return lines


def card(opp: Opportunity, profile: UserProfile, now: float, *, full: bool = False) -> list[str]:
    """The lines describing one opportunity (without a greeting). `full`: with the validation
    summary, depth and id whatever the tier (the Details answer: the whole record)."""
    tz = profile.preferences.timezone
    lines = [
        f"<b>{_e(opp.symbol)}</b> · {opp.type.label} · {opp.priority.value} priority",
        _route(opp),
        f"Net spread after fees: <b>{opp.net_spread_pct:.3f}%</b> · "
        f"confidence {opp.confidence:.0%}",
    ]
    sizing = _sizing(opp, profile)
    if sizing:
        lines.append(sizing)
    lines.append(
        f"Detected {local_time(opp.detected_at, tz, now=now)} · "
        f"valid until {local_time(opp.expires_at, tz, now=now)}"
    )
    if full or detailed(profile):
        lines += _details(opp)
    return lines


def digest_item(
    i: int, opp: Opportunity, profile: UserProfile, now: float, *, updated: bool
) -> str:
    """The card as a digest's item `i`: the same lines, compact, indented under the number."""
    tz = profile.preferences.timezone
    mark = " · 🔁 updated" if updated else ""
    lines = [
        f"{i}. {PRIORITY_MARK[opp.priority]} <b>{_e(opp.symbol)}</b> · {opp.type.label}{mark}",
        "   " + _route(opp),
        f"   net <b>{opp.net_spread_pct:.3f}%</b> · confidence {opp.confidence:.0%} · "
        f"until {local_time(opp.expires_at, tz, now=now)}",
    ]
    sizing = _sizing(opp, profile)
    if sizing:
        lines.append("   " + sizing)
    if detailed(profile):
        lines += ["   " + line for line in _details(opp)]
    return "\n".join(lines)
