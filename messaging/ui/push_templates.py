"""Push messages: an `Outgoing` of a user's queue rendered to Telegram HTML and its buttons.

Pure functions of domain objects. Every value is escaped. An opportunity reads as the one card
of `messaging.ui.card` (its type, the user's timezone and risk, the tier's detail), the same as
in /opportunities and Details.

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
from html import escape
from typing import Final

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.distribution.user_queue import Outgoing
from core.models import Opportunity, UserProfile
from messaging.i18n import _, ngettext, use_locale
from messaging.ui.callbacks import OpportunityCB
from messaging.ui.card import PRIORITY_MARK, card, digest_item, local_time
from messaging.ui.labels import type_label

log = logging.getLogger(__name__)

MAX_CALLBACK_BYTES: Final = 64
MAX_TEXT: Final = 4000  # Telegram allows 4096 characters after parsing; keep a margin
ACTIONS: Final = ("details", "mute_pair", "mute_type", "up", "down")


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    markup: InlineKeyboardMarkup | None


def _e(value: object) -> str:
    return escape(str(value), quote=False)


def _hello(profile: UserProfile) -> str:
    return _e(profile.first_name) if profile.first_name else _("Trader")


def single(opp: Opportunity, profile: UserProfile, now: float) -> Rendered:
    with use_locale(profile.language):
        head = _("{mark} {name}, a new opportunity").format(
            mark=PRIORITY_MARK[opp.priority], name=_hello(profile)
        )
        text = "\n".join([head, *card(opp, profile, now)])
        return Rendered(text, keyboard([opp]))


def missed_line(missed: int) -> str:
    return ngettext(
        "🌙 While you were away, {n} opportunity came and went before your quiet time ended.",
        "🌙 While you were away, {n} opportunities came and went before your quiet time ended.",
        missed,
    ).format(n=missed)


def away(missed: int, profile: UserProfile) -> Rendered:
    """The summary of held alerts that expired or closed before the quiet time ended."""
    with use_locale(profile.language):
        return Rendered(
            missed_line(missed)
            + "\n"
            + _(
                "{name}, send /opportunities for what is live now; "
                "/settings changes your Do Not Disturb and active hours."
            ).format(name=_hello(profile)),
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
    with use_locale(profile.language):
        return _digest(opps, profile, now, updated=updated, max_items=max_items, missed=missed)


def _digest(
    opps: Iterable[Opportunity],
    profile: UserProfile,
    now: float,
    *,
    updated: Iterable[str],
    max_items: int,
    missed: int,
) -> Rendered:
    ranked = sorted(opps, key=lambda o: o.rank)
    shown = ranked[:max_items]
    upd = frozenset(updated)
    while True:
        items = [
            digest_item(i, o, profile, now, updated=o.opportunity_id in upd)
            for i, o in enumerate(shown, 1)
        ]
        more = len(ranked) - len(shown)
        head = ngettext(
            "📬 {name}, {n} opportunity, best first",
            "📬 {name}, {n} opportunities, best first",
            len(shown),
        ).format(name=_hello(profile), n=len(shown))
        if missed:
            head += f"\n<i>{missed_line(missed)}</i>"
        tail = (
            ["<i>" + _("…and {n} more: see /opportunities").format(n=more) + "</i>"] if more else []
        )
        text = "\n\n".join([head, *items, *tail])
        if len(text) <= MAX_TEXT or len(shown) <= 1:
            return Rendered(text, keyboard(shown, numbered=True))
        shown = shown[:-1]


def closed(opp: Opportunity, profile: UserProfile, now: float) -> Rendered:
    """The edit for a message whose opportunity closed: struck through, no buttons."""
    tz = profile.preferences.timezone
    with use_locale(profile.language):
        head = _("🔒 <b>Closed</b> at {at}: this opportunity is no longer live").format(
            at=local_time(now, tz, now=now)
        )
        body = "\n".join(card(opp, profile, now))
        return Rendered(f"{head}\n<s>{body}</s>", None)


def closed_unknown(profile: UserProfile, now: float) -> Rendered:
    """The closed edit when the opportunity itself is no longer stored."""
    tz = profile.preferences.timezone
    with use_locale(profile.language):
        text = _("🔒 <b>Closed</b> at {at}.").format(at=local_time(now, tz, now=now))
        return Rendered(text, None)


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
        f"ℹ️ {number}" if number is not None else _("ℹ️ Details"),
        _("🔕 Pair") if number is not None else _("🔕 Mute {pair}").format(pair=opp.symbol),
        _("🔕 Type")
        if number is not None
        else _("🔕 Mute {type}").format(type=type_label(opp.type)),
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
