"""The buttons on opportunity messages: Mute pair, Mute type, 👍 and 👎.

A press acts at once (a mute changes the preference, and the push shards hear of it through the
users-changed channel) and is an engagement event. A press on an opportunity the user's plan
does not include is refused and audited, as Details is (`entitled_opportunity`): a mute's answer
names the pair, which would reveal it.
"""

from __future__ import annotations

from html import escape
from typing import Final

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.filters import Magic
from bot.handlers.opportunities import entitled_opportunity
from core.events import EventName
from core.models import UserSession
from core.personalisation.explain import Explanation, Part, explain_for
from core.personalisation.store import RelevanceStore
from core.services import Services
from messaging.i18n import N_, _
from messaging.ui.callbacks import OpportunityCB
from messaging.ui.labels import type_label

router: Final = Router(name=__name__)

ACTIONS: Final = ("mute_pair", "mute_type", "up", "down")
# Votes are recorded as engagement events. When the relevance model learns from the stream and
# orders digests (`personalisation.run_learner` and `ranking_enabled`), a vote moves alerts
# like this one up or down in the user's digests, and the answer says so; otherwise it says the
# vote changes nothing yet. Neither promises more: a vote never adds or removes an alert.
VOTE_RECORDED: Final = N_(
    "Thanks — your vote is recorded for analysis; it doesn't change your alerts yet."
)
VOTE_UP_LEARNED: Final = N_(
    "Thanks — alerts like this will be placed higher in your digests. /why {id} shows why."
)
VOTE_DOWN_LEARNED: Final = N_(
    "Thanks — alerts like this will be placed lower in your digests; they still come. "
    "For fewer like this, mute the pair or the type with 🔕."
)
VOTE_DOWN_SUFFIX: Final = N_("For fewer like this, mute the pair or the type with 🔕.")


def vote_answer(services: Services, vote: str, opportunity_id: str) -> str:
    """What a 👍/👎 does, said as it is (`VOTE_RECORDED` while nothing learns from it)."""
    p = services.settings.personalisation
    if p.run_learner and p.ranking_enabled:
        text = VOTE_UP_LEARNED if vote == "up" else VOTE_DOWN_LEARNED
        return _(text).format(id=opportunity_id)
    if vote == "up":
        return _(VOTE_RECORDED)
    return f"{_(VOTE_RECORDED)} {_(VOTE_DOWN_SUFFIX)}"


def _engaged(
    services: Services,
    session: UserSession,
    name: str,
    action: str,
    opportunity_id: str,
    **attrs: str,
) -> None:
    services.emit(
        name,
        attrs,
        user_id=session.user_id,
        session_id=session.session_id,
        opportunity_id=opportunity_id,
        button=action,
    )


@router.callback_query(OpportunityCB.filter(F.action.in_(ACTIONS)))
async def pressed(
    query: CallbackQuery, callback_data: OpportunityCB, services: Services, session: UserSession
) -> None:
    action, oid = callback_data.action, callback_data.opportunity_id
    found = await entitled_opportunity(query, services, session, oid)
    if found is None:
        return
    opp, _entitled = found  # not `_`: that is gettext here
    if action in ("up", "down"):
        _engaged(services, session, EventName.FEEDBACK, "feedback", oid, vote=action)
        await query.answer(vote_answer(services, action, oid))
        return
    if opp is None:
        await query.answer(
            _("This opportunity is no longer known; mute from /settings."), show_alert=True
        )
        return
    if action == "mute_pair":
        await services.profiles.change_member(session.user_id, "muted_pairs", opp.symbol, "add")
        _engaged(services, session, EventName.MUTE_PAIR, action, oid, pair=opp.symbol)
        await query.answer(
            _("Muted {pair}. Unmute it in /settings.").format(pair=escape(opp.symbol)),
            show_alert=True,
        )
        return
    # The same rule as /settings: the last type, or the last one the plan includes, stays.
    profile = await services.profiles.get(session.user_id)
    plan = services.settings.tier_limits(profile.tier).opportunity_types
    types = await services.profiles.change_member(
        session.user_id,
        "opportunity_types",
        opp.type.value,
        "remove",
        keep_one=True,
        keep_one_of=[t.value for t in plan],
    )
    if opp.type.value in types:  # kept; say how to stop pushes instead
        await query.answer(
            _(
                "That is the last opportunity type your plan includes; turn pushes off in "
                "/settings."
            ),
            show_alert=True,
        )
        return
    _engaged(services, session, EventName.MUTE_TYPE, action, oid, type=opp.type.value)
    await query.answer(
        _("No more {type} opportunities. Undo in /settings.").format(type=type_label(opp.type)),
        show_alert=True,
    )


def _parts(parts: list[Part]) -> str:
    return ", ".join(f"{escape(p.feature)} ({p.learned + p.prior:+.2f})" for p in parts)


def ranked_text(oid: str, e: Explanation, services: Services) -> str:
    """Why an alert ranks where it does in the user's digests, in the model's own terms."""
    p = services.settings.personalisation
    lines = [
        _("<b>Why {id} ranks where it does for you</b>").format(id=escape(oid)),
        _(
            "Relevance {pct}%, learned from {n} of your actions (before any, from your plan's "
            "users and your watchlist and exchanges)."
        ).format(pct=round(e.relevance * 100), n=e.signals),
    ]
    if e.raised():
        lines.append(_("⬆️ Raised by: {parts}").format(parts=_parts(e.raised())))
    if e.lowered():
        lines.append(_("⬇️ Lowered by: {parts}").format(parts=_parts(e.lowered())))
    if p.ranking_enabled:
        lines.append(
            _(
                "A digest lists its alerts most relevant first. Which alerts you get, and "
                "how many, is decided before that by your plan, settings and limits."
            )
        )
    else:
        lines.append(_("Digests are not ordered by relevance now: priority, then expected profit."))
    if p.low_threshold > 0:
        lines.append(
            _("Low-priority alerts below {pct}% relevance are not pushed to you.").format(
                pct=round(p.low_threshold * 100)
            )
        )
    lines.append(_("👍/👎 teach it; /settings resets it."))
    return "\n".join(lines)


@router.message(Command("why", ignore_case=True), Magic(F.text.regexp(r"^\S+\s+\S+\s*$")))
async def why_ranked(
    message: Message, command: CommandObject, services: Services, session: UserSession
) -> None:
    """/why <opportunity id>, for anyone: the user's own relevance for it, and what moved it.
    (/why <user> <opportunity> is the SuperAdmin's eligibility check.)"""
    oid = (command.args or "").strip()
    opp = await services.opportunities.get(oid)
    profile = await services.profiles.get(session.user_id)
    if opp is None:
        await message.answer(
            _("No opportunity {id} is known (closed over an hour ago?).").format(id=escape(oid))
        )
        return
    if opp.type not in services.settings.tier_limits(profile.tier).opportunity_types:
        await message.answer(_("Your plan does not include that opportunity."))
        return
    store = RelevanceStore(services.redis, services.settings.personalisation)
    e = await explain_for(store, profile, opp, services.clock.now())
    await message.answer(ranked_text(oid, e, services))
