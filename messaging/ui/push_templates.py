"""Push messages: an `Outgoing` of a user's queue rendered to Telegram HTML and its buttons.

Pure functions of domain objects. Every value is escaped. What a user sees depends on
* the opportunity's type (cross-exchange, funding rate, technical signal),
* the tier: Premium, Enterprise and SuperAdmin also get the validation summary (gross spread,
  fees, slippage), the order-book depth, the minimum position and the id,
* the user: first name, times in their timezone, the position size for their risk tolerance
  (`Opportunity.position_usd_low/medium/high`, else the recommended size).

A ``single`` is one card; a ``digest`` lists its items best first (priority, expected profit,
confidence, id, as the queue ranks them), at most ``max_items``, updates of opportunities sent
before marked ``🔁 updated``; an ``edit_closed`` is the card struck through, marked closed and
without buttons. Held alerts that expired or closed during the user's quiet time are told once
the window opens: a line in the digest, or an ``away`` message of its own. Buttons are
`OpportunityCB` (Details / Mute pair / Mute type / 👍 / 👎), packed to at most 64 bytes; an id
too long for that gets no buttons rather than a broken keyboard.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Final

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.distribution.user_queue import Outgoing
from core.models import Opportunity, OpportunityType, Priority, Tier, UserProfile
from messaging.ui.callbacks import OpportunityCB
from messaging.ui.templates import zone

log = logging.getLogger(__name__)

MAX_CALLBACK_BYTES: Final = 64
MAX_TEXT: Final = 4000  # Telegram allows 4096 characters after parsing; keep a margin
DETAILED_TIERS: Final = frozenset({Tier.PREMIUM, Tier.ENTERPRISE, Tier.SUPERADMIN})
ACTIONS: Final = ("details", "mute_pair", "mute_type", "up", "down")
_RANK: Final = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}
_PRIORITY_MARK: Final = {Priority.HIGH: "⚡", Priority.MEDIUM: "🔔", Priority.LOW: "💡"}


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    markup: InlineKeyboardMarkup | None


def _e(value: object) -> str:
    return escape(str(value), quote=False)


def detailed(profile: UserProfile) -> bool:
    return profile.tier in DETAILED_TIERS


def local_time(ts: float, tz: str, *, now: float | None = None) -> str:
    """``HH:MM TZ`` in the user's timezone, with the date when it is not the day of `now`."""
    z = zone(tz)
    at = datetime.fromtimestamp(ts, tz=z)
    if now is not None and datetime.fromtimestamp(now, tz=z).date() == at.date():
        return at.strftime("%H:%M %Z")
    return at.strftime("%Y-%m-%d %H:%M %Z")


def rank(opp: Opportunity) -> tuple[int, float, float, str]:
    """Best first: priority, then expected profit, then confidence, then id."""
    return (_RANK[opp.priority], -opp.expected_profit_pct, -opp.confidence, opp.opportunity_id)


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


def card(opp: Opportunity, profile: UserProfile, now: float) -> list[str]:
    """The lines describing one opportunity (without a greeting)."""
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
    if detailed(profile):
        lines += _details(opp)
    return lines


def _hello(profile: UserProfile) -> str:
    return _e(profile.first_name) if profile.first_name else "Trader"


def single(opp: Opportunity, profile: UserProfile, now: float) -> Rendered:
    head = f"{_PRIORITY_MARK[opp.priority]} {_hello(profile)}, a new opportunity"
    text = "\n".join([head, *card(opp, profile, now)])
    return Rendered(text, keyboard([opp]))


