"""One opportunity, as every message shows it: a push (single or digest), the /opportunities
list and the Details answer read the same lines, so a trader never sees one opportunity
described two ways.

Pure functions of domain objects and of `now` (the caller's clock: "open for" and "next
funding in" are computed from it, never from the system time); every value is escaped. What the
card says depends on the opportunity's type (a cross-exchange spread is bought and sold, a
funding-rate difference is held long and short, a technical signal has an entry and a target),
on the user (times in their timezone, the position size for their risk tolerance, and no size at
all when the engine recommended none, rather than an assumed one) and on the tier: Premium,
Enterprise and SuperAdmin also get the breakdown (gross spread, fees per exchange, slippage),
the order-book depth, the minimum position and the id (`DETAILED_TIERS`); every tier gets it one
tap away, in Details (`full`).

Every card names both exchanges with a link to their market page (`market_links`), the net
spread after fees and slippage, the confidence (the engine's calibrated probability that the
opportunity lasts long enough to act on, shown as a whole percentage from 1 to 99: never 100 %),
how long it has been open and, for funding, the interval, the next funding time and the expected
payment for the user's size.
"""

from __future__ import annotations

import math
from datetime import datetime
from html import escape
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.models import Opportunity, OpportunityType, Priority, Tier, UserProfile
from messaging.i18n import _, ngettext
from messaging.ui.labels import priority_label, risk_label, type_label
from messaging.ui.market_links import market_url

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


