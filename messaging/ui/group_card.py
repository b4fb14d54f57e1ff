"""Alerts as a group or a channel sees them: the opportunity, never anyone's personal data.

A private push greets the user by name and sizes the position for their risk tolerance; a
group has many readers, so its card has no name and no size (`public_view` drops the engine's
position sizes, so `messaging.ui.card` has nothing personal to show), and is written in the
group's language and time zone. Its one button, Details (`GroupCardCB`), acts for whoever
presses it (`bot/handlers/group_buttons.py`): the details in their private chat, or a pointer
to /start. A channel's post adds a "get them live" link to the bot (`channel_post`).
"""

from __future__ import annotations

__all__ = ["GroupCardCB", "channel_post", "keyboard", "public_view", "render"]

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.distribution.user_queue import Outgoing
from core.models import Opportunity, UserProfile
from messaging.i18n import _, ngettext, use_locale
from messaging.ui.callbacks import GroupCardCB
from messaging.ui.card import PRIORITY_MARK, card, digest_item, local_time
from messaging.ui.labels import type_label
from messaging.ui.push_templates import MAX_CALLBACK_BYTES, MAX_TEXT, Rendered

_SIZES: Final = (
    "position_usd_low",
    "position_usd_medium",
    "position_usd_high",
    "recommended_position_usd",
)


def public_view(opp: Opportunity) -> Opportunity:
    """The opportunity without the sizes one trader's risk would pick from."""
    return opp.model_copy(update=dict.fromkeys(_SIZES, 0.0))


def _details_button(opp: Opportunity, label: str) -> InlineKeyboardButton | None:
    data = GroupCardCB(action="details", opportunity_id=opp.opportunity_id).pack()
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        return None  # an id too long for a button: no button rather than a broken keyboard
    return InlineKeyboardButton(text=label, callback_data=data)


def keyboard(
    opps: Sequence[Opportunity], *, numbered: bool = False, live_url: str | None = None
) -> InlineKeyboardMarkup | None:
    row = [
        b
        for i, o in enumerate(opps, 1)
        if (b := _details_button(o, f"ℹ️ {i}" if numbered else _("ℹ️ Details"))) is not None
    ]
    rows = [row] if row else []
    if live_url:
        rows.append([InlineKeyboardButton(text=_("⚡ Get them live"), url=live_url)])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def single(opp: Opportunity, group: UserProfile, now: float) -> Rendered:
    with use_locale(group.language):
        head = _("{mark} A new opportunity").format(mark=PRIORITY_MARK[opp.priority])
        body = card(public_view(opp), group, now)
        return Rendered("\n".join([head, *body]), keyboard([opp]))


def digest(
    opps: Iterable[Opportunity],
    group: UserProfile,
    now: float,
    *,
    updated: Iterable[str] = (),
    max_items: int = 5,
) -> Rendered:
    with use_locale(group.language):
        ranked = sorted(opps, key=lambda o: o.rank)
        shown = ranked[:max_items]
        upd = frozenset(updated)
        while True:
            items = [
                digest_item(i, public_view(o), group, now, updated=o.opportunity_id in upd)
                for i, o in enumerate(shown, 1)
            ]
            head = ngettext(
                "📬 {n} opportunity, best first", "📬 {n} opportunities, best first", len(shown)
            ).format(n=len(shown))
            text = "\n\n".join([head, *items])
            if len(text) <= MAX_TEXT or len(shown) <= 1:
                return Rendered(text, keyboard(shown, numbered=True))
            shown = shown[:-1]


def closed(opp: Opportunity | None, group: UserProfile, now: float) -> Rendered:
    tz = group.preferences.timezone
    with use_locale(group.language):
        head = _("🔒 <b>Closed</b> at {at}: this opportunity is no longer live").format(
            at=local_time(now, tz, now=now)
        )
        if opp is None:
            return Rendered(head, None)
        body = "\n".join(card(public_view(opp), group, now))
        return Rendered(f"{head}\n<s>{body}</s>", None)


def away(missed: int, group: UserProfile) -> Rendered:
    with use_locale(group.language):
        return Rendered(
            ngettext(
                "🌙 During the group's quiet hours {n} opportunity came and went.",
                "🌙 During the group's quiet hours {n} opportunities came and went.",
                missed,
            ).format(n=missed),
            None,
        )


def render(
    outgoing: Outgoing,
    opportunities: Mapping[str, Opportunity],
    group: UserProfile,
    now: float,
    *,
    max_items: int = 5,
) -> Rendered | None:
    """A group queue's message (`group`: the group as a recipient, see
    `core.distribution.group_recipients`); None when its opportunities are all gone."""
    found = [opportunities[i] for i in outgoing.opportunity_ids if i in opportunities]
    if outgoing.kind == "edit_closed":
        return closed(found[0] if found else None, group, now)
    if outgoing.kind == "away":
        return away(outgoing.missed, group)
    if not found:
        return None
    if outgoing.kind == "single" and len(found) == 1:
        return single(found[0], group, now)
    return digest(found, group, now, updated=outgoing.updated_ids, max_items=max_items)


def channel_post(opp: Opportunity, channel: UserProfile, now: float, live_url: str) -> Rendered:
    """A linked channel's post: the public card, Details, and the link to get alerts live."""
    with use_locale(channel.language):
        head = _("{mark} {type} opportunity (posted with a delay; live alerts in the bot)").format(
            mark=PRIORITY_MARK[opp.priority], type=type_label(opp.type)
        )
        body = card(public_view(opp), channel, now)
        return Rendered("\n".join([head, *body]), keyboard([opp], live_url=live_url))