def _digest_item(
    i: int, opp: Opportunity, profile: UserProfile, now: float, *, updated: bool
) -> str:
    tz = profile.preferences.timezone
    mark = " · 🔁 updated" if updated else ""
    lines = [
        f"{i}. {_PRIORITY_MARK[opp.priority]} <b>{_e(opp.symbol)}</b> · {opp.type.label}{mark}",
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


def missed_line(missed: int) -> str:
    noun = "opportunity" if missed == 1 else "opportunities"
    return f"🌙 While you were away, {missed} {noun} came and went before your quiet time ended."


def away(missed: int, profile: UserProfile) -> Rendered:
    """The summary of held alerts that expired or closed before the quiet time ended."""
    return Rendered(
        f"{missed_line(missed)}\n{_hello(profile)}, send /opportunities for what is live now; "
        "/settings changes your Do Not Disturb and active hours.",
        None,
    )


def digest(
    opps: Iterable[Opportunity],
    profile: UserProfile,
    now: float,
    *,
    updated: Iterable[str] = (),
    max_items: int = 5,
    missed: int = 0,
) -> Rendered:
    ranked = sorted(opps, key=rank)
    shown = ranked[:max_items]
    upd = frozenset(updated)
    while True:
        items = [
            _digest_item(i, o, profile, now, updated=o.opportunity_id in upd)
            for i, o in enumerate(shown, 1)
        ]
        more = len(ranked) - len(shown)
        head = f"📬 {_hello(profile)}, {len(shown)} opportunities, best first"
        if missed:
            head += f"\n<i>{missed_line(missed)}</i>"
        tail = [f"<i>…and {more} more: see /opportunities</i>"] if more else []
        text = "\n\n".join([head, *items, *tail])
        if len(text) <= MAX_TEXT or len(shown) <= 1:
            return Rendered(text, keyboard(shown, numbered=True))
        shown = shown[:-1]


def closed(opp: Opportunity, profile: UserProfile, now: float) -> Rendered:
    """The edit for a message whose opportunity closed: struck through, no buttons."""
    tz = profile.preferences.timezone
    head = f"🔒 <b>Closed</b> at {local_time(now, tz, now=now)}: this opportunity is no longer live"
    body = "\n".join(card(opp, profile, now))
    return Rendered(f"{head}\n<s>{body}</s>", None)


def closed_unknown(profile: UserProfile, now: float) -> Rendered:
    """The closed edit when the opportunity itself is no longer stored."""
    tz = profile.preferences.timezone
    return Rendered(f"🔒 <b>Closed</b> at {local_time(now, tz, now=now)}.", None)


def render(
    outgoing: Outgoing,
    opportunities: Mapping[str, Opportunity],
    profile: UserProfile,
    now: float,
    *,
    max_items: int = 5,
) -> Rendered | None:
    """The message for `outgoing`; None when none of its opportunities is known any more."""
    found = [opportunities[i] for i in outgoing.opportunity_ids if i in opportunities]
    if outgoing.kind == "edit_closed":
        return closed(found[0], profile, now) if found else closed_unknown(profile, now)
    if outgoing.kind == "away":
        return away(outgoing.missed, profile)
    if not found:
        return None
    if outgoing.kind == "single" and len(found) == 1:
        return single(found[0], profile, now)
    return digest(
        found,
        profile,
        now,
        updated=outgoing.updated_ids,
        max_items=max_items,
        missed=outgoing.missed,
    )


# -- buttons ------------------------------------------------------------------------------------


def callback(action: str, opportunity_id: str) -> str:
    """Packed `OpportunityCB`; ValueError if it would exceed Telegram's 64 bytes."""
    data = OpportunityCB(action=action, opportunity_id=opportunity_id).pack()
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data of {len(data.encode())} bytes: {data!r}")
    return data


def buttons(opp: Opportunity, *, number: int | None = None) -> list[InlineKeyboardButton]:
    """One row: Details / Mute pair / Mute type / 👍 / 👎 (numbered in a digest)."""
    oid = opp.opportunity_id
    labels = (
        f"ℹ️ {number}" if number is not None else "ℹ️ Details",
        "🔕 Pair" if number is not None else f"🔕 Mute {opp.symbol}",
        "🔕 Type" if number is not None else f"🔕 Mute {opp.type.label}",
        "👍",
        "👎",
    )
    return [
        InlineKeyboardButton(text=label, callback_data=callback(action, oid))
        for label, action in zip(labels, ACTIONS, strict=True)
    ]


def keyboard(opps: Sequence[Opportunity], *, numbered: bool = False) -> InlineKeyboardMarkup | None:
    rows: list[list[InlineKeyboardButton]] = []
    for i, opp in enumerate(opps, 1):
        try:
            rows.append(buttons(opp, number=i if numbered else None))
        except ValueError:
            log.error("opportunity id %r is too long for buttons", opp.opportunity_id)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