def duration(seconds: float) -> str:
    """A compact span, its two largest units: ``45s``, ``3m 12s``, ``2h 5m``, ``8h``, ``1d 3h``
    (a zero second unit is left out; never negative)."""
    s = max(0, int(seconds))
    days, rest = divmod(s, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    units = [(days, _("{n}d")), (hours, _("{n}h")), (minutes, _("{n}m")), (secs, _("{n}s"))]
    first = next((i for i, (n, _unit) in enumerate(units) if n), None)
    if first is None:
        return _("{n}s").format(n=0)
    return " ".join(u.format(n=n) for n, u in units[first : first + 2] if n)


def confidence_pct(confidence: float) -> str:
    """The confidence as a whole percentage in 1..99: a probability from a finite history is
    never certain, and rounding must not make it read as 100 % (or 0 %)."""
    value = 1 if math.isnan(confidence) else round(confidence * 100)
    return f"{min(max(value, 1), 99)}%"


def exchange_link(exchange: str, opp: Opportunity) -> str:
    """The exchange's name, linked to its market page for the pair when it has a template."""
    url = market_url(exchange, opp.symbol, opp.type)
    if url is None:
        return _e(exchange)
    return f'<a href="{escape(url, quote=True)}">{_e(exchange)}</a>'


def _route(opp: Opportunity) -> str:
    buy, sell = exchange_link(opp.buy_exchange, opp), exchange_link(opp.sell_exchange, opp)
    prices = {"buy": buy, "sell": sell, "bid": _price(opp.buy_price), "ask": _price(opp.sell_price)}
    if opp.type is OpportunityType.FUNDING:
        return _(
            "Long on {buy} at {bid}, short on {sell} at {ask} to collect the funding difference"
        ).format(**prices)
    if opp.type is OpportunityType.TECHNICAL:
        return _("Signal on {buy}: entry {bid}, target {ask}").format(**prices)
    return _("Buy on {buy} at {bid}, sell on {sell} at {ask}").format(**prices)


def _size(opp: Opportunity, profile: UserProfile) -> float:
    return opp.position_for(profile.preferences.risk_tolerance.value)


def _sizing(opp: Opportunity, profile: UserProfile) -> str | None:
    risk = risk_label(profile.preferences.risk_tolerance)
    size = _size(opp, profile)
    if size <= 0:
        return None
    profit = size * opp.expected_profit_pct / 100
    return _("Size for your {risk} risk: ${size} → est. profit ${profit}").format(
        risk=risk, size=f"{size:,.0f}", profit=f"{profit:,.2f}"
    )


def next_funding(opp: Opportunity, now: float) -> float | None:
    """The next funding time at or after `now` (a stored time already past rolls forward by
    whole intervals), or None when the opportunity carries no schedule."""
    interval, at = opp.funding_interval_s, opp.next_funding_ts
    if opp.type is not OpportunityType.FUNDING or interval <= 0 or at <= 0:
        return None
    if at < now:
        at += math.ceil((now - at) / interval) * interval
    return at


def _funding(opp: Opportunity, profile: UserProfile, now: float) -> list[str]:
    """Interval, next funding (relative and local time) and the expected payment."""
    at = next_funding(opp, now)
    if at is None:
        return []
    tz = profile.preferences.timezone
    interval = duration(opp.funding_interval_s)
    diff, periods = opp.funding_diff_pct, opp.funding_periods
    lines = [
        _(
            "Funding every {interval} · next in {left} ({at}) · difference {diff}% per funding"
        ).format(
            interval=interval,
            left=duration(at - now),
            at=local_time(at, tz, now=now),
            diff=f"{diff:.4f}",
        )
    ]
    size = _size(opp, profile)
    held = ngettext(" over {n} funding ({span})", " over {n} fundings ({span})", periods).format(
        n=periods, span=duration(periods * opp.funding_interval_s)
    )
    if size > 0:
        per = size * diff / 100
        total = f", ${per * periods:,.2f}{held}" if periods > 1 else ""
        lines.append(
            _("Expected payment: ${per} per funding on ${size}{total}, before fees").format(
                per=f"{per:,.2f}", size=f"{size:,.0f}", total=total
            )
        )
    else:
        total = f", {diff * periods:.4f}%{held}" if periods > 1 else ""
        lines.append(
            _("Expected payment: {diff}% of the position per funding{total}, before fees").format(
                diff=f"{diff:.4f}", total=total
            )
        )
    return lines


def _fees(opp: Opportunity) -> str | None:
    """The fees per exchange, when the engine recorded them."""
    if not (opp.buy_fees_pct or opp.sell_fees_pct):
        return None
    if opp.buy_exchange == opp.sell_exchange:
        fees = f"{_e(opp.buy_exchange)} {opp.buy_fees_pct + opp.sell_fees_pct:.3f}%"
    else:
        fees = (
            f"{_e(opp.buy_exchange)} {opp.buy_fees_pct:.3f}% · "
            f"{_e(opp.sell_exchange)} {opp.sell_fees_pct:.3f}%"
        )
    return _("Fees: {fees}").format(fees=fees)


def _details(opp: Opportunity) -> list[str]:
    lines = [
        _("Validation: gross {gross}% − fees {fees}% − slippage {slippage}% = net {net}%").format(
            gross=f"{opp.gross_spread_pct:.3f}",
            fees=f"{opp.fees_pct:.3f}",
            slippage=f"{opp.slippage_pct:.3f}",
            net=f"{opp.net_spread_pct:.3f}",
        ),
    ]
    fees = _fees(opp)
    if fees:
        lines.append(fees)
    lines.append(
        _("Depth ${depth} · min position ${minimum}").format(
            depth=f"{opp.available_depth_usd:,.0f}", minimum=f"{opp.min_position_usd:,.0f}"
        )
    )
    lines.append(f"<code>{_e(opp.opportunity_id)}</code>")
    return lines


def card(opp: Opportunity, profile: UserProfile, now: float, *, full: bool = False) -> list[str]:
    """The lines describing one opportunity (without a greeting). `full`: with the breakdown,
    depth and id whatever the tier (the Details answer: the whole record)."""
    tz = profile.preferences.timezone
    shown = full or detailed(profile)
    net = _("Net spread after fees and slippage: <b>{net}%</b>").format(
        net=f"{opp.net_spread_pct:.3f}"
    )
    lines = [
        f"<b>{_e(opp.symbol)}</b> · {type_label(opp.type)} · {priority_label(opp.priority)}",
        _route(opp),
        net if shown else net + _(" (breakdown in Details)"),
        _("Confidence {pct}: the measured chance it lasts long enough to act on").format(
            pct=confidence_pct(opp.confidence)
        ),
    ]
    sizing = _sizing(opp, profile)
    if sizing:
        lines.append(sizing)
    lines += _funding(opp, profile, now)
    lines.append(
        _("Detected {detected} · valid until {until} · open for {open}").format(
            detected=local_time(opp.detected_at, tz, now=now),
            until=local_time(opp.expires_at, tz, now=now),
            open=duration(now - opp.detected_at),
        )
    )
    if shown:
        lines += _details(opp)
    return lines


def digest_item(
    i: int, opp: Opportunity, profile: UserProfile, now: float, *, updated: bool
) -> str:
    """The card as a digest's item `i`: the same lines, compact, indented under the number."""
    tz = profile.preferences.timezone
    mark = _(" · 🔁 updated") if updated else ""
    lines = [
        f"{i}. {PRIORITY_MARK[opp.priority]} <b>{_e(opp.symbol)}</b> · {type_label(opp.type)}"
        + mark,
        "   " + _route(opp),
        "   "
        + _(
            "net after fees and slippage <b>{net}%</b> · confidence {pct} · open for {open} · "
            "until {until}"
        ).format(
            net=f"{opp.net_spread_pct:.3f}",
            pct=confidence_pct(opp.confidence),
            open=duration(now - opp.detected_at),
            until=local_time(opp.expires_at, tz, now=now),
        ),
    ]
    sizing = _sizing(opp, profile)
    if sizing:
        lines.append("   " + sizing)
    lines += ["   " + line for line in _funding(opp, profile, now)]
    if detailed(profile):
        lines += ["   " + line for line in _details(opp)]
    return "\n".join(lines)
